"""The FASHN VTON v1.5 stage: a pixel-space MMDiT try-on model (Apache-2.0 weights).

Modules (import them directly; this package imports nothing heavy by itself):

* ``blocks``: the bespoke parts (pixel patches, time features, CFG drop) and the hooks
  that make diffusers' Flux blocks compute what the reference computes;
* ``model``: ``FashnModelConfig`` and ``FashnTransformer``;
* ``weights``: the weights record, the reference checkpoint's key layout, strict
  loading and saving;
* ``sampler``: the Euler / CFG sampler, its presets and the uint8 conversion.

Reference: fashn-AI/fashn-vton-1.5 (Apache-2.0). The same weights, inputs and seed give
the reference's output on the CPU (``benchmarks/parity_fashn.py``).
"""
