"""Metric networks in plain torch: LPIPS (SqueezeNet / AlexNet / VGG-16) and FID's Inception.

The LPIPS trunks reproduce torchvision's ``features`` modules layer for layer, so that
torchvision's published state dicts (``features.<index>.<name>``) load into them with
strict key checks; the linear heads load the lpips package's ``lin<k>.model.1.weight``
files. How LPIPS combines them (input scaling, unit-normalised features, squared
differences, 1x1 linear heads, spatial mean, sum over layers) follows Zhang et al. 2018
and the lpips package 0.1.4.

FID and KID use clean-fid's network: the TorchScript Inception-v3 it loads from
``inception-2015-12-05.pt``; ``torch.jit.load`` reads it without torchvision.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from tryon.evaluation.weights import (
    BACKBONES,
    INCEPTION,
    LPIPS_LINEAR,
    MissingWeightsError,
    WeightsRecord,
    require,
)

LPIPS_NETS = ("squeeze", "alex", "vgg")

# LPIPS v0.1's input scaling: (x - shift) / scale, x in [-1, 1].
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)


class FeatureNet(Protocol):
    """FID/KID features: (N, 3, S, S) float32 in [0, 255] -> (N, D) float32."""

    resolution: int
    name: str

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


class Fire(nn.Module):
    """SqueezeNet's fire module: a 1x1 squeeze, then 1x1 and 3x3 expands, concatenated."""

    def __init__(self, inputs: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inputs, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)


def squeezenet1_1_features() -> nn.Sequential:
    """torchvision's ``squeezenet1_1().features`` (13 modules)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, stride=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(64, 16, 64, 64),
        Fire(128, 16, 64, 64),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(128, 32, 128, 128),
        Fire(256, 32, 128, 128),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(256, 48, 192, 192),
        Fire(384, 48, 192, 192),
        Fire(384, 64, 256, 256),
        Fire(512, 64, 256, 256),
    )


def alexnet_features() -> nn.Sequential:
    """torchvision's ``alexnet().features`` (13 modules)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
    )


def vgg16_features() -> nn.Sequential:
    """torchvision's ``vgg16().features`` (31 modules: configuration D, no batch norm)."""
    layers: list[nn.Module] = []
    channels = 3
    for width in (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0):
        if width == 0:
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
    return nn.Sequential(*layers)


# Per trunk: the builder, where each LPIPS layer ends (indices into ``features``, as the
# lpips package slices them) and the channels of those layers.
TRUNKS: dict[str, tuple[Callable[[], nn.Sequential], tuple[int, ...], tuple[int, ...]]] = {
    "squeeze": (
        squeezenet1_1_features,
        (2, 5, 8, 10, 11, 12, 13),
        (64, 128, 256, 384, 384, 512, 512),
    ),
    "alex": (alexnet_features, (2, 5, 8, 10, 12), (64, 192, 384, 256, 256)),
    "vgg": (vgg16_features, (4, 9, 16, 23, 30), (64, 128, 256, 512, 512)),
}


class LinearHead(nn.Module):
    """A 1x1 convolution to one channel; ``model.1`` as in the lpips package's state dict."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LPIPS(nn.Module):
    """Learned Perceptual Image Patch Similarity (v0.1).

    Args:
        net: "squeeze", "alex" or "vgg".
        features: the trunk (default: the net's torchvision ``features``, random weights).
        ends: indices into ``features`` after which a compared layer ends.
        channels: the channels of those layers.
    """

    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        net: str = "squeeze",
        features: nn.Sequential | None = None,
        ends: Sequence[int] | None = None,
        channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if net not in TRUNKS and features is None:
            raise ValueError(f"unknown LPIPS net {net!r}: use one of {', '.join(LPIPS_NETS)}")
        build, default_ends, default_channels = TRUNKS.get(net, TRUNKS["squeeze"])
        self.net_name = net
        self.features = features if features is not None else build()
        self.ends = tuple(ends if ends is not None else default_ends)
        widths = tuple(channels if channels is not None else default_channels)
        self.lins = nn.ModuleList(LinearHead(c) for c in widths)
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1))
        self.eval()

    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The trunk's outputs at ``ends``."""
        outputs = []
        start = 0
        for end in self.ends:
            for index in range(start, end):
                x = self.features[index](x)
            outputs.append(x)
            start = end
        return outputs

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """LPIPS distance per image.

        Args:
            a, b: (N, 3, H, W) float32 RGB in [0, 1].

        Returns:
            (N,) float32; 0 for identical images.
        """
        a = (2 * a - 1 - self.shift) / self.scale
        b = (2 * b - 1 - self.shift) / self.scale
        total = torch.zeros(a.shape[0], device=a.device)
        for lin, fa, fb in zip(self.lins, self.layers(a), self.layers(b), strict=True):
            na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((na - nb) ** 2).mean((1, 2, 3))
        return total


def load_state_dict_strict(
    module: nn.Module, state: dict[str, torch.Tensor], source: Path, ignored: tuple[str, ...] = ()
) -> None:
    """Loads ``state`` into ``module``: every key must match, in name and shape.

    Args:
        ignored: key prefixes of the file that the module does not use (a classifier).

    Raises:
        MissingWeightsError: keys missing, unexpected or of another shape.
    """
    used = {k: v for k, v in state.items() if not k.startswith(ignored)}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(used))
    unexpected = sorted(set(used) - set(expected))
    shapes = [k for k in set(expected) & set(used) if expected[k].shape != used[k].shape]
    if missing or unexpected or shapes:
        raise MissingWeightsError(
            f"{source} does not fit {type(module).__name__}: missing keys {missing[:4]}, "
            f"unexpected keys {unexpected[:4]}, other shapes {sorted(shapes)[:4]}"
        )
    module.load_state_dict(used, strict=True)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise MissingWeightsError(f"{path} is not a readable PyTorch state dict ({exc})") from None
    if not isinstance(state, dict):
        raise MissingWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def load_lpips(
    net: str,
    cache: Path,
    trunk_record: WeightsRecord | None = None,
    linear_record: WeightsRecord | None = None,
) -> LPIPS:
    """LPIPS with the published trunk and linear weights from ``cache``.

    Args:
        net: "squeeze", "alex" or "vgg".
        cache: the weights folder.
        trunk_record, linear_record: the files to read (default: the published ones,
            ``BACKBONES[net]`` and ``LPIPS_LINEAR[net]``, hashes checked).

    Raises:
        MissingWeightsError: a file is missing or does not fit (the message says which).
    """
    if net not in LPIPS_NETS:
        raise ValueError(f"unknown LPIPS net {net!r}: use one of {', '.join(LPIPS_NETS)}")
    trunk_path = require(cache, trunk_record or BACKBONES[net])
    linear_path = require(cache, linear_record or LPIPS_LINEAR[net])
    model = LPIPS(net)
    trunk = read_state_dict(trunk_path)
    features = {
        k.removeprefix("features."): v for k, v in trunk.items() if k.startswith("features.")
    }
    load_state_dict_strict(model.features, features, trunk_path)
    # The file's "lin<k>.model.1.weight" is "<k>.model.1.weight" of the ModuleList.
    linear = {k.removeprefix("lin"): v for k, v in read_state_dict(linear_path).items()}
    load_state_dict_strict(model.lins, linear, linear_path)
    return model.eval()


class CleanInception:
    """clean-fid's feature network: 2048-d Inception-v3 pool features of 299 x 299 images.

    Args:
        module: the TorchScript module of ``inception-2015-12-05.pt``.
    """

    resolution = 299
    name = "clean-fid Inception-v3 (inception-2015-12-05.pt), pool3 2048-d"

    def __init__(self, module: torch.jit.ScriptModule) -> None:
        self.module = module

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, 299, 299) float32 in [0, 255] -> (N, 2048) float32."""
        if images.shape[-2:] != (self.resolution, self.resolution):
            raise ValueError(f"Inception features need 299 x 299 inputs, got {tuple(images.shape)}")
        # clean-fid's normalisation before the network's own layers: (x - 128) / 128.
        return self.module.layers.forward((images - 128) / 128).view(images.shape[0], 2048)


def load_inception(
    cache: Path, record: WeightsRecord = INCEPTION, device: str = "cpu"
) -> CleanInception:
    """clean-fid's Inception from ``cache`` (``record``: the file, default the published one).

    Raises:
        MissingWeightsError: the file is missing or is not that TorchScript module.
    """
    path = require(cache, record)
    try:
        with warnings.catch_warnings():
            # clean-fid's network exists only as TorchScript, which torch now calls deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device).eval()
        module.layers  # noqa: B018  (the attribute clean-fid calls)
    except Exception as exc:
        raise MissingWeightsError(
            f"{path} is not clean-fid's TorchScript Inception ({exc}); {record.how}"
        ) from None
    return CleanInception(module)
