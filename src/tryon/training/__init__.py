"""Training: CatVTON's recipe on a shop's own photos (training.md).

``train(TrainInputs(dataset, weights, out), TrainConfig(...))`` (``tryon train``) trains the
UNet's self-attention (or more) from the SD-1.5 inpainting base or a CatVTON version on a
dataset's paired pairs, and writes ``out/<name>/attention/model.safetensors`` in CatVTON's
format. Importing this package loads neither torch nor accelerate; ``train`` does.
"""

from tryon.training.config import BASE_START, TrainConfig, TrainingError

__all__ = ["BASE_START", "TrainConfig", "TrainingError"]
