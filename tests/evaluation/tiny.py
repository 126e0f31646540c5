"""Tiny metric networks with seeded random weights: the real ones cannot be downloaded here."""

from __future__ import annotations

import torch
from torch import nn

from tryon.evaluation.backbones import LPIPS


class TinyFeatures:
    """A FeatureNet: (N, 3, 32, 32) in [0, 255] -> (N, 8), a seeded random conv net."""

    resolution = 32
    name = "tiny seeded test network"

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        ).eval()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images / 255)


class TinyInceptionLayers(nn.Module):
    """Stands in for the TorchScript Inception's ``layers``: (N, 3, 299, 299) -> (N, 2048, 1, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2048, 8, stride=8)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class TinyInception(nn.Module):
    """A scriptable module with a ``layers`` attribute, as clean-fid's file has."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = TinyInceptionLayers()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def tiny_lpips(seed: int = 0) -> LPIPS:
    """LPIPS on a two-layer trunk with seeded random weights."""
    torch.manual_seed(seed)
    features = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU())
    model = LPIPS("tiny", features=features, ends=(2, 4), channels=(4, 6))
    for lin in model.lins:
        nn.init.uniform_(lin.model[1].weight, 0.0, 1.0)  # LPIPS weights are non-negative
    return model.eval()
