"""Worker processes contain crashes and hangs; errors keep their type across the process boundary."""

from __future__ import annotations

import pytest

from edgex.errors import ConversionError, UsageError
from edgex.workers import Worker


def test_crash_becomes_a_conversion_error_naming_the_signal() -> None:
    worker = Worker("litert")
    try:
        with pytest.raises(ConversionError, match="crashed \\(signal SIGSEGV\\)"):
            worker.call("tests.worker_targets:segfault", what="converting", failure=ConversionError)
    finally:
        worker.close()


def test_timeout_kills_the_worker() -> None:
    worker = Worker("litert")
    try:
        with pytest.raises(ConversionError, match="timed out after 1 s"):
            worker.call("tests.worker_targets:sleep", 30, what="converting", failure=ConversionError, timeout=1)
    finally:
        worker.close()


def test_user_errors_cross_unchanged_and_others_are_wrapped() -> None:
    worker = Worker("litert")
    try:
        with pytest.raises(UsageError, match="bad shape") as caught:
            worker.call("tests.worker_targets:raise_usage", what="loading")
        assert caught.value.hint == "fix it"
        with pytest.raises(ConversionError, match="converting failed: ZeroDivisionError") as wrapped:
            worker.call("tests.worker_targets:divide_by_zero", what="converting", failure=ConversionError)
        assert "Traceback" in wrapped.value.details
        assert worker.call("tests.worker_targets:add", 2, 3, what="adding") == 5  # still alive after errors
    finally:
        worker.close()


def test_kept_objects_stay_in_the_worker() -> None:
    worker = Worker("litert")
    try:
        handle = worker.call("tests.worker_targets:keep_counter", what="keep")
        assert handle.summary == "counter"
        assert worker.call("tests.worker_targets:bump", handle, what="bump") == 1
        assert worker.call("tests.worker_targets:bump", handle, what="bump") == 2
    finally:
        worker.close()


def test_progress_reaches_the_parent_throttled_and_complete() -> None:
    worker = Worker("litert")
    seen: list[tuple[int, int]] = []
    try:
        done = worker.call("tests.worker_targets:count_up", 60, what="count", on_progress=lambda *r: seen.append(r))
        assert done == 60
        assert seen[-1] == (60, 60), "the last step always arrives"
        assert 1 < len(seen) < 20, f"throttled, yet seen while running: {seen}"
        assert [done for done, _ in seen] == sorted(done for done, _ in seen)
        assert worker.call("tests.worker_targets:add", 2, 3, what="adding") == 5  # no report left in the pipe
    finally:
        worker.close()
