"""Process settings for try-on work: freed memory is reused, OpenBLAS and OpenCV run on one
thread."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import pytest

from tests.photos import GARMENT, person

# A fresh process runs the same try-on four times and prints the page faults of the
# fourth: by then every buffer the try-on needs has been allocated.
PROBE = textwrap.dedent(
    """
    import resource, sys
    from tryon import TryOn, configure_process
    from tryon.allocator import keep_freed_memory

    configure_process()
    tryon = TryOn(engine="warp")
    garment = tryon.analyze_garment(sys.argv[2])
    for _ in range(3):
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


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A person photo of a phone's size (2688 x 3600, about 10 megapixels)."""
    image = cv2.imread(str(person("p2_walking.jpg")))
    path = tmp_path_factory.mktemp("phone") / "person.jpg"
    cv2.imwrite(str(path), cv2.resize(image, (2688, 3600), interpolation=cv2.INTER_LINEAR))
    return path


def _faults_of_one_tryon(photo: Path, keep: str) -> tuple[bool, int]:
    tuned, faults = _probe(PROBE, str(photo), str(GARMENT), TRYON_KEEP_FREED_MEMORY=keep)
    return tuned == "True", int(faults)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="the setting is glibc's",
)
def test_a_tryon_reuses_freed_memory_instead_of_faulting_it_in(phone_photo: Path) -> None:
    tuned, tuned_faults = _faults_of_one_tryon(phone_photo, "1")
    untuned, default_faults = _faults_of_one_tryon(phone_photo, "0")
    assert tuned and not untuned
    # By default glibc maps and unmaps the large temporaries, thousands of pages per
    # try-on; tuned, a few hundred at most remain.
    assert default_faults > 2000, default_faults
    assert tuned_faults < default_faults / 10, (tuned_faults, default_faults)


POOLS_PROBE = textwrap.dedent(
    """
    import cv2, numpy, scipy.linalg
    from threadpoolctl import threadpool_info

    def most():
        pools = [i for i in threadpool_info() if i["internal_api"] == "openblas"]
        return max(i["num_threads"] for i in pools)

    before = most(), cv2.getNumThreads()
    from tryon import TryOn, configure_process

    TryOn(engine="warp")
    engine_only = most(), cv2.getNumThreads()
    configure_process()
    print(*before, *engine_only, most(), cv2.getNumThreads())
    """
)


def _pool_threads(blas: str | None, opencv: str | None) -> list[int]:
    """OpenBLAS's largest pool and OpenCV's pool: before, after a warp engine is made,
    and after ``configure_process`` (what the command line and the service call)."""
    # Two threads per pool to start with, as on a two-core machine, whatever this one has.
    words = _probe(
        POOLS_PROBE,
        OPENBLAS_NUM_THREADS="2",
        OPENCV_FOR_THREADS_NUM="2",
        TRYON_BLAS_THREADS=blas,
        TRYON_OPENCV_THREADS=opencv,
    )
    return [int(word) for word in words]


def test_the_process_settings_run_openblas_and_opencv_on_one_thread() -> None:
    """Spinning OpenBLAS threads burnt a third of a try-on's CPU time for nothing, and
    OpenCV's pool a tenth. The engine itself changes neither: the entry point does."""
    assert _pool_threads(None, None) == [2, 2, 2, 2, 1, 1]
    assert _pool_threads("0", "0") == [2, 2, 2, 2, 2, 2]  # left alone
    assert _pool_threads("0", "3") == [2, 2, 2, 2, 2, 3]


LOG_LEVELS_PROBE = textwrap.dedent(
    """
    import os
    from tryon import configure_process

    configure_process()
    print(os.environ["GLOG_minloglevel"], os.environ["TF_CPP_MIN_LOG_LEVEL"])
    """
)


def test_the_process_settings_quiet_glog_and_tensorflow_unless_set() -> None:
    """Read when MediaPipe is imported, so the entry point sets them before any model."""
    assert _probe(LOG_LEVELS_PROBE, GLOG_minloglevel=None, TF_CPP_MIN_LOG_LEVEL=None) == [
        "2",
        "3",
    ]
    assert _probe(LOG_LEVELS_PROBE, GLOG_minloglevel="0", TF_CPP_MIN_LOG_LEVEL="1") == ["0", "1"]
