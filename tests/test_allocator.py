"""Process settings for try-on work: freed memory is reused, OpenBLAS runs on one thread."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.photos import GARMENT, PERSON

# A fresh process runs the same try-on three times and prints the page faults of the
# third: by then every buffer the try-on needs has been allocated once.
PROBE = textwrap.dedent(
    """
    import resource, sys
    from tryon import TryOn
    from tryon.allocator import keep_freed_memory

    tryon = TryOn(engine="warp")
    garment = tryon.analyze_garment(sys.argv[2])
    for _ in range(2):
        tryon.run(sys.argv[1], garment)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tryon.run(sys.argv[1], garment)
    print(keep_freed_memory(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _probe(code: str, *args: str, **variables: str | None) -> list[str]:
    """Runs ``code`` in a fresh interpreter with these environment variables set (None:
    removed); returns the words it printed."""
    env = {**os.environ, "GLOG_minloglevel": "2"}
    for name, value in variables.items():
        env.pop(name, None)
        if value is not None:
            env[name] = value
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def _faults_of_one_tryon(keep: str) -> tuple[bool, int]:
    tuned, faults = _probe(PROBE, str(PERSON), str(GARMENT), TRYON_KEEP_FREED_MEMORY=keep)
    return tuned == "True", int(faults)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="the setting is glibc's",
)
def test_a_tryon_reuses_freed_memory_instead_of_faulting_it_in() -> None:
    tuned, tuned_faults = _faults_of_one_tryon("1")
    untuned, default_faults = _faults_of_one_tryon("0")
    assert tuned and not untuned
    # By default glibc maps and unmaps the large temporaries, thousands of pages per
    # try-on; tuned, a few hundred at most remain.
    assert default_faults > 2000, default_faults
    assert tuned_faults < default_faults / 10, (tuned_faults, default_faults)


BLAS_PROBE = textwrap.dedent(
    """
    import numpy, scipy.linalg
    from threadpoolctl import threadpool_info

    def most():
        pools = [i for i in threadpool_info() if i["internal_api"] == "openblas"]
        return max(i["num_threads"] for i in pools)

    before = most()
    from tryon import TryOn

    TryOn(engine="warp")
    print(before, most())
    """
)


def _openblas_threads(setting: str | None) -> tuple[int, int]:
    """The most threads of any OpenBLAS pool, before and after a warp engine is made."""
    # Two threads per pool to start with, as on a two-core machine, whatever this one has.
    before, after = _probe(BLAS_PROBE, OPENBLAS_NUM_THREADS="2", TRYON_BLAS_THREADS=setting)
    return int(before), int(after)


def test_the_warp_engine_runs_openblas_on_one_thread() -> None:
    """Spinning OpenBLAS threads burnt a third of a try-on's CPU time for nothing."""
    assert _openblas_threads(None) == (2, 1)
    assert _openblas_threads("0") == (2, 2)  # left alone
