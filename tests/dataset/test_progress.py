"""The progress bar: one line per item off a terminal, nothing when disabled."""

from __future__ import annotations

import io

from tryon.dataset.progress import Progress


def test_one_line_per_item_with_count_and_name() -> None:
    stream = io.StringIO()
    progress = Progress(4, "build", stream=stream)
    progress.step("people/a.jpg")
    progress.step("people/b.jpg")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("build [######..................] 1/4")
    assert "ETA" in lines[0] and lines[0].endswith("people/a.jpg")
    assert "2/4" in lines[1]


def test_the_last_line_has_no_eta_and_disabled_prints_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(1, "eval", stream=stream)
    progress.step()
    assert "1/1" in stream.getvalue() and "ETA" not in stream.getvalue()
    quiet = io.StringIO()
    silent = Progress(3, "eval", stream=quiet, enabled=False)
    silent.step("x")
    silent.close()
    assert quiet.getvalue() == "" and silent.done == 1
