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
from tryon.diffusion.weights import ATTENTION_FILE, TRAINING_INFO, start_licence
from tryon.training.config import BASE_START, TrainConfig, TrainingError
from tryon.training.export import export_attention
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
    run_dir = inputs.out / config.name
    record = _run_record(inputs, config)
    with _accelerator(config, device) as accelerator:
        checkpoint = _check_output(run_dir, record, resume)
        # Every process has looked at the folder before the main one writes into it.
        accelerator.wait_for_everyone()
        models = models or _load(inputs.weights, config.start)
        samples = _samples(inputs, config)
        try:
            trainer = Trainer(accelerator, models, samples, config, run_dir)
            return trainer.run(record, checkpoint, show_progress=show_progress)
        except torch.cuda.OutOfMemoryError:
            raise TrainingError(
                f"out of GPU memory at {config.batch_size} pairs a step: {MEMORY_HINT}"
            ) from None


@contextmanager
def _accelerator(config: TrainConfig, device: str | None) -> Iterator[Any]:
    """accelerate's ``Accelerator`` for the run. Its settings are process-wide state in
    accelerate: they are reset when the run ends, so the process may train again with
    others (the processes of a distributed run are kept)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    try:
        accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation,
            cpu=device == "cpu",
        )
    except (ValueError, RuntimeError) as exc:
        raise TrainingError(f"cannot train with these settings: {exc}") from None
    try:
        yield accelerator
    finally:
        AcceleratorState._reset_state()
        GradientState._reset_state()


class Trainer:
    """One run's models, optimiser, latent cache and draws, stepped by ``run``.

    Args:
        accelerator: accelerate's ``Accelerator`` (device, mixed precision, processes).
        models: the models; the UNet's ``config.trainable`` parameters are trained in
            place, the rest and the VAE are frozen in the mixed precision's dtype.
        samples: the training pairs (their latents are cached here).
        config: the run's settings.
        run_dir: the run's folder.
    """

    def __init__(
        self,
        accelerator: Any,
        models: DiffusionModels,
        samples: list[TrainingSample],
        config: TrainConfig,
        run_dir: Path,
    ) -> None:
        device = accelerator.device
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(
            config.mixed_precision, torch.float32
        )
        trained = freeze_all_but(models.unet, config.trainable)
        models.vae.requires_grad_(False)
        models.vae.to(device, dtype)
        models.unet.to(device, dtype)
        for param in trained:
            param.data = param.data.float()
        if config.gradient_checkpointing:
            models.unet.enable_gradient_checkpointing()
        self.cache = LatentCache(samples, models.vae, device, dtype)
        optimizer = torch.optim.AdamW(trained, lr=config.learning_rate)
        self.unet, self.optimizer = accelerator.prepare(models.unet, optimizer)
        self.state = RunState(config.seed + accelerator.process_index, device)
        accelerator.register_for_checkpointing(self.state)
        self.accelerator, self.models, self.config, self.run_dir = (
            accelerator,
            models,
            config,
            run_dir,
        )
        self.validation = samples[: config.validation_pairs]

    def run(
        self, record: dict[str, Any], checkpoint: Path | None, *, show_progress: bool
    ) -> TrainResult:
        """Trains from ``checkpoint`` (or the start) to the last step or an interrupt,
        then exports the attention with ``record`` and how far the run got."""
        config, state = self.config, self.state
        if checkpoint is not None:
            self.accelerator.load_state(str(checkpoint))
        if self.accelerator.is_main_process:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / TRAINING_INFO).write_text(_json(record))
        self.accelerator.wait_for_everyone()
        main = self.accelerator.is_main_process
        loss = float("nan")
        with (
            _stop_requests() as stop,
            RunLog(self.run_dir, config.steps, state.step, show=show_progress, main=main) as log,
        ):
            self.unet.train()
            while state.step < config.steps and not stop():
                loss = self.step()
                state.step += 1
                log.advance()
                if state.step % config.log_every == 0 or state.step == config.steps:
                    log.step(state.step, {"loss": loss, "lr": config.learning_rate})
                if config.checkpoint_every and state.step % config.checkpoint_every == 0:
                    self.checkpoint(log)
                if config.validate_every and state.step % config.validate_every == 0:
                    self.validate(log)
            interrupted = state.step < config.steps
            if interrupted:
                log.event(state.step, "interrupted")
                self.checkpoint(log)
            done = {**record, "step": state.step, "interrupted": interrupted, "loss": loss}
            attention = self.export(done)
        return TrainResult(self.run_dir, attention, state.step, interrupted, loss)

    def step(self) -> float:
        """One optimiser step over ``gradient_accumulation`` batches; their mean loss."""
        config, state, cache, accelerator = self.config, self.state, self.cache, self.accelerator
        total = 0.0
        timesteps = int(self.models.scheduler.config.num_train_timesteps)
        for _ in range(config.gradient_accumulation):
            with accelerator.accumulate(self.unet):
                indices = torch.randint(
                    len(cache),
                    (config.batch_size,),
                    generator=state.generator,
                    device=cache.person.device,
                )
                batch = cache.draw(indices, state.generator)
                draws = draw_step(batch, timesteps, config.garment_dropout, state.generator)
                with accelerator.autocast():
                    loss = training_loss(
                        self.unet, self.models.scheduler, batch, draws, config.dream_power
                    )
                accelerator.backward(loss)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            total += float(loss.detach())
        return total / config.gradient_accumulation

    def checkpoint(self, log: RunLog) -> None:
        """Saves the run's state (model, optimiser, draws) as a complete checkpoint."""
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            step, keep = self.state.step, self.config.keep_checkpoints
            path = save_checkpoint(self.run_dir, step, self.accelerator.save_state, keep)
            log.event(step, "checkpoint", path=str(path))

    def validate(self, log: RunLog) -> None:
        """Renders the validation pairs with the UNet as trained so far."""
        if not self.accelerator.is_main_process or not self.validation:
            return
        unet = self.accelerator.unwrap_model(self.unet)
        unet.eval()
        view = DiffusionModels(unet, self.models.vae, self.models.scheduler)
        step = self.state.step
        out = self.run_dir / VALIDATION_DIR / f"step-{step:07d}.png"
        with torch.no_grad(), self.accelerator.autocast():
            figures = validate(
                view, self.validation, self.accelerator.device, self.config.seed, out
            )
        unet.train()
        log.event(step, "validation", grid=str(out), **figures)

    def export(self, record: dict[str, Any]) -> Path:
        """Writes the attention in CatVTON's format (the main process); returns its path."""
        path = self.run_dir / ATTENTION_FILE
        if self.accelerator.is_main_process:
            path = export_attention(self.accelerator.unwrap_model(self.unet), self.run_dir, record)
        self.accelerator.wait_for_everyone()
        return path


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
        "licence": start_licence(config.start),
        "config": config.as_json(),
    }


# Settings a resumed run must share with the run it continues.
_SAME_RUN = ("start", "trainable", "height", "width", "masks", "seed", "batch_size")


def _check_output(run_dir: Path, record: dict[str, Any], resume: str | None) -> Path | None:
    """The checkpoint to resume from; refuses to mix two runs in one folder."""
    existing = run_dir / TRAINING_INFO
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
