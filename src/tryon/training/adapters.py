"""Per-garment adapters: a LoRA on the self-attention projections, tuned on a few photos of
one catalogued garment being worn (``tryon catalog tune``).

The pairs are made here: the garment's catalogued product photo is the condition, each
on-model photo is both the input (masked by the engines' own agnostic mask for the
garment's category) and the target, as in CatVTON's training (training.md). Only the LoRA
trains: peft wraps the self-attention projections (``attn1.to_q``, ``to_k``, ``to_v``,
``to_out.0``; never the skipped cross-attentions) with ``LoraConfig(r, lora_alpha=r,
init_lora_weights="gaussian")`` for the run, and the UNet gets its own modules back
afterwards, its weights untouched. The adapter is stored in the catalog beside the
garment; the diffusion engines apply it to that garment's try-ons
(``tryon.diffusion.adapters``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model
from safetensors.torch import save

from tryon.catalog import AdapterRecord, Catalog
from tryon.diffusion.adapters import lora_targets
from tryon.diffusion.images import garment_canvas
from tryon.diffusion.renderer import DiffusionRenderer
from tryon.engines.person import Analyzers
from tryon.errors import TryOnError
from tryon.imageio import ImageSource, load_image
from tryon.training.adapter_config import MIN_PHOTOS, TuneConfig, check_photo_count
from tryon.training.config import TrainingError
from tryon.training.latents import LatentCache
from tryon.training.objective import draw_step, training_loss
from tryon.training.samples import TrainingSample, cover_crop
from tryon.types import Category, Image

ADAPTER_NAME = "garment"
"""peft's name of the adapter while it trains."""

TuneProgress = Callable[[int, int, float], None]
"""Called after each step with (step, steps, the step's loss)."""


@dataclass(frozen=True)
class RejectedPhoto:
    """An on-model photo left out, and why.

    Attributes:
        name: the photo's file name (or "photo N" for bytes).
        reason: the analysis's error message.
    """

    name: str
    reason: str


@dataclass(frozen=True)
class TuneResult:
    """What ``tune_garment`` did.

    Attributes:
        adapter: the adapter as stored in the catalog.
        losses: the loss of every step.
        used: names of the photos it was tuned on.
        rejected: the photos left out (no person, the category's body parts not visible,
            not an image).
        seconds: the whole run's time.
    """

    adapter: AdapterRecord
    losses: list[float]
    used: list[str]
    rejected: list[RejectedPhoto]
    seconds: float


def tune_garment(
    catalog: Catalog,
    garment_id: str,
    photos: Sequence[ImageSource],
    renderer: DiffusionRenderer,
    analyzers: Analyzers,
    config: TuneConfig | None = None,
    progress: TuneProgress | None = None,
) -> TuneResult:
    """Tunes a LoRA for a catalogued garment on photos of people wearing it, and stores it.

    Args:
        catalog: the catalog holding the garment; the adapter is stored there.
        garment_id: the garment.
        photos: on-model photos (paths or encoded bytes): people wearing the garment.
        renderer: the diffusion model to tune on; its UNet is wrapped while tuning runs,
            so give one no try-on uses meanwhile. Its attention weights' name is stored
            with the adapter (engines running other weights leave it out).
        analyzers: the body analysers that make the agnostic masks.
        config: rank, steps, learning rate, ...
        progress: called after each step.

    Raises:
        UnknownGarmentError: no such garment.
        TrainingError: fewer than ``MIN_PHOTOS`` photos, or fewer usable ones (each
            rejected photo named with its reason), or bad settings.
    """
    config = config or TuneConfig()
    start = time.perf_counter()
    check_photo_count(len(photos))
    record = catalog.get(garment_id)
    analysis = catalog.analysis(garment_id)
    size = config.size or (renderer.version.height, renderer.version.width)
    samples, rejected = adapter_samples(analysis.image, record.category, photos, size, analyzers)
    if len(samples) < MIN_PHOTOS:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected)
        raise TrainingError(
            f"only {len(samples)} of {len(photos)} photos can be used (an adapter needs "
            f"{MIN_PHOTOS}): {reasons}; give photos of a person with the garment's "
            f"{record.category.value} body visible"
        )
    state, losses = train_lora(renderer, samples, config, progress)
    settings = {
        **asdict(config),
        "size": list(size),
        "alpha": float(config.rank),
        "version": renderer.version.name,
        "photos": [s.key for s in samples],
        "loss_first": losses[0],
        "loss_last": losses[-1],
    }
    stored = catalog.put_adapter(garment_id, save(state), settings)
    used = [s.key for s in samples]
    return TuneResult(stored, losses, used, rejected, time.perf_counter() - start)


def adapter_samples(
    garment: Image,
    category: Category,
    photos: Sequence[ImageSource],
    size: tuple[int, int],
    analyzers: Analyzers,
) -> tuple[list[TrainingSample], list[RejectedPhoto]]:
    """The training pairs of a garment's adapter: each usable on-model photo with its
    agnostic mask for ``category``, and the garment's photo on a white canvas.

    Returns:
        The samples at (height, width) ``size`` and the photos left out, with why.
    """
    canvas = garment_canvas(garment, size)
    samples, rejected = [], []
    for i, photo in enumerate(photos):
        name = Path(photo).name if isinstance(photo, str | Path) else f"photo {i + 1}"
        try:
            person = load_image(photo, role=f"on-model photo {name}")
            mask = analyzers.mask_person(person, category).agnostic_mask
        except TryOnError as exc:
            rejected.append(RejectedPhoto(name, str(exc)))
            continue
        samples.append(
            TrainingSample(name, cover_crop(person, size), canvas, cover_crop(mask, size))
        )
    return samples, rejected


def train_lora(
    renderer: DiffusionRenderer,
    samples: Sequence[TrainingSample],
    config: TuneConfig,
    progress: TuneProgress | None = None,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Trains a LoRA on the renderer's self-attention projections, the rest frozen.

    Returns:
        The LoRA's tensors in peft's names (``<projection>.lora_A.weight``, ...), float32
        on the CPU, and the loss of every step.
    """
    models, device = renderer.pipeline.models, renderer.pipeline.device
    unet = models.unet
    generator = torch.Generator(device).manual_seed(config.seed)
    cache = LatentCache(samples, models.vae, device, renderer.pipeline.dtype)
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16)
        if device.type == "cuda"
        else nullcontext()
    )
    losses = []
    with lora_wrapped(unet, config.rank, config.seed) as parameters:
        optimiser = torch.optim.AdamW(parameters, lr=config.learning_rate)
        train_steps = int(models.scheduler.config.num_train_timesteps)
        for step in range(config.steps):
            index = torch.randint(len(cache), (1,), generator=generator, device=device)
            batch = cache.draw(index, generator)
            draws = draw_step(batch, train_steps, config.garment_dropout, generator)
            with autocast:
                loss = training_loss(unet, models.scheduler, batch, draws, config.dream_power)
            loss.backward()
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(step + 1, config.steps, losses[-1])
        state = get_peft_model_state_dict(unet, adapter_name=ADAPTER_NAME)
    return {k: v.detach().float().cpu().contiguous() for k, v in state.items()}, losses


@contextmanager
def lora_wrapped(
    unet: UNet2DConditionModel, rank: int, seed: int
) -> Iterator[list[torch.nn.Parameter]]:
    """Wraps the self-attention projections with a fresh LoRA (peft) inside the block;
    yields its parameters, the only ones that need gradients meanwhile.

    On leaving, every projection is the module it was before (so its parameters keep
    their names) and every parameter's ``requires_grad`` is as it was.
    """
    targets = lora_targets(unet)
    originals = {name: unet.get_submodule(name) for name in targets}
    needs_grad = {name: p.requires_grad for name, p in unet.named_parameters()}
    config = LoraConfig(
        r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=targets
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # peft draws A from the global generator
        inject_adapter_in_model(config, unet, adapter_name=ADAPTER_NAME)
    try:
        unet.requires_grad_(False)
        parameters = [p for n, p in unet.named_parameters() if ".lora_" in n]
        for param in parameters:
            param.requires_grad_(True)
        yield parameters
    finally:
        for name, module in originals.items():
            parent, _, child = name.rpartition(".")
            setattr(unet.get_submodule(parent), child, module)
        for name, param in unet.named_parameters():
            param.requires_grad_(needs_grad[name])
