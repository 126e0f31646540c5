"""Images to model tensors and back, and the working sizes the diffusion model sees.

The package's images are (H, W, 3) RGB uint8 and masks (H, W) bool; the models take
(B, 3, H, W) float tensors in [-1, 1] (images) and (B, 1, H, W) in {0, 1} (masks), with H
and W multiples of 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from tryon.types import Image, Mask

MULTIPLE = 8
"""The VAE downsamples by 8: model inputs have sides that are multiples of 8."""


def image_to_tensor(images: list[Image]) -> torch.Tensor:
    """(H, W, 3) uint8 RGB images of one size -> (B, 3, H, W) float32 in [-1, 1]."""
    stack = np.stack(images).astype(np.float32)
    return torch.from_numpy(stack).permute(0, 3, 1, 2) / 127.5 - 1.0


def mask_to_tensor(masks: list[Mask]) -> torch.Tensor:
    """(H, W) bool masks of one size -> (B, 1, H, W) float32 in {0, 1}."""
    return torch.from_numpy(np.stack(masks).astype(np.float32))[:, None]


def tensor_to_images(images: torch.Tensor) -> list[Image]:
    """(B, 3, H, W) float in [0, 1] -> (H, W, 3) uint8 RGB images (rounded)."""
    arr = images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    return list((arr * 255).round().astype(np.uint8))


@dataclass(frozen=True)
class WorkingSize:
    """How a photo is scaled and padded for the model, so the result maps back exactly.

    Attributes:
        scaled: (height, width) of the photo after scaling.
        padded: (height, width) after padding bottom and right to multiples of 8.
    """

    scaled: tuple[int, int]
    padded: tuple[int, int]


def working_size(shape: tuple[int, int], area: int | None) -> WorkingSize:
    """The size a (height, width) photo is processed at.

    Args:
        shape: (height, width) of the photo.
        area: pixels to scale the photo to (keeping its aspect); None keeps its size.
    """
    h, w = shape
    scale = 1.0 if area is None else math.sqrt(area / (h * w))
    sh, sw = max(MULTIPLE, round(h * scale)), max(MULTIPLE, round(w * scale))
    return WorkingSize((sh, sw), (_round_up(sh), _round_up(sw)))


def to_working(image: Image, size: WorkingSize) -> Image:
    """Scales (Lanczos, area when shrinking a lot) and edge-pads an image to ``size.padded``."""
    scaled = _resize(image, size.scaled)
    ph, pw = size.padded[0] - size.scaled[0], size.padded[1] - size.scaled[1]
    return np.pad(scaled, ((0, ph), (0, pw), (0, 0)), mode="edge")


def mask_to_working(mask: Mask, size: WorkingSize) -> Mask:
    """Scales a mask (nearest) and pads it with False to ``size.padded``."""
    sh, sw = size.scaled
    scaled = cv2.resize(mask.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    ph, pw = size.padded[0] - sh, size.padded[1] - sw
    return np.pad(scaled, ((0, ph), (0, pw)), mode="constant")


def from_working(image: Image, size: WorkingSize, shape: tuple[int, int]) -> Image:
    """Crops the padding off a model output and scales it back to (height, width) ``shape``."""
    sh, sw = size.scaled
    return _resize(np.ascontiguousarray(image[:sh, :sw]), shape)


def garment_canvas(garment: Image, shape: tuple[int, int]) -> Image:
    """The garment photo scaled to fit (height, width) ``shape``, centred on white.

    As CatVTON prepares its condition image (resize keeping aspect, pad with white).
    """
    h, w = shape
    gh, gw = garment.shape[:2]
    if gw / gh < w / h:
        nh, nw = h, max(1, gw * h // gh)
    else:
        nh, nw = max(1, gh * w // gw), w
    canvas = np.full((h, w, 3), 255, np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    canvas[y : y + nh, x : x + nw] = _resize(garment, (nh, nw))
    return canvas


def _resize(image: Image, shape: tuple[int, int]) -> Image:
    h, w = shape
    if image.shape[:2] == (h, w):
        return image.copy()
    shrink = image.shape[0] / h
    method = cv2.INTER_AREA if shrink > 2 else cv2.INTER_LANCZOS4
    return np.asarray(cv2.resize(image, (w, h), interpolation=method), np.uint8)


def _round_up(n: int) -> int:
    return -(-n // MULTIPLE) * MULTIPLE


def image_hw(image: Image | Mask) -> tuple[int, int]:
    """(height, width) of an image or mask."""
    return int(image.shape[0]), int(image.shape[1])
