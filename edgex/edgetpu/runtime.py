"""Run compiled models on a real Edge TPU when one is here, else say plainly that TPU latency was not measured.

The Edge TPU runtime is `libedgetpu.so.1` (Debian package libedgetpu1-std), loaded as a TFLite delegate
(https://coral.ai/docs/edgetpu/tflite-python/). Devices: the USB Accelerator (1a6e:089a before its firmware loads,
18d1:9302 after) or a PCIe/M.2 module (/dev/apex_N).
"""

from __future__ import annotations

import ctypes.util
import sys
from pathlib import Path
from typing import Any

from edgex.errors import MissingDependencyError
from edgex.workers import short_message

LIBRARY = "libedgetpu.so.1"
USB_IDS = {("1a6e", "089a"), ("18d1", "9302")}
CUSTOM_OP = b"edgetpu-custom-op"


def is_compiled(path: Path) -> bool:
    """Whether a .tflite holds an Edge TPU custom op (cheap: no schema needed, works with tflite-runtime only)."""
    return CUSTOM_OP in path.read_bytes()


def devices() -> list[str]:
    found = sorted(str(p) for p in Path("/dev").glob("apex_*"))
    for vendor_file in Path("/sys/bus/usb/devices").glob("*/idVendor"):
        product_file = vendor_file.with_name("idProduct")
        try:
            ids = (vendor_file.read_text().strip(), product_file.read_text().strip())
        except OSError:
            continue
        if ids in USB_IDS:
            found.append(f"USB {ids[0]}:{ids[1]}")
    return found


def tpu_status() -> tuple[bool, str]:
    """(usable, why): the runtime library and a device are both needed to run a compiled model."""
    if ctypes.util.find_library("edgetpu") is None:
        return False, f"the Edge TPU runtime ({LIBRARY}) is not installed"
    found = devices()
    if not found:
        return False, "no Edge TPU device (USB Accelerator or PCIe/M.2 module) is connected"
    return True, f"{LIBRARY} with {found[0]}"


def int8_source(compiled: Path) -> Path:
    """The int8 model a compiled one was made from: x_edgetpu.tflite or x_segment_0_of_2_edgetpu.tflite -> x.tflite."""
    stem = compiled.name.removesuffix("_edgetpu.tflite")
    stem = stem.split("_segment_")[0] if "_segment_" in stem else stem
    return compiled.with_name(f"{stem}.tflite")


def edgetpu_runtime(path: Path, interpreter_type: Any, runtime: str) -> tuple[Path, list[Any], str, list[str]]:
    """(model to load, delegates, runtime label, notes) for `path`: ordinary models pass through unchanged."""
    if not is_compiled(path):
        return path, [], runtime, []
    usable, reason = tpu_status()
    if usable:
        load_delegate = getattr(sys.modules[interpreter_type.__module__], "load_delegate", None)
        if load_delegate is None:
            reason = f"{interpreter_type.__module__} has no load_delegate for the Edge TPU delegate"
        else:
            try:
                return path, [load_delegate(LIBRARY)], f"{runtime} + Edge TPU delegate ({reason})", []
            except Exception as exc:  # noqa: BLE001 - delegate loading raises ValueError/RuntimeError/TypeError
                reason = f"the Edge TPU delegate did not load ({short_message(exc)})"
    source = int8_source(path)
    if not source.is_file():
        raise MissingDependencyError(
            f"{path.name} is compiled for the Edge TPU and cannot run here: {reason}",
            hint=f"install the Edge TPU runtime (libedgetpu1-std) and attach a Coral device, or validate {source.name}",
        )
    note = (
        f"ran {source.name}, the int8 model {path.name} was compiled from, on the CPU ({reason}): "
        "Edge TPU latency not measured"
    )
    return source, [], f"{runtime} (int8 model on the CPU)", [note]
