"""Worker-side helpers of the fault suite: real artifacts to damage, a factory that never returns, reader fuzzers."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from edgex.errors import UsageError

DEMO = Path(__file__).resolve().parents[1] / "edgex" / "demo" / "digits"


def hang_forever() -> None:
    """A PyTorch factory that never returns (as a stuck download or a deadlock would)."""
    while True:
        time.sleep(0.5)


def tflite_files(folder: str) -> list[str]:
    """The demo Keras model as float32 and dynamic-range .tflite (TF worker)."""
    import keras
    import tensorflow as tf

    model = keras.models.load_model(DEMO / "digits.keras")
    paths = []
    for name, optimizations in (("fp32", []), ("dynamic", [tf.lite.Optimize.DEFAULT])):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = optimizations
        path = Path(folder) / f"digits_{name}.tflite"
        path.write_bytes(converter.convert())
        paths.append(str(path))
    return paths


def pte_files(folder: str) -> list[str]:
    """The demo PyTorch model as an XNNPACK-delegated and a portable .pte (executorch worker)."""
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from edgex.demo.digits_torch import build

    model, examples = build()
    paths = []
    for name, partitioners in (("xnnpack", [XnnpackPartitioner()]), ("portable", [])):
        program = to_edge_transform_and_lower(torch.export.export(model, examples), partitioner=partitioners)
        path = Path(folder) / f"digits_{name}.pte"
        path.write_bytes(program.to_executorch().buffer)
        paths.append(str(path))
    return paths


def mutations(data: bytes, count: int, seed: int):
    """`count` damaged copies of `data`: truncations, bit flips, overwritten 32-bit fields, cut or repeated spans."""
    rng = random.Random(seed)
    extremes = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(data), len(data) + 8, 0xFFFF]
    for index in range(count):
        buffer = bytearray(data)
        kind = index % 5
        if kind == 0:
            buffer = buffer[: rng.randrange(len(buffer))]
        elif kind == 1:
            for _ in range(rng.randint(1, 16)):
                buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
        elif kind == 2:
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(0, len(buffer) - 4) & ~3
                buffer[at : at + 4] = rng.choice(extremes).to_bytes(4, "little")
        elif kind == 3:
            at = rng.randrange(len(buffer))
            del buffer[at : at + rng.randint(1, 64)]
        else:
            at = rng.randrange(len(buffer))
            buffer[at:at] = buffer[at : at + rng.randint(1, 64)]
        yield bytes(buffer)


def fuzz_reader(reader: str, path: str, count: int, seed: int) -> dict[str, Any]:
    """Feed `count` mutated copies of `path` to a reader in this process; tally outcomes, keep unexpected ones."""
    if reader == "tflite":
        from edgex.inspection.tflite_summary import inspect_tflite

        def parse(data: bytes) -> Any:
            return inspect_tflite(Path(path), data)
    else:
        from edgex.inspection.pte import forward_method, summarize_pte
        from edgex.inspection.pte_reader import read_pte

        def parse(data: bytes) -> Any:
            program = read_pte(path, data)
            return summarize_pte(Path(path), program, forward_method(program))

    tally: dict[str, Any] = {"parsed": 0, "usage_errors": 0, "unexpected": [], "slowest_s": 0.0, "messages": set()}
    for data in mutations(Path(path).read_bytes(), count, seed):
        clock = time.perf_counter()
        try:
            parse(data)
            tally["parsed"] += 1
        except UsageError as exc:
            tally["usage_errors"] += 1
            tally["messages"].add(exc.one_line().split(" (")[0].split(": ", 1)[-1][:60])
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            tally["unexpected"].append(f"{type(exc).__name__}: {exc}"[:200])
        tally["slowest_s"] = max(tally["slowest_s"], time.perf_counter() - clock)
    tally["messages"] = sorted(tally["messages"])
    return tally


def onnx_with_input(path: str, shape: list[int], external: str | None = None) -> None:
    """A one-op ONNX model (Softmax over a flattened input); with `external`, its weights stored at that location."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    flat = int(np.prod(shape[1:]))
    weight = numpy_helper.from_array(np.ones((flat, 10), np.float32), "w")
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [shape[0], 10])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if external is not None:  # the weights "live" at `external` (e.g. '../secret.bin'), as a hostile file says
        tensor = model.graph.initializer[0]
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", external
    onnx.save(model, path)


class _RunsACommand:
    """What a hostile checkpoint holds: unpickling it would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def evil_checkpoint(path: str, marker: str) -> None:
    """A torch.save file whose unpickling creates `marker` (torch worker); weights_only loading must refuse it."""
    import torch

    torch.save({"state_dict": {}, "payload": _RunsACommand(marker)}, path)
