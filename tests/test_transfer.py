"""Large arrays reach workers through the transfer file: same values, dtypes and shapes as by pickle."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edgex.transfer import SHARE_MIN_BYTES
from edgex.workers import Worker


def _arrays(rows: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "image": rng.normal(size=(rows, 3, 64, 64)).astype(np.float32).transpose(0, 2, 3, 1),  # not contiguous
        "tokens": rng.integers(-128, 127, size=(rows, 77)).astype(np.int8),
        "mask": rng.random((rows, 77)) > 0.5,
        "big_endian": np.arange(rows * 5, dtype=">f8").reshape(rows, 5),
        "scale": np.full((), 0.5, np.float32),
    }


def test_large_arrays_cross_by_file_and_arrive_intact() -> None:
    with tempfile.TemporaryDirectory() as temp:
        worker = Worker("litert", temp_dir=temp)
        try:
            for rows in (64, 40, 80):  # the file is reused, shrinking and growing
                sent = _arrays(rows)
                assert sum(a.nbytes for a in sent.values()) >= SHARE_MIN_BYTES
                got = worker.call("tests.worker_targets:describe_arrays", sent, what="describe")
                transfer = list(Path(temp).glob("transfer-*"))
                assert len(transfer) == 1, "large payloads go through the worker's transfer file"
                for name, array in sent.items():
                    kind, dtype, shape, writeable, values = got[name]
                    assert (kind, dtype, shape, writeable) == ("ndarray", array.dtype.str, array.shape, True)
                    np.testing.assert_array_equal(values, array)
            before = {name: array.copy() for name, array in sent.items()}
            assert worker.call("tests.worker_targets:scribble", sent, what="scribble") == 0.0
            for name, array in sent.items():  # copy-on-write: the worker's writes stay in the worker
                np.testing.assert_array_equal(array, before[name])
            again = worker.call("tests.worker_targets:describe_arrays", sent, what="describe")
            np.testing.assert_array_equal(again["image"][4], sent["image"])
        finally:
            worker.close()
        assert not list(Path(temp).glob("transfer-*")), "close() removes the transfer file"


def test_small_payloads_go_by_socket() -> None:
    with tempfile.TemporaryDirectory() as temp:
        worker = Worker("litert", temp_dir=temp)
        try:
            small = {"x": np.arange(10, dtype=np.float32)}
            got = worker.call("tests.worker_targets:describe_arrays", small, what="describe")
            np.testing.assert_array_equal(got["x"][4], small["x"])
            assert not list(Path(temp).glob("transfer-*"))
        finally:
            worker.close()
