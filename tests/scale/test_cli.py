"""``tryon serve --ray``'s options: parsed into ``ScaleConfig``, wrong ones refused before
Ray starts."""

from __future__ import annotations

import sys

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
        check_gpus(0.0, ScaleConfig())
    check_gpus(0.0, ScaleConfig(diffusion_gpus=0.0))  # the model on the CPU: fine
    check_gpus(0.0, ScaleConfig(address="auto"))  # GPU workers may join the cluster later
    assert "wait until GPU workers join" in caplog.text


def test_the_diffusion_start_timeout_reaches_the_settings() -> None:
    from tryon.cli.serve import settings_from_args

    args = cli.build_parser().parse_args(["serve", "--ray", "--diffusion-start-timeout", "30"])
    assert settings_from_args(args).diffusion_start_timeout_s == 30.0
