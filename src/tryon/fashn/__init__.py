"""The fashn engine's model, sampler and inputs (FASHN VTON v1.5 reproduced)."""
