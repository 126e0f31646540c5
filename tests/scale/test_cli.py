"""``tryon serve --ray``'s options: parsed into ``ScaleConfig``, wrong ones refused before
Ray starts."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from tryon import cli
from tryon.cli.serve import scale_config_from_args
from tryon.scale import ScaleConfig


def parse(*argv: str) -> ScaleConfig:
    return scale_config_from_args(cli.build_parser().parse_args(["serve", *argv]))


def test_options_become_the_scale_config() -> None:
    config = parse(
        "--ray", "--address", "auto", "--max-batch-size", "8", "--batch-wait-ms", "20",
        "--diffusion-replicas", "2", "--diffusion-max-replicas", "6",
        "--gpus-per-replica", "0.5",
    )  # fmt: skip
    assert (config.address, config.max_batch_size, config.batch_wait_s) == ("auto", 8, 0.02)
    assert config.diffusion_ongoing == 16 and config.diffusion_gpus == 0.5
    assert config.diffusion_scaling() == {
        "autoscaling_config": {"min_replicas": 2, "max_replicas": 6, "target_ongoing_requests": 8}
    }
    assert parse().diffusion_scaling() == {"num_replicas": 1}


def test_ongoing_requests_below_the_batch_size_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["serve", "--ray", "--weights", "w", "--max-batch-size", "8"]
    assert cli.main([*argv, "--max-ongoing-requests", "4"]) != 0
    assert "max_ongoing_requests (4) must be at least max_batch_size (8)" in capsys.readouterr().err


def test_ray_without_the_scale_extra_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray.serve", None)  # as if ray were not installed
    assert cli.main(["serve", "--ray", "--weights", "w"]) != 0
    assert "pip install 'tryon[scale]'" in capsys.readouterr().err


def test_ray_needs_weights_and_a_shared_store_for_several_ingresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("ray.serve", reason="the scale-out tests need the scale extra")
    assert cli.main(["serve", "--ray"]) != 0
    assert "give --weights DIR" in capsys.readouterr().err
    assert cli.main(["serve", "--ray", "--weights", "w", "--ingress-replicas", "2"]) != 0
    assert "--job-store redis://" in capsys.readouterr().err


def test_a_local_start_without_the_gpu_it_needs_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tryon.errors import TryOnError
    from tryon.scale.run import check_gpus

    with pytest.raises(TryOnError, match="--gpus-per-replica 0"):
        check_gpus(0.0, ScaleConfig(), ("catvton",))
    check_gpus(0.0, ScaleConfig(diffusion_gpus=0.0), ("catvton",))  # the model on the CPU
    check_gpus(0.0, ScaleConfig(address="auto"), ("catvton",))  # GPU workers may join later
    assert "wait until GPU workers join" in caplog.text


def test_the_fashn_deployments_gpus_count_too() -> None:
    from tryon.errors import TryOnError
    from tryon.scale.run import check_gpus

    both = ("catvton", "fashn")
    check_gpus(1.0, ScaleConfig(), ("catvton",))
    check_gpus(1.0, ScaleConfig(), ("fashn",))
    with pytest.raises(TryOnError) as refused:
        check_gpus(1.0, ScaleConfig(), both)
    message = str(refused.value)
    assert "has 1 GPUs and the model replicas need 2 (catvton 1 x 1, fashn 1 x 1)" in message
    assert "--fashn-gpus 0.5" in message and "--gpus-per-replica 0 --fashn-gpus 0" in message
    check_gpus(1.0, ScaleConfig(diffusion_gpus=0.5, fashn_gpus=0.5), both)  # one GPU shared
    check_gpus(0.0, ScaleConfig(diffusion_gpus=0.0, fashn_gpus=0.0), both)  # on the CPU
    with pytest.raises(TryOnError, match=r"need 1 \(fashn 1 x 1\).*--fashn-gpus 0$"):
        check_gpus(0.0, ScaleConfig(diffusion_gpus=0.0, fashn_gpus=1.0), both)
    with pytest.raises(TryOnError, match=r"need 2 \(catvton 2 x 1\)"):
        check_gpus(1.0, ScaleConfig(diffusion_replicas=2), ("catvton",))  # every replica
    check_gpus(0.0, ScaleConfig(), ())  # no model deployment


def fashn(*argv: str, device: str | None = None):
    from tryon.cli.serve import fashn_config_from_args, settings_from_args

    args = cli.build_parser().parse_args(["serve", "--ray", *argv])
    settings = replace(settings_from_args(args), diffusion_device=device)
    return fashn_config_from_args(args, settings, scale_config_from_args(args))


def test_fashn_options_become_the_fashn_deployments_settings() -> None:
    from tryon.fashn.sampler import PRESETS, FashnSampling

    default = fashn()
    assert (default.sampling, default.dtype, default.device) == ("compat", "auto", "cuda")
    chosen = fashn("--fashn-preset", "fast", "--fashn-steps", "12", "--fashn-dtype", "bfloat16")
    assert chosen.sampling == FashnSampling(steps=12) and chosen.dtype == "bfloat16"
    assert fashn("--fashn-preset", "quality").resolved_sampling == PRESETS["quality"]
    # The replicas' device: the service's, else a GPU when they reserve one.
    assert fashn("--fashn-gpus", "0").device == "cpu"
    assert fashn("--gpus-per-replica", "0").device == "cpu"  # fashn follows it
    assert fashn("--gpus-per-replica", "0", "--fashn-gpus", "0.5").device == "cuda"
    assert fashn("--fashn-gpus", "0", device="cuda:1").device == "cuda:1"
    assert parse("--fashn-gpus", "0.5").fashn_replica_gpus == 0.5
    assert parse("--gpus-per-replica", "0.25").fashn_replica_gpus == 0.25


def test_the_cli_offers_the_engines_presets() -> None:
    from tryon.cli.serve import FASHN_PRESETS
    from tryon.fashn.sampler import PRESETS

    assert tuple(PRESETS) == FASHN_PRESETS


def test_wrong_fashn_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--ray", "--weights", "w", "--fashn-steps", "0"]) != 0
    assert "tryon serve --ray: FASHN sampling: steps must be at least 1" in capsys.readouterr().err
    assert cli.main(["serve", "--fashn-preset", "fast", "--fashn-gpus", "0"]) != 0
    assert "--fashn-preset, --fashn-gpus: for the fashn deployment of --ray only" in (
        capsys.readouterr().err
    )


def test_the_diffusion_start_timeout_reaches_the_settings() -> None:
    from tryon.cli.serve import settings_from_args

    args = cli.build_parser().parse_args(["serve", "--ray", "--diffusion-start-timeout", "30"])
    assert settings_from_args(args).diffusion_start_timeout_s == 30.0
