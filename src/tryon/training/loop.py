"""The training loop on accelerate: one CPU process (tests), one GPU, or several GPUs and
machines (``accelerate launch`` / ``torchrun``) run the same code.

The frozen parts (the UNet's untrained parameters, the VAE) are cast to the mixed
precision's dtype; the trained parameters and the optimiser state stay float32. The VAE
runs once per pair before the first step (``LatentCache``). Checkpoints every
``checkpoint_every`` steps and at an interrupt (Ctrl-C, SIGTERM); the attention is
exported in CatVTON's format at the end and at an interrupt.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tryon.dataset.layout import open_dataset
from tryon.diffusion.models import DiffusionModels, load_base_models, load_models
from tryon.training.config import BASE_START, TrainConfig, TrainingError
from tryon.training.export import RECORD_FILE, export_attention, licence_of
from tryon.training.latents import LatentCache
from tryon.training.logs import RunLog
from tryon.training.objective import draw_step, training_loss
from tryon.training.run_state import (
    RunState,
    finished_checkpoints,
    resume_from,
    save_checkpoint,
)
from tryon.training.samples import TrainingSample, read_samples
from tryon.training.trainable import freeze_all_but
from tryon.training.validation import VALIDATION_DIR, validate

MEMORY_HINT = (
    "use less memory: --batch-size 1 with --gradient-accumulation N, "
    "--gradient-checkpointing, --mixed-precision bf16 (or fp16), or a smaller --size"
)


@dataclass(frozen=True)
class TrainResult:
    """How a run ended.

    Attributes:
        run_dir: the run's folder (``OUT/<name>``).
        attention: the exported attention file.
        step: the last step trained.
        interrupted: the run stopped at an interrupt before its last step.
        loss: the last logged loss.
    """

    run_dir: Path
    attention: Path
    step: int
    interrupted: bool
    loss: float


@dataclass(frozen=True)
class TrainInputs:
    """What a run reads.

    Attributes:
        dataset: the dataset folder (VITON-HD or DressCode layout).
        weights: the weights folder (the base, the VAE, CatVTON's versions).
        out: the output folder; the run writes ``out/<name>``.
        split: the dataset split trained on.
        masks: the folder of the project's masks of a dataset not built here (default:
            where ``tryon dataset masks`` writes them).
    """

    dataset: Path
    weights: Path
    out: Path
    split: str = "train"
    masks: Path | None = None


def train(
    inputs: TrainInputs,
    config: TrainConfig,
    *,
    resume: str | None = None,
    models: DiffusionModels | None = None,
    device: str | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Trains the UNet's ``config.trainable`` parameters on the dataset's paired pairs.

    Args:
        inputs: dataset, weights and output folders.
        config: the recipe's settings.
        resume: ``latest`` or a checkpoint folder to continue from (None: a new run).
        models: models to train instead of loading ``inputs.weights`` (tests).
        device: "cpu" forces the CPU; None lets accelerate choose.
        show_progress: draw the progress bar.

    Raises:
        TrainingError: bad settings, dataset, weights or output folder, or out of memory
            (with the options that use less).
    """
    from accelerate import Accelerator

    run_dir = inputs.out / config.name
    record = _run_record(inputs, config)
    checkpoint = _check_output(run_dir, record, resume)
    try:
        accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation,
            cpu=device == "cpu",
        )
    except (ValueError, RuntimeError) as exc:
        raise TrainingError(f"cannot train with these settings: {exc}") from None
    models = models or _load(inputs.weights, config.start)
    samples = _samples(inputs, config)
    try:
        return _run(
            accelerator, models, samples, run_dir, record, config, checkpoint, show_progress
        )
    except torch.cuda.OutOfMemoryError:
        raise TrainingError(
            f"out of GPU memory at {config.batch_size} pairs a step: {MEMORY_HINT}"
        ) from None


def _run(
    accelerator: Any,
    models: DiffusionModels,
    samples: list[TrainingSample],
    run_dir: Path,
    record: dict[str, Any],
    config: TrainConfig,
    checkpoint: Path | None,
    show_progress: bool,
) -> TrainResult:
    device = accelerator.device
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(
        config.mixed_precision, torch.float32
    )
    unet, vae = models.unet, models.vae
    trained = freeze_all_but(unet, config.trainable)
    vae.requires_grad_(False)
    vae.to(device, dtype)
    unet.to(device, dtype)
    for param in trained:
        param.data = param.data.float()
    if config.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    cache = LatentCache(samples, vae, device, dtype)
    optimizer = torch.optim.AdamW(trained, lr=config.learning_rate)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    state = RunState(config.seed + accelerator.process_index, device)
    accelerator.register_for_checkpointing(state)
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RECORD_FILE).write_text(_json(record))
    validation = samples[: config.validation_pairs]
    loss = float("nan")
    with (
        _stop_requests() as stop,
        RunLog(
            run_dir, config.steps, state.step, show=show_progress and accelerator.is_main_process
        ) as log,
    ):
        unet.train()
        while state.step < config.steps and not stop():
            loss = _optimiser_step(accelerator, unet, optimizer, models, cache, state, config)
            state.step += 1
            log.advance()
            if state.step % config.log_every == 0 or state.step == config.steps:
                log.step(state.step, {"loss": loss, "lr": config.learning_rate})
            if config.checkpoint_every and state.step % config.checkpoint_every == 0:
                _checkpoint(accelerator, run_dir, state.step, config, log)
            if config.validate_every and state.step % config.validate_every == 0:
                _validate(accelerator, models, validation, run_dir, state.step, config, log)
        interrupted = state.step < config.steps
        if interrupted:
            log.event(state.step, "interrupted")
            _checkpoint(accelerator, run_dir, state.step, config, log)
        unwrapped = accelerator.unwrap_model(unet)
        done = {**record, "step": state.step, "interrupted": interrupted, "loss": loss}
        attention = run_dir / "attention" / "model.safetensors"
        if accelerator.is_main_process:
            attention = export_attention(unwrapped, run_dir, done)
    accelerator.wait_for_everyone()
    return TrainResult(run_dir, attention, state.step, interrupted, loss)


def _optimiser_step(
    accelerator: Any,
    unet: Any,
    optimizer: torch.optim.Optimizer,
    models: DiffusionModels,
    cache: LatentCache,
    state: RunState,
    config: TrainConfig,
) -> float:
    """One optimiser step over ``gradient_accumulation`` batches; returns their mean loss."""
    total = 0.0
    timesteps = int(models.scheduler.config.num_train_timesteps)
    for _ in range(config.gradient_accumulation):
        with accelerator.accumulate(unet):
            indices = torch.randint(
                len(cache),
                (config.batch_size,),
                generator=state.generator,
                device=cache.person.device,
            )
            batch = cache.draw(indices, state.generator)
            draws = draw_step(batch, timesteps, config.garment_dropout, state.generator)
            with accelerator.autocast():
                loss = training_loss(unet, models.scheduler, batch, draws, config.dream_power)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        total += float(loss.detach())
    return total / config.gradient_accumulation


def _checkpoint(
    accelerator: Any, run_dir: Path, step: int, config: TrainConfig, log: RunLog
) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        path = save_checkpoint(run_dir, step, accelerator.save_state, config.keep_checkpoints)
        log.event(step, "checkpoint", path=str(path))


def _validate(
    accelerator: Any,
    models: DiffusionModels,
    samples: list[TrainingSample],
    run_dir: Path,
    step: int,
    config: TrainConfig,
    log: RunLog,
) -> None:
    if not accelerator.is_main_process or not samples:
        return
    unet = accelerator.unwrap_model(models.unet)
    unet.eval()
    view = DiffusionModels(unet, models.vae, models.scheduler)
    out = run_dir / VALIDATION_DIR / f"step-{step:07d}.png"
    with torch.no_grad(), accelerator.autocast():
        figures = validate(view, samples, accelerator.device, config.seed, out)
    unet.train()
    log.event(step, "validation", grid=str(out), **figures)


def _load(weights: Path, start: str) -> DiffusionModels:
    if start == BASE_START:
        return load_base_models(weights)
    return load_models(weights, start)


def _samples(inputs: TrainInputs, config: TrainConfig) -> list[TrainingSample]:
    dataset = open_dataset(inputs.dataset, inputs.split)
    return read_samples(dataset, (config.height, config.width), config.masks, inputs.masks)


def _run_record(inputs: TrainInputs, config: TrainConfig) -> dict[str, Any]:
    return {
        "dataset": str(inputs.dataset.resolve()),
        "split": inputs.split,
        "weights": str(inputs.weights.resolve()),
        "start": config.start,
        "licence": licence_of(config.start),
        "config": config.as_json(),
    }


# Settings a resumed run must share with the run it continues.
_SAME_RUN = ("start", "trainable", "height", "width", "masks", "seed", "batch_size")


def _check_output(run_dir: Path, record: dict[str, Any], resume: str | None) -> Path | None:
    """The checkpoint to resume from; refuses to mix two runs in one folder."""
    existing = run_dir / RECORD_FILE
    if not existing.is_file():
        if resume is not None and resume != "latest":
            return resume_from(run_dir, resume)
        return None
    if resume is None:
        raise TrainingError(
            f"{str(run_dir)!r} already holds a run: pass --resume latest to continue it, "
            "or another --name (or --out) for a new one"
        )
    try:
        before = json.loads(existing.read_text())
    except ValueError:
        raise TrainingError(
            f"{str(existing)!r} is damaged: remove the run folder or use another --name"
        ) from None
    old, new = before.get("config", {}), record["config"]
    differ = [k for k in _SAME_RUN if old.get(k) != new.get(k)]
    if differ or before.get("dataset") != record["dataset"]:
        what = ", ".join(
            differ + (["dataset"] if before.get("dataset") != record["dataset"] else [])
        )
        raise TrainingError(
            f"{str(run_dir)!r} holds another run (its {what} differ): resume it with the same "
            "settings, or train under another --name"
        )
    if not finished_checkpoints(run_dir):
        return None
    return resume_from(run_dir, resume)


@contextmanager
def _stop_requests() -> Iterator[Any]:
    """Turns Ctrl-C and SIGTERM into a request to stop after the current step (the run
    then saves a checkpoint and its attention); yields the test ``stop()``."""
    requested: list[int] = []

    def request(signum: int, _frame: object) -> None:
        requested.append(signum)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in previous:
            signal.signal(sig, request)
    except ValueError:  # not the main thread: signals stay with their owner
        previous = {}
    try:
        yield lambda: bool(requested)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
