"""The allocator setting: a try-on reuses the memory the previous one freed."""

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

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="the setting is glibc's",
)


def _faults_of_one_tryon(keep: str) -> tuple[bool, int]:
    env = {**os.environ, "TRYON_KEEP_FREED_MEMORY": keep, "GLOG_minloglevel": "2"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(PERSON), str(GARMENT)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    tuned, faults = out.stdout.split()
    return tuned == "True", int(faults)


def test_a_tryon_reuses_freed_memory_instead_of_faulting_it_in() -> None:
    tuned, tuned_faults = _faults_of_one_tryon("1")
    untuned, default_faults = _faults_of_one_tryon("0")
    assert tuned and not untuned
    # By default glibc maps and unmaps the large temporaries, thousands of pages per
    # try-on; tuned, a few hundred at most remain.
    assert default_faults > 2000, default_faults
    assert tuned_faults < default_faults / 10, (tuned_faults, default_faults)
