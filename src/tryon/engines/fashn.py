"""The ``fashn`` engine: FASHN VTON v1.5, a pixel-space MMDiT try-on model (Apache-2.0).

The person side (body analysis, category check, agnostic mask) is the one every engine
shares (``tryon.engines.person``). The model sees the person photo unchanged
(segmentation-free), the person's pose raster, the garment photo and its pose raster;
its output is scaled back to the photo and repainted into it through the agnostic mask,
so every pixel outside the mask is the photo's.

Weights directory layout (``DIR``: ``--weights``, else ``$TRYON_WEIGHTS`` or
``~/.cache/tryon/weights``), fetched by ``tryon weights fetch --engine fashn``:

* ``DIR/fashn-vton-1.5/model.safetensors``: the try-on transformer
  (``fashn-ai/fashn-vton-1.5``; required);
* ``DIR/dwpose/yolox_l.onnx`` and ``DIR/dwpose/dw-ll_ucoco_384.onnx``: DWPose
  (``fashn-ai/DWPose``). Without them the pose comes from the project's MediaPipe
  keypoints (body only) and each result warns that the pose input is approximate.

Garments: a product photo goes in unchanged with a blank pose; a worn one (the garment
analysis' ``source`` "worn") is grey 127 outside the garment mask the garment analysis
cut, with the pose of the person wearing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tryon.body.dwpose import DWPOSE_WEIGHTS, DWPose
from tryon.body.wholebody import wholebody_from_analysis
from tryon.closing import Closeable
from tryon.diffusion.weights import default_weights_dir
from tryon.engines.catvton import repaint
from tryon.engines.person import AnalysingEngine, Analyzers, MaskedPerson, other_people_warnings
from tryon.errors import TryOnError
from tryon.fashn.model import FashnModelConfig, FashnTransformer
from tryon.fashn.preprocess import CATEGORY_IDS, Prepared, pre_resize, prepare, restore
from tryon.fashn.raster import draw_pose_raster
from tryon.fashn.sampler import PRESETS, FashnInputs, FashnSampling, sample, to_uint8_images
from tryon.fashn.weights import FASHN_FETCH_COMMAND, FASHN_WEIGHTS, load_fashn_transformer
from tryon.types import (
    Category,
    DiffusionDetails,
    GarmentAnalysis,
    Image,
    TryOnResult,
    WholeBodyPose,
)

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}
"""The model dtypes ``FashnConfig.dtype`` names (besides "auto")."""
MAX_SAMPLES = 4
"""Most samples one try-on draws (``FashnConfig.num_samples``; the reference's range)."""
LICENCE = "Apache-2.0"
"""Licence of the model's and DWPose's weights."""
WORN_GARMENT_GREY = 127
"""What a worn garment photo shows outside the garment (the reference's fill)."""


@dataclass(frozen=True)
class FashnConfig:
    """Settings of the ``fashn`` engine.

    Attributes:
        sampling: a ``PRESETS`` name ("compat": the reference's 30 steps, "fast",
            "quality") or explicit sampling settings.
        model: the transformer's shape (the released model's; a smaller one for tests);
            the model canvas is its height x width.
        device: where the model runs.
        dtype: the model's dtype, which the sampling runs in (inputs, noise, guidance
            and Euler updates): "auto" (the reference's rule: bfloat16 on a CUDA device
            that supports it, ``torch.cuda.is_bf16_supported()``, else float32),
            "float32" or "bfloat16". A model handed to the renderer keeps its own
            dtype ("auto"), or must have the one named.
        num_samples: try-ons drawn per person, 1-4 (the reference's ``num_samples``):
            the inputs repeated N times and sampled in one batch from one noise draw
            of N samples, so the first is the try-on a single sample gives. All of them
            are in the result's ``DiffusionDetails.samples``.
    """

    sampling: FashnSampling | str = "compat"
    model: FashnModelConfig = field(default_factory=FashnModelConfig)
    device: str = "cpu"
    dtype: str = "auto"
    num_samples: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.sampling, str) and self.sampling not in PRESETS:
            raise TryOnError(
                f"unknown FASHN preset {self.sampling!r}: use one of {', '.join(PRESETS)}"
            )
        if self.dtype != "auto" and self.dtype not in DTYPES:
            raise TryOnError(f"unknown FASHN dtype {self.dtype!r}: use auto, {', '.join(DTYPES)}")
        check_num_samples(self.num_samples)

    @property
    def resolved_dtype(self) -> torch.dtype:
        """The model dtype: the one named, or "auto"'s choice for ``device``."""
        if self.dtype != "auto":
            return DTYPES[self.dtype]
        on_cuda = torch.device(self.device).type == "cuda"
        return torch.bfloat16 if on_cuda and torch.cuda.is_bf16_supported() else torch.float32

    @property
    def resolved_sampling(self) -> FashnSampling:
        """The sampling settings the preset name stands for."""
        return PRESETS[self.sampling] if isinstance(self.sampling, str) else self.sampling


@dataclass(frozen=True)
class FashnPair:
    """A person and a garment for the model, with the poses drawn without DWPose.

    Attributes:
        person: (H, W, 3) RGB uint8 photo, upright.
        garment: the garment's analysis (a worn garment's photo is shown grey outside
            its mask).
        category: the category tried on.
        person_pose: the person's MediaPipe body keypoints, drawn when DWPose is not
            loaded.
        garment_pose: the keypoints of the person wearing a worn garment, drawn when
            DWPose is not loaded (None: a blank pose).
    """

    person: Image
    garment: GarmentAnalysis
    category: Category
    person_pose: WholeBodyPose
    garment_pose: WholeBodyPose | None = None


def model_path(weights: Path) -> Path:
    """The transformer's checkpoint under the weights directory ``weights``."""
    return weights / FASHN_WEIGHTS.folder / FASHN_WEIGHTS.files[0]


class FashnRenderer(Closeable):
    """The model side of the engine: the transformer and DWPose, rendering batches.

    It prepares each pair (poses, canvases), samples a batch in one call of the
    sampler and scales each output back to its photo; no body or garment analysis runs
    here (a GPU replica of the service holds one of these and nothing else).

    Args:
        weights: weights directory (layout in the module docstring; None: the default
            one); ignored for the model when ``model`` is given, still searched for
            DWPose then.
        config: engine settings.
        model: an already loaded transformer (tests, services sharing one copy).
        dwpose: a DWPose to use (None: loaded from ``weights`` when its files are there).

    Raises:
        WeightsError: the model file is missing (naming it and the fetch command) or
            does not fit ``config.model``.
        TryOnError: ``model`` is not in the dtype ``config.dtype`` names.
    """

    def __init__(
        self,
        weights: Path | None = None,
        config: FashnConfig | None = None,
        model: FashnTransformer | None = None,
        *,
        dwpose: DWPose | None = None,
    ) -> None:
        self.config = config or FashnConfig()
        if model is None:
            weights = weights if weights is not None else default_weights_dir()
            model = load_fashn_transformer(
                model_path(weights),
                device=self.config.device,
                dtype=self.config.resolved_dtype,
                config=self.config.model,
            )
        else:
            _check_model_dtype(model, self.config)
        self.model = model
        self._owns_dwpose = dwpose is None
        if dwpose is None and weights is not None:
            dwpose = _dwpose_if_present(weights)
        self.dwpose = dwpose
        self.pose_warning = None if dwpose is not None else _pose_warning(weights)

    def close(self) -> None:
        """Closes DWPose's sessions when the renderer loaded it."""
        if self._owns_dwpose and self.dwpose is not None:
            self.dwpose.close()

    def render(
        self,
        pairs: list[FashnPair],
        sampling: FashnSampling | None = None,
        on_step: Callable[[int, int], None] | None = None,
    ) -> list[Image]:
        """The model's try-ons of ``pairs`` in one batch, one sample each, at each
        photo's size.

        Args:
            pairs: the people and garments (any photo sizes).
            sampling: the sampling settings (None: the config's). The batch shares one
                noise draw of N samples: the first pair's noise is its draw alone.
            on_step: called after each sampling step with (steps done, steps in all).

        Returns:
            (H, W, 3) RGB uint8 raw model outputs, one per pair (not repainted).
        """
        drawn = self.render_samples(pairs, sampling, on_step, num_samples=1)
        return [samples[0] for samples in drawn]

    def render_samples(
        self,
        pairs: list[FashnPair],
        sampling: FashnSampling | None = None,
        on_step: Callable[[int, int], None] | None = None,
        num_samples: int | None = None,
    ) -> list[tuple[Image, ...]]:
        """``num_samples`` try-ons of each pair, all in one batch of the sampler.

        Each pair's inputs are repeated ``num_samples`` times in a row (pair i's samples
        are rows i * N ... i * N + N - 1 of the batch), and the batch takes one noise
        draw: a single pair's first sample has the noise of a one-sample draw.

        Args:
            pairs: the people and garments (any photo sizes).
            sampling: the sampling settings (None: the config's).
            on_step: called after each sampling step with (steps done, steps in all).
            num_samples: samples per pair, 1-4 (None: the config's ``num_samples``).

        Returns:
            Per pair, its samples: (H, W, 3) RGB uint8 raw model outputs at its photo's
            size (not repainted).

        Raises:
            TryOnError: ``num_samples`` outside 1-4.
        """
        n = check_num_samples(self.config.num_samples if num_samples is None else num_samples)
        people = [self.prepare_person(p.person, p.person_pose) for p in pairs]
        garments = [self.prepare_garment(p.garment, p.garment_pose) for p in pairs]
        categories = [p.category for p in pairs]
        canvases = self._sample(people, garments, categories, sampling, on_step, n)
        return [
            tuple(
                restore(canvas, person.placement, (pair.person.shape[0], pair.person.shape[1]))
                for canvas in canvases[i * n : (i + 1) * n]
            )
            for i, (person, pair) in enumerate(zip(people, pairs, strict=True))
        ]

    def _canvas(self) -> tuple[int, int]:
        return self.config.model.height, self.config.model.width

    def _pose(self, image: Image, fallback: WholeBodyPose | None) -> WholeBodyPose:
        """DWPose's keypoints of ``image`` when it is loaded, else ``fallback``."""
        if self.dwpose is not None:
            return self.dwpose(image)
        return fallback if fallback is not None else WholeBodyPose.blank()

    def prepare_person(self, person: Image, fallback: WholeBodyPose) -> Prepared:
        """The person photo and its pose raster on the model canvas."""
        image = pre_resize(person)
        pose = self._pose(image, fallback)
        return prepare(image, draw_pose_raster(pose, *image.shape[:2]), self._canvas())

    def prepare_garment(self, garment: GarmentAnalysis, fallback: WholeBodyPose | None) -> Prepared:
        """The garment photo (a worn one greyed outside its mask) and its pose raster
        (blank for a product photo) on the model canvas."""
        if garment.source != "worn":
            image = pre_resize(garment.image)
            blank = np.zeros(image.shape[:2], np.uint8)
            return prepare(image, blank, self._canvas())
        grey = np.where(garment.mask[..., None], garment.image, np.uint8(WORN_GARMENT_GREY))
        pose = self._pose(pre_resize(garment.image), fallback)
        image = pre_resize(grey.astype(np.uint8))
        return prepare(image, draw_pose_raster(pose, *image.shape[:2]), self._canvas())

    def _sample(
        self,
        people: list[Prepared],
        garments: list[Prepared],
        categories: list[Category],
        sampling: FashnSampling | None,
        on_step: Callable[[int, int], None] | None,
        num_samples: int,
    ) -> list[Image]:
        """The model's outputs on the canvas, (H, W, 3) RGB uint8 each: ``num_samples``
        in a row per person."""
        parameter = next(self.model.parameters())
        device, dtype = parameter.device, parameter.dtype

        def tensor(arrays: list[np.ndarray]) -> torch.Tensor:
            chw = [a[None] if a.ndim == 2 else a.transpose(2, 0, 1) for a in arrays]
            return torch.from_numpy(np.ascontiguousarray(np.stack(chw))).to(device, dtype)

        inputs = FashnInputs(
            tensor([p.image for p in people]),
            tensor([p.pose for p in people]),
            tensor([g.image for g in garments]),
            tensor([g.pose for g in garments]),
            torch.tensor([CATEGORY_IDS[c] for c in categories], dtype=torch.int64, device=device),
        )
        chosen = sampling or self.config.resolved_sampling
        output = sample(self.model, inputs.repeated(num_samples), chosen, on_step=on_step)
        return list(to_uint8_images(output))


class FashnEngine(AnalysingEngine):
    """Try-on by FASHN VTON v1.5.

    Args:
        weights: weights directory (layout in the module docstring; None: the default
            one); ignored for the model when ``model`` is given, still searched for
            DWPose then.
        config: engine settings.
        model: an already loaded transformer (tests, services sharing one copy).
        analyzers: body and garment analysers shared with other engines; made here
            when None (and then closed with the engine).
        dwpose: a DWPose to use (None: loaded from ``weights`` when its files are there).

    Raises:
        WeightsError: the model file is missing (naming it and the fetch command) or
            does not fit ``config.model``.
        TryOnError: ``model`` is not in the dtype ``config.dtype`` names.
    """

    name = "fashn"
    licence = LICENCE

    def __init__(
        self,
        weights: Path | None = None,
        config: FashnConfig | None = None,
        model: FashnTransformer | None = None,
        *,
        analyzers: Analyzers | None = None,
        dwpose: DWPose | None = None,
    ) -> None:
        self.renderer = FashnRenderer(weights, config, model, dwpose=dwpose)
        self.config = self.renderer.config
        self.model = self.renderer.model
        super().__init__(analyzers)

    def close(self) -> None:
        """Stops the analysers' threads (when the engine made them) and DWPose's
        sessions."""
        super().close()
        self.renderer.close()

    def dress(
        self, person: Image, garment: GarmentAnalysis, category: Category | None
    ) -> TryOnResult:
        """Dresses ``person`` (an (H, W, 3) RGB uint8 photo) in ``garment``."""
        start = time.perf_counter()
        masked = self.analyzers.mask_person(person, category or garment.category)
        pair = fashn_pair(masked, garment, self.analyzers, self.renderer.dwpose is None)
        analysis = time.perf_counter() - start
        t0 = time.perf_counter()
        (samples,) = self.renderer.render_samples([pair])
        diffusion = time.perf_counter() - t0
        return self._result(masked, garment, samples, analysis, diffusion)

    def _result(
        self,
        person: MaskedPerson,
        garment: GarmentAnalysis,
        generated: tuple[Image, ...],
        analysis: float,
        diffusion: float,
    ) -> TryOnResult:
        start = time.perf_counter()
        images = tuple(repaint(person.image, g, person.agnostic_mask) for g in generated)
        notes = [self.renderer.pose_warning] if self.renderer.pose_warning else []
        return TryOnResult(
            image=images[0],
            agnostic_mask=person.agnostic_mask,
            category=person.category,
            timings={
                "analysis": analysis,
                "diffusion": diffusion,
                "repaint": time.perf_counter() - start,
            },
            person=person.image,
            body=person.body,
            garment=garment,
            warnings=notes + other_people_warnings(person.body),
            details=DiffusionDetails(generated[0], samples=images),
        )


def fashn_pair(
    person: MaskedPerson, garment: GarmentAnalysis, analyzers: Analyzers, fallbacks: bool
) -> FashnPair:
    """The pair the renderer takes, with the MediaPipe poses it draws without DWPose.

    Args:
        person: the masked person (its body analysis gives the person's pose).
        garment: the garment's analysis.
        analyzers: the body analyser, for the pose of the person wearing a worn garment.
        fallbacks: whether the poses are needed (False when DWPose is loaded: a worn
            garment's photo is then not analysed).
    """
    person_pose = wholebody_from_analysis(person.body) if fallbacks else WholeBodyPose.blank()
    garment_pose = None
    if fallbacks and garment.source == "worn":
        try:
            garment_pose = wholebody_from_analysis(analyzers.body.analyze(garment.image))
        except TryOnError:  # nobody found after all: a blank pose, as for a product
            garment_pose = None
    return FashnPair(person.image, garment, person.category, person_pose, garment_pose)


def check_num_samples(num_samples: int) -> int:
    """``num_samples`` when it is 1-4 (the reference's range).

    Raises:
        TryOnError: any other number, naming the range.
    """
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise TryOnError(
            f"FASHN num_samples must be 1-{MAX_SAMPLES} (try-ons drawn in one batch), "
            f"got {num_samples}"
        )
    return num_samples


def _check_model_dtype(model: FashnTransformer, config: FashnConfig) -> None:
    """Refuses a given model in another dtype than the one ``config.dtype`` names (it
    is shared, so it is not cast here)."""
    dtype = next(model.parameters()).dtype
    if config.dtype != "auto" and dtype != config.resolved_dtype:
        raise TryOnError(
            f"the FASHN model given is {str(dtype).removeprefix('torch.')}, "
            f"the config asks for {config.dtype}: cast it (model.to(dtype)) or use dtype='auto'"
        )


def _dwpose_if_present(weights: Path) -> DWPose | None:
    """DWPose from ``weights`` when both its files are there, else None."""
    if all(path.is_file() for path in DWPOSE_WEIGHTS.paths(weights)):
        return DWPose.from_dir(weights)
    return None


def _pose_warning(weights: Path | None) -> str:
    where = (
        ", ".join(str(p) for p in DWPOSE_WEIGHTS.paths(weights))
        if weights is not None
        else "no weights directory"
    )
    return (
        "the pose input is approximate: DWPose weights missing "
        f"({where}); used the MediaPipe body keypoints (no hands or face); "
        f"run '{FASHN_FETCH_COMMAND}' to fetch them"
    )
