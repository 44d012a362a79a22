"""One spec for the options of `edgex export` / `validate` / `build` and the keys of `edgex.toml`.

Each `Option` record says how the option is spelt on the command line, where its key lives in the build file,
and how a value is checked: the same `Kind` checks a flag's text and a TOML value, so both sides accept and
refuse the same things with the same words. The click options (edgex/cli_options.py) and the build file's key
tables (edgex/build/config.py) are generated from `OPTIONS`; an option that exists on one side only says why.
No click and no framework is imported here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgex.build.shard import Shard
    from edgex.sources import DynamicDim

# Where a key lives in edgex.toml: a top-level table, or a sub-table of a model or target entry.
BUILD, MODEL, TARGET = "build", "model", "target"
PREPROCESSING, MODEL_THRESHOLDS = "model.preprocessing", "model.thresholds"
TARGET_THRESHOLDS, TARGET_OPTIONS = "target.thresholds", "target.options"
THRESHOLDS = (MODEL_THRESHOLDS, TARGET_THRESHOLDS)
EXPORT, VALIDATE, BUILD_COMMAND, DEBUG = "export", "validate", "build", "debug"

MAX_NAME_BYTES = 200  # artifact stems get suffixes such as '_xnnpack_int16x8_edgetpu.tflite'; file names stop at 255


def describe(value: Any) -> str:
    """How a TOML value reads in an error message."""
    kinds = {dict: "a table", list: "an array", bool: "a boolean"}
    return kinds.get(type(value), repr(value))


class Kind:
    """How one value is read: `text` from a command-line string, `file` from a TOML value. Both raise ValueError
    with a message that says what is expected, e.g. 'expected a positive number, got -5'."""

    metavar = "TEXT"

    def text(self, text: str) -> Any:
        return self.file(text)

    def file(self, value: Any) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of a TOML value of this kind (edgex/build/schema.py: editors' completion and checks)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Kind):
    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1}

    def file(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a non-empty string, got {describe(value)}")
        return value


@dataclass(frozen=True)
class PathKind(Text):
    """A path; the build file resolves it against its own folder, the command line against the working one."""

    metavar = "PATH"

    def text(self, text: str) -> Path:
        return Path(super().file(text))


@dataclass(frozen=True)
class Integer(Kind):
    minimum: int
    maximum: int | None = None
    metavar = "INTEGER"

    def text(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"expected {self._expected()}, got {text!r}") from None
        return self.file(value)

    def file(self, value: Any) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not self.minimum <= value <= (self.maximum if self.maximum else value)
        ):
            raise ValueError(f"expected {self._expected()}, got {describe(value)}")
        return value

    def schema(self) -> dict[str, Any]:
        bounds = {"minimum": self.minimum} | ({"maximum": self.maximum} if self.maximum else {})
        return {"type": "integer", **bounds}

    def _expected(self) -> str:
        if self.maximum is None:
            return f"an integer >= {self.minimum}"
        return f"an integer from {self.minimum} to {self.maximum}"


@dataclass(frozen=True)
class Number(Kind):
    positive: bool = False
    metavar = "FLOAT"

    def text(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"expected {self._expected()}, got {text!r}") from None
        return self.file(value)

    def file(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"expected {self._expected()}, got {describe(value)}")
        if self.positive and value <= 0:
            raise ValueError(f"expected {self._expected()}, got {value:g}")
        return float(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", **({"exclusiveMinimum": 0} if self.positive else {})}

    def _expected(self) -> str:
        return "a positive number" if self.positive else "a number"


@dataclass(frozen=True)
class Percent(Kind):
    """A share in percent, as every percentage flag spells it: '90%' or 90 (0 to 100). `legacy_fraction`: the
    option once took a fraction, so a bare number up to 1 still reads as one (0.9 is 90%; write '1%' for 1%).
    `as_fraction`: the value is handed on as 0-1, as the code behind the option compares it."""

    legacy_fraction: bool = False
    as_fraction: bool = False
    metavar = "PERCENT"

    def schema(self) -> dict[str, Any]:
        number = {"type": "number", "minimum": 0, "maximum": 100}
        return {"anyOf": [number, {"type": "string", "pattern": r"^\s*(100(\.0*)?|[0-9]{1,2}(\.[0-9]*)?)\s*%\s*$"}]}

    def file(self, value: Any) -> float:
        explicit = isinstance(value, str) and value.strip().endswith("%")
        text = value.strip().removesuffix("%") if isinstance(value, str) else value
        try:
            number = Number().text(text) if isinstance(text, str) else Number().file(text)
        except ValueError:
            raise ValueError(f"expected a percentage such as 90% or 90, got {describe(value)}") from None
        percent = number * 100 if self.legacy_fraction and not explicit and 0 <= number <= 1 else number
        if not 0 <= percent <= 100:
            raise ValueError(f"expected a percentage from 0 to 100, got {describe(value)}")
        return percent / 100 if self.as_fraction else percent


@dataclass(frozen=True)
class Flag(Kind):
    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def file(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {describe(value)}")
        return value


@dataclass(frozen=True)
class Choice(Kind):
    choices: tuple[str, ...]

    @property
    def metavar(self) -> str:  # type: ignore[override]
        return f"[{'|'.join(self.choices)}]"

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}

    def file(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True)
class Modes(Kind):
    """Quantization modes, comma lists allowed; the names are checked against the target later."""

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"\S"}

    def file(self, value: Any) -> str:
        if not isinstance(value, str) or not any(part.strip() for part in value.split(",")):
            raise ValueError(f"expected mode names such as int8 or 'none,int8', got {describe(value)}")
        return value


@dataclass(frozen=True)
class Shape(Kind):
    """One input shape: '1x3x224x224' or [1, 3, 224, 224]; every dimension >= 1."""

    metavar = "SHAPE"

    def schema(self) -> dict[str, Any]:
        dims = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1}
        return {"anyOf": [{"type": "string", "pattern": r"^\s*0*[1-9][0-9]*(\s*[xX]\s*0*[1-9][0-9]*)*\s*$"}, dims]}

    def file(self, value: Any) -> tuple[int, ...]:
        dims = value.lower().split("x") if isinstance(value, str) else value
        problem = f"{value!r} is not a shape like 1x3x224x224 (every dimension an integer >= 1)"
        if not isinstance(dims, list | tuple) or not dims:
            raise ValueError(problem)
        try:
            shape = tuple(int(dim) if isinstance(dim, str) else dim for dim in dims)
        except ValueError:
            raise ValueError(problem) from None
        if not all(isinstance(dim, int) and not isinstance(dim, bool) and dim >= 1 for dim in shape):
            raise ValueError(problem)
        return shape


@dataclass(frozen=True)
class Floats(Kind):
    """One number or one per channel: '0.5' or '0.485,0.456,0.406' on the command line, 0.5 or [..] in the file."""

    metavar = "FLOATS"

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}, "minItems": 1}]}

    def text(self, text: str) -> tuple[float, ...]:
        try:
            return tuple(Number().text(part) for part in text.split(","))
        except ValueError:
            raise ValueError(f"'{text}' is not a number or comma-separated numbers") from None

    def file(self, value: Any) -> tuple[float, ...]:
        return tuple(Number().file(item) for item in (value if isinstance(value, list) else [value]))


@dataclass(frozen=True)
class DynamicDimKind(Kind):
    """NAME[:AXIS]=MIN..MAX, e.g. batch=1..16 or seq:1=1..128."""

    metavar = "NAME[:AXIS]=MIN..MAX"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[^:=]+(:[0-9]+)?=[0-9]+\.\.[0-9]+$"}

    def file(self, value: Any) -> DynamicDim:
        from edgex.sources import DynamicDim

        problem = f"{value!r} is not NAME[:AXIS]=MIN..MAX, e.g. batch=1..16 (AXIS defaults to 0 for 'batch')"
        if not isinstance(value, str):
            raise ValueError(problem)
        name, _, bounds = value.partition("=")
        name, _, axis = name.partition(":")
        low, _, high = bounds.partition("..")
        try:
            axis_index = int(axis) if axis else (0 if name == "batch" else None)
            dim = DynamicDim(name, axis_index, int(low), int(high)) if axis_index is not None else None
        except ValueError:
            dim = None
        if dim is None or not name or dim.axis < 0 or not 1 <= dim.low <= dim.high:
            raise ValueError(problem + " with 1 <= MIN <= MAX")
        return dim


@dataclass(frozen=True)
class ConstInputKind(Kind):
    """NAME=VALUE: an input fed the same value on every call (a sample rate, a flag); VALUE is a number, true/false
    or a JSON array. Kept as (name, JSON text): the model's input type decides how it is read (edgex/constants.py)."""

    metavar = "NAME=VALUE"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[^=]+=.+$"}

    def file(self, value: Any) -> tuple[str, str]:
        import json

        name, equals, text, problem = _split_pair(
            value, "NAME=VALUE, e.g. sr=16000 (VALUE a number, true/false or a JSON array)"
        )
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not name or not equals or not _numeric(parsed):
            raise ValueError(problem)
        return name, json.dumps(parsed)


class StateKind(Kind):
    """IN=OUT: the output that feeds an input on the next call (an RNN's state), kept as (input, output)."""

    metavar = "IN=OUT"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[^=]+=[^=]+$"}

    def file(self, value: Any) -> tuple[str, str]:
        name, equals, output, problem = _split_pair(
            value, "IN=OUT, e.g. h=h_next (an input, and the output fed to it on the next call)"
        )
        if not name or not equals or not output or "=" in output:
            raise ValueError(problem)
        return name, output


def _split_pair(value: Any, usage: str) -> tuple[str, str, str, str]:
    """NAME, '=', REST (stripped) of a NAME=REST option, and the message to raise if they do not fit `usage`.
    A (name, rest) pair is what an earlier check made of the flag: the API checks it again."""
    if isinstance(value, list | tuple) and len(value) == 2:
        value = "=".join(map(str, value))
    problem = f"{value!r} is not {usage}"
    if not isinstance(value, str):
        raise ValueError(problem)
    name, equals, rest = (part.strip() for part in value.partition("="))
    return name, equals, rest, problem


def _numeric(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_numeric(item) for item in value)
    return isinstance(value, int | float | bool)


@dataclass(frozen=True)
class ShardKind(Kind):
    """K/N: the K-th of N shares of the build matrix (edgex/build/shard.py)."""

    metavar = "K/N"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[0-9]+/[0-9]+$"}

    def file(self, value: Any) -> Shard:
        from edgex.build.shard import Shard

        if not isinstance(value, str):
            raise ValueError(f"expected K/N with 1 <= K <= N, e.g. 1/2, got {describe(value)}")
        return Shard.parse(value)


_UNSAFE_NAME = re.compile(r"[/\\:\x00-\x1f]")


@dataclass(frozen=True)
class ArtifactName(Text):
    """An artifact file stem: a plain name, so every artifact stays inside the output folder."""

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^[^/\\:~\-][^/\\:]*$", "maxLength": MAX_NAME_BYTES}

    def file(self, value: Any) -> str:
        name = super().file(value)
        if _UNSAFE_NAME.search(name) or name.strip(".") == "" or name.startswith(("-", "~")):
            raise ValueError(f"{name!r} is not a plain file name; use letters, digits, '-', '_' or '.', no folders")
        if len(name.encode()) > MAX_NAME_BYTES:
            raise ValueError(f"a name of {len(name.encode())} bytes is too long; use at most {MAX_NAME_BYTES}")
        return name


@dataclass(frozen=True)
class ClassNames(Kind):
    """An array of names, or a text file with one name per line (read by the build file reader)."""

    metavar = "FILE"

    def text(self, text: str) -> tuple[str, ...]:
        from edgex.embedding import read_class_names
        from edgex.errors import UsageError

        try:
            return read_class_names(Path(Text().file(text)))
        except UsageError as exc:
            raise ValueError(exc.one_line()) from None

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [Text().schema(), {"type": "array", "items": Text().schema()}]}

    def file(self, value: Any) -> tuple[str, ...] | str:
        if isinstance(value, str):
            return Text().file(value)
        return tuple(Text().file(item) for item in _items(value, "an array of strings or a file"))


@dataclass(frozen=True)
class Table(Kind):
    """A sub-table; its keys are options of their own (see `file_keys`)."""

    def schema(self) -> dict[str, Any]:
        return {"type": "object"}

    def file(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError(f"expected a table, got {describe(value)}")
        return value


def _items(value: Any, expected: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expected {expected}, got {describe(value)}")
    return value


@dataclass(frozen=True)
class Option:
    """One option: its flag(s), its build-file key and place, and the check both sides share."""

    key: str  # the build-file key, and the name the command receives unless `dest` is set
    kind: Kind
    help: str
    flags: tuple[str, ...] = ()  # command-line spelling; empty: a build-file key only
    places: tuple[str, ...] = ()  # tables of edgex.toml that take `key`; empty: a command-line flag only
    commands: tuple[str, ...] = (EXPORT,)  # commands with the flag
    default: Any = None  # command-line default (the build file's defaults are its dataclasses')
    multiple: bool = False  # the flag repeats; the key takes a value or an array of them
    file_multiple: bool | None = None  # the key takes one value although the flag repeats (--to vs target)
    dest: str | None = None
    conflicts: tuple[str, ...] = ()  # keys that cannot be given together with this one (both sides)
    cli_only: str = ""  # why the build file has no key
    file_only: str = ""  # why `edgex export` has no flag
    build_flag: bool = False  # `edgex build` takes the flag too, to override the file for one run

    @property
    def name(self) -> str:
        """The parameter name the command function receives."""
        return self.dest or self.key

    @property
    def is_flag(self) -> bool:
        return isinstance(self.kind, Flag)

    @property
    def flag(self) -> str:
        return self.flags[0].split("/")[0] if self.flags else ""

    def file_schema(self) -> dict[str, Any]:
        """The JSON Schema of this option's build-file key, with its help text as the description."""
        item = self.kind.schema()
        if self.file_multiple if self.file_multiple is not None else self.multiple:
            item = {"anyOf": [item, {"type": "array", "items": item}]}
        return {"description": self.help, **item}

    def check_file(self, value: Any) -> Any:
        """The TOML value, checked and converted (ValueError says what is wrong)."""
        if self.file_multiple if self.file_multiple is not None else self.multiple:
            items = [value] if isinstance(value, str) else _items(value, "a value or an array of values")
            return tuple(self.kind.file(item) for item in items)
        return self.kind.file(value)


def _threshold(key: str, help_text: str, kind: Kind | None = None) -> Option:
    flag = "--" + key.replace("_", "-")
    return Option(key, kind or Number(), help_text, (flag,), THRESHOLDS, (EXPORT, VALIDATE), build_flag=True)


_REPORTS = (EXPORT, VALIDATE)
_SOURCE = (EXPORT, VALIDATE)
_LOADING = (EXPORT, VALIDATE, DEBUG)  # how the source is loaded and its data read: `edgex debug` needs them too

OPTIONS: tuple[Option, ...] = (
    # What to build, and where.
    Option("source", Text(), "The model: a file or folder, a PyTorch factory path/file.py:build, or a demo name.",
           places=(MODEL,), commands=(), file_only="the SOURCE argument of edgex export"),
    Option("target", Text(), "Target(s); see 'edgex targets'. Repeat for several.", ("--to",), (TARGET,),
           default=("tflite",), multiple=True, file_multiple=False, dest="targets"),
    Option("quantize", Modes(), "none, fp16, dynamic, int8, int16x8 or all; repeat or comma-separate. "
           "[default: target's]", ("--quantize", "-q"), (TARGET,), multiple=True),
    Option("out", PathKind(), "Output folder (a build puts each cell in OUT/MODEL/TARGET).", ("--out",), (BUILD,),
           default=Path("dist"), build_flag=True),
    Option("name", ArtifactName(), "Artifact file stem [default: the source's].", ("--name",), (MODEL,)),
    Option("force", Flag(), "Overwrite existing artifacts.", ("--force",),
           cli_only="a build rebuilds what its fingerprints say changed; 'edgex build --force' rebuilds anyway"),
    Option("backend", Choice(("xnnpack", "portable")), "ExecuTorch backend for --to executorch [default: xnnpack].",
           ("--backend",), cli_only="a build target entry names the backend: target = 'executorch-portable'"),
    Option("targets", Text(), "The [targets.*] entries this model is built for [default: every entry].",
           places=(MODEL,), commands=(), multiple=True, file_only="the build matrix: export takes --to instead"),
    Option("optional", Flag(), "A missing tool (exit 4) is reported but does not fail the build.",
           places=(TARGET,), commands=(), file_only="forgives one cell of a matrix; an export has one exit code"),
    # Data.
    Option("calibration", Text(), "Calibration data: image folder, .npy/.npz, module:function, or 'random'.",
           ("--calib",), (MODEL,), commands=(EXPORT, DEBUG)),
    Option("calibration_samples", Integer(1), "Calibration samples to use [default: 200].", ("--calib-samples",),
           (MODEL,), commands=(EXPORT, DEBUG)),
    Option("validation", Text(), "Validation data (same forms as --calib); enables the parity gate.",
           ("--validate",), (MODEL,)),
    Option("labels", PathKind(), "Class labels for the validation data (.npy/.npz/.txt).", ("--labels",), (MODEL,),
           commands=_SOURCE),
    Option("class_output", Text(), "The class-score output: labels and top-k gates apply to it; 'none': no "
           "output is class scores (embeddings) [default: softmax-like outputs].", ("--class-output",), (MODEL,),
           commands=_SOURCE),
    Option("mean", Floats(), "Image folders: subtract after scaling (one value or per channel).", ("--mean",),
           (PREPROCESSING,), commands=_LOADING),
    Option("std", Floats(), "Image folders: divide by (one value or per channel).", ("--std",), (PREPROCESSING,),
           commands=_LOADING),
    Option("scale", Number(), "Image folders: pixel multiplier before mean/std [default: 1/255].", ("--scale",),
           (PREPROCESSING,), commands=_LOADING),
    Option("channel_order", Choice(("rgb", "bgr")), "Image folders: colour channel order the model expects "
           "[default: rgb].", ("--channel-order",), (PREPROCESSING,), commands=_LOADING),
    Option("validation_samples", Integer(1), "Use at most N validation samples.", ("--val-samples",), (MODEL,),
           commands=_LOADING),
    Option("class_names", ClassNames(), "Class names, one per line in FILE (build file: also an array): embedded in "
           ".tflite (TFLite Metadata), .pte and .onnx, and labels.txt beside a build's manifest.", ("--class-names",),
           (MODEL,)),
    Option("depends", Text(), "Files the factory reads that the build cannot see (part of the fingerprint).",
           places=(MODEL,), commands=(), multiple=True, file_only="only the build's cache needs to know them"),
    # How the source is loaded.
    Option("signature", Text(), "SavedModel / TFLite signature to use [default: serving_default].", ("--signature",),
           (MODEL,), commands=_LOADING),
    Option("input_shapes", Shape(), "PyTorch: input shape like 1x3x224x224, one per input (when the factory gives "
           "no examples).", ("--input-shape",), (MODEL,), commands=_LOADING, multiple=True),
    Option("input_dtypes", Text(), "PyTorch: input dtype per input [float32].", ("--input-dtype",), (MODEL,),
           commands=_LOADING, multiple=True),
    Option("weights", PathKind(), "PyTorch: state_dict checkpoint, loaded with torch.load(weights_only=True).",
           ("--weights",), (MODEL,), commands=_LOADING),
    Option("const_inputs", ConstInputKind(), "An input fed the same value on every call, e.g. sr=16000: the "
           "artifact has it folded in (data files may hold it as a 0-d array instead).", ("--const-input",), (MODEL,),
           commands=_LOADING, multiple=True),
    Option("state", StateKind(), "Stateful validation: output OUT feeds input IN on the next call, e.g. h=h_next; "
           "the data is then run as one sequence in order, its IN used for the first call only.", ("--state",),
           (MODEL,), commands=_SOURCE, multiple=True),
    Option("dynamic_dims", DynamicDimKind(), "PyTorch export: a dimension that may vary, e.g. batch=1..16 or "
           "seq:1=1..128.", ("--dynamic-dim",), (MODEL,), multiple=True),
    # How the artifact is made.
    Option("route", Text(), "Force a conversion route by format names, e.g. keras>onnx>torch-export>pte.",
           ("--route",), (TARGET,)),
    Option("channels_last_io", Flag(), "4-D NCHW inputs/outputs become NHWC in the artifact (litert-torch, "
           "onnx2tf routes).", ("--channels-last-io",), (TARGET,)),
    Option("keep_intermediates", Flag(), "Keep a multi-hop route's intermediate models in --out.",
           ("--keep-intermediates",), (TARGET,)),
    Option("keep_failed", Flag(), "Keep an artifact its runtime cannot load or run (removed by default; its row "
           "says why).", ("--keep-failed",), cli_only="a build keeps only artifacts that run"),
    Option("objective", Choice(("latency", "size")), "-q auto: 'latency' never picks an artifact slower than fp32 "
           "on this host; 'size' takes the smallest that passes [default: latency].", ("--objective",), (TARGET,),
           default="latency"),
    Option("granularity", Choice(("per-channel", "per-tensor")), "Weight scales of quantized modes: one per output "
           "channel, or one per tensor (accelerators that need it) [default: per-channel].", ("--granularity",),
           (TARGET,)),
    Option("io_dtype", Choice(("int8", "uint8", "int16", "float32")), "I/O type of integer models "
           "[int8 mode: int8; int16x8: float32].", ("--io-dtype",), (TARGET,)),
    Option("batch_size", Integer(1), "Static batch baked into the artifact (devices run batch 1). [default: 1]",
           ("--batch-size",), (TARGET,), conflicts=("dynamic_batch",)),
    Option("dynamic_batch", Flag(), "Keep the source's dynamic batch dimension instead.", ("--dynamic-batch",),
           (TARGET,), conflicts=("batch_size",)),
    Option("timeout", Number(positive=True), "Seconds per conversion (a target entry's timeout wins in a build).",
           ("--timeout",), (BUILD, TARGET), commands=(EXPORT, DEBUG), default=1200.0, build_flag=True),
    Option("min_delegated", Percent(legacy_fraction=True, as_fraction=True), "ExecuTorch XNNPACK: fail (exit 1) if "
           "fewer than this percentage of nodes are delegated, e.g. 90% (a fraction such as 0.9 is still read).",
           ("--min-delegated",), (TARGET_OPTIONS,)),
    # Edge TPU (edgex/edgetpu/options.py checks the combination).
    Option("compiler", PathKind(), "Edge TPU: the edgetpu_compiler to run [default: $EDGEX_EDGETPU_COMPILER, then "
           "PATH].", ("--edgetpu-compiler",), (TARGET_OPTIONS,), dest="edgetpu_compiler"),
    Option("min_runtime", Integer(10, 14), "Edge TPU: oldest runtime the model must run on (compiler -m) "
           "[compiler's default: 14].", ("--min-runtime",), (TARGET_OPTIONS,)),
    Option("num_segments", Integer(1), "Edge TPU: split into N models to pipeline over N Edge TPUs (compiler -n).",
           ("--num-segments",), (TARGET_OPTIONS,)),
    Option("search_delegate", Flag(), "Edge TPU: when an op fails, search for the largest graph that maps "
           "(compiler -d).", ("--search-delegate",), (TARGET_OPTIONS,)),
    Option("delegate_search_step", Integer(1), "Edge TPU: step of --search-delegate (compiler -k) [1].",
           ("--delegate-search-step",), (TARGET_OPTIONS,)),
    Option("timeout", Number(positive=True), "Edge TPU: seconds the compiler may take (compiler -t) [180].",
           ("--edgetpu-timeout",), (TARGET_OPTIONS,), dest="edgetpu_timeout"),
    Option("min_tpu_ops", Percent(), "Edge TPU: fail (exit 1) when fewer ops map, e.g. 100% [default: warn below "
           "100%].", ("--min-tpu-ops",), (TARGET_OPTIONS,)),
    # Parity thresholds (edgex/parity/thresholds.py: Thresholds).
    Option("metrics", Text(), "Task metric module:function(reference_outputs, exported_outputs, labels) -> "
           "{name: number or {'value', 'min'|'max'}}: reported, and gated where it has a limit. Repeatable.",
           ("--metric",), (MODEL,), commands=_SOURCE, multiple=True),
    _threshold("max_abs_error", "Fail if any output's max |error| exceeds this."),
    _threshold("max_mean_abs_error", "Fail if an output's mean |error| exceeds this."),
    _threshold("min_cosine", "Fail below this mean per-sample cosine similarity."),
    _threshold("min_snr_db", "Fail below this signal-to-noise ratio (dB)."),
    _threshold("min_top1_agreement", "Fail below this top-1 agreement, in percent (97 or 97%).", Percent()),
    _threshold("min_top5_agreement", "Fail below this top-5 agreement, in percent.", Percent()),
    _threshold("max_top1_drop", "Fail if accuracy drops by more than this, in percentage points (1 or 1%).",
               Percent()),
    _threshold("max_latency_ratio", "Fail if exported median latency / reference exceeds this."),
    _threshold("min_retrieval_agreement", "Embedding outputs: fail below this nearest-neighbour agreement (%)."),
    # Latency measurement.
    Option("threads", Integer(1), "Threads for reference and exported model alike.", ("--threads",), (BUILD,),
           commands=_SOURCE, default=1, build_flag=True),
    Option("warmup", Integer(0), "Untimed runs first.", ("--warmup",), (BUILD,), commands=_SOURCE, default=5,
           build_flag=True),
    Option("runs", Integer(0), "Timed runs per model (0: no latency).", ("--runs",), (BUILD,), commands=_SOURCE,
           default=50, build_flag=True),
    # Build-wide settings.
    Option("jobs", Integer(1), "Cells built in parallel processes.", ("--jobs", "-j"), (BUILD,), commands=(),
           build_flag=True, file_only="an export is one model; its targets run one after another"),
    Option("check_determinism", Flag(), "Export every cell a second time and compare sha256s (reported per cell).",
           ("--check-determinism/--no-check-determinism",), (BUILD,), commands=(), build_flag=True,
           file_only="determinism is measured per build cell; export a second time and compare by hand"),
    Option("shard", ShardKind(), "Build only shard K of N (1-based): a deterministic, balanced share of the cells, "
           "for CI matrices; join the shards with 'edgex report merge'.", ("--shard",), commands=(), build_flag=True,
           cli_only="a shard is one CI job's share of one matrix: each job names its own, the file describes them all"),
    Option("executor", Choice(("local", "ray")), "Where cells run: 'local' processes (-j) or Ray tasks (needs "
           "edgex[ray]) [default: local].", ("--executor",), (BUILD,), commands=(), build_flag=True,
           file_only="an export is one model; its targets run one after another"),
    Option("ray_address", Text(), "Ray cluster to run cells on, e.g. ray://head:10001 or auto [default: "
           "$RAY_ADDRESS, else a local Ray started for the build].", ("--ray-address",), (BUILD,), commands=(),
           build_flag=True, file_only="an export runs in this process; cells are what a build spreads out"),
    # Reports.
    Option("report_json", PathKind(), "Write the JSON report here [build: OUT/edgex-build.json].",
           ("--report-json",), (BUILD,), commands=(*_REPORTS, DEBUG), build_flag=True),
    Option("report_md", PathKind(), "Write a Markdown report here.", ("--report-md",), commands=_REPORTS,
           cli_only="a build's report covers the matrix: JSON, HTML and JUnit"),
    Option("junit", PathKind(), "Write JUnit XML (one testcase per check).", ("--junit",), (BUILD,),
           commands=_REPORTS, build_flag=True),
    Option("report_html", PathKind(), "Write an HTML report with plots here.", ("--report-html",), (BUILD,),
           commands=_REPORTS, build_flag=True),
)


def options_for(command: str) -> tuple[Option, ...]:
    """The flags of one command, in spec order ('build': the overrides of the build file)."""
    if command == BUILD_COMMAND:
        return tuple(option for option in OPTIONS if option.build_flag)
    return tuple(option for option in OPTIONS if command in option.commands)


def file_keys(place: str) -> dict[str, Callable[[Any], Any]]:
    """The keys one table of edgex.toml accepts, each with its checker; sub-tables are keys holding a table."""
    keys: dict[str, Callable[[Any], Any]] = {option.key: option.check_file for option in place_options(place)}
    for sub in sorted({p.partition(".")[2] for o in OPTIONS for p in o.places if p.startswith(place + ".")}):
        keys[sub] = Table().file
    return keys


def conflict(given: dict[str, Any], options: tuple[Option, ...]) -> tuple[Option, Option] | None:
    """The first pair of `options` that exclude each other and are both in `given` (keyed by name, set to a value
    other than None or False); None when there is none."""
    chosen = {option.key: option for option in options if given.get(option.name) not in (None, False, ())}
    for option in chosen.values():
        for other in option.conflicts:
            if other in chosen:
                return option, chosen[other]
    return None


def place_options(place: str) -> tuple[Option, ...]:
    return tuple(option for option in OPTIONS if place in option.places)
