"""The diffusion stage: CatVTON-compatible latent diffusion on diffusers' classes.

Modules (import them directly; this package imports nothing heavy by itself):

* ``weights``: where the weights come from, the directory layout, file checks (no torch);
* ``attention``: CatVTON's attention processors and strict attention-weight loading;
* ``models``: the UNet, VAE and scheduler, loaded from a weights directory or built
  from configs with seeded random weights;
* ``sampling``: sampler presets (``compat``, ``fast``, ``draft``);
* ``pipeline``: the sampling loop (try-on and refinement);
* ``images``: images to tensors and working sizes;
* ``refine``: the refine mask of the hybrid engine.

CatVTON's weights and code are CC BY-NC-SA 4.0: non-commercial use only.
"""
