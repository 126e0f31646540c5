"""``ScaleConfig``: replicas, resources and batching of the Ray Serve deployments."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ScaleConfig:
    """How the service is laid out on a Ray cluster.

    Attributes:
        address: the Ray cluster to join ("auto", "HOST:6379", "ray://HOST:10001"); None
            starts a Ray instance on this machine.
        max_batch_size: requests the diffusion model runs in one batch.
        batch_wait_s: how long a batch waits for more requests once it has one.
        max_ongoing_requests: requests a diffusion replica holds at once (queued for a
            batch or running); None: twice ``max_batch_size``. Never less than the batch
            size, or batches could not fill.
        diffusion_replicas: diffusion replicas (the minimum when autoscaling).
        diffusion_max_replicas: with a value above ``diffusion_replicas``, the
            deployment autoscales between the two on ongoing requests per replica.
        target_ongoing_requests: the autoscaler's target per diffusion replica; None: the
            batch size (a replica that always has a full batch is the goal).
        diffusion_gpus: GPUs per diffusion replica (fractions share one GPU).
        fashn_gpus: GPUs per fashn replica; None: ``diffusion_gpus``. With both
            engines' weights, each engine has its own replicas: give each half a GPU
            to run both on one GPU.
        diffusion_cpus: CPUs per diffusion replica.
        garment_replicas: garment preprocessing replicas.
        garment_cpus: CPUs per garment replica.
        ingress_replicas: HTTP ingress replicas (the warp engine runs in their threads);
            more than one needs a shared job store (Redis).
        ingress_cpus: CPUs per ingress replica.
    """

    address: str | None = None
    max_batch_size: int = 4
    batch_wait_s: float = 0.05
    max_ongoing_requests: int | None = None
    diffusion_replicas: int = 1
    diffusion_max_replicas: int | None = None
    target_ongoing_requests: float | None = None
    diffusion_gpus: float = 1.0
    fashn_gpus: float | None = None
    diffusion_cpus: float = 1.0
    garment_replicas: int = 1
    garment_cpus: float = 1.0
    ingress_replicas: int = 1
    ingress_cpus: float = 1.0

    def __post_init__(self) -> None:
        for name in (
            "max_batch_size",
            "diffusion_replicas",
            "garment_replicas",
            "ingress_replicas",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_wait_s < 0:
            raise ValueError(f"batch_wait_s must not be negative, got {self.batch_wait_s}")
        if (
            self.max_ongoing_requests is not None
            and self.max_ongoing_requests < self.max_batch_size
        ):
            raise ValueError(
                f"max_ongoing_requests ({self.max_ongoing_requests}) must be at least "
                f"max_batch_size ({self.max_batch_size}), or batches cannot fill"
            )
        if (
            self.diffusion_max_replicas is not None
            and self.diffusion_max_replicas < self.diffusion_replicas
        ):
            raise ValueError("diffusion_max_replicas must be at least diffusion_replicas")

    @property
    def fashn_replica_gpus(self) -> float:
        """GPUs per fashn replica."""
        return self.diffusion_gpus if self.fashn_gpus is None else self.fashn_gpus

    def fashn_device(self, device: str | None) -> str:
        """The device a fashn replica runs its model on: ``device`` when given (the
        service's ``diffusion_device``), else "cuda" when the replica reserves GPUs,
        else "cpu" (decided here, for a replica on another node than this one)."""
        if device is not None:
            return device
        return "cuda" if self.fashn_replica_gpus > 0 else "cpu"

    def model_gpus(self, engines: Collection[str]) -> dict[str, float]:
        """GPUs the starting replicas of each model deployment of ``engines`` reserve
        ("catvton": ``DiffusionModel``, "fashn": ``FashnModel``; others have no model
        deployment)."""
        per_replica = {"catvton": self.diffusion_gpus, "fashn": self.fashn_replica_gpus}
        return {
            name: self.diffusion_replicas * per_replica[name]
            for name in engines
            if name in per_replica
        }

    @property
    def diffusion_ongoing(self) -> int:
        """``max_ongoing_requests`` of a diffusion replica."""
        return self.max_ongoing_requests or 2 * self.max_batch_size

    def diffusion_scaling(self) -> dict[str, Any]:
        """The diffusion deployment's ``num_replicas`` or ``autoscaling_config``."""
        if self.diffusion_max_replicas is None or (
            self.diffusion_max_replicas == self.diffusion_replicas
        ):
            return {"num_replicas": self.diffusion_replicas}
        return {
            "autoscaling_config": {
                "min_replicas": self.diffusion_replicas,
                "max_replicas": self.diffusion_max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests or self.max_batch_size,
            }
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self))
