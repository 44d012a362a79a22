"""The public Python API: `export`, `validate` and `inspect`, what the CLI commands call.

Models are paths or specs (as on the command line, 'demo' included) or in-memory objects: a `keras.Model`, or a
`torch.nn.Module` with `example_inputs=`. Data are specs or numpy arrays (a dict of arrays for several inputs).
In-memory things are saved into a scratch folder inside the output folder, converted from there as if given as
files, and removed afterwards. Keyword options are the option spec's names, the same as edgex.toml's keys and the
CLI's flags (`calibration_samples=`, `io_dtype=`, `min_cosine=`, `runs=`, ...), checked by the same rules; an
unknown one raises UsageError with a did-you-mean. Errors raise the typed
EdgexError subclasses of edgex.errors, never SystemExit. Importing this module imports no framework.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgex.errors import UsageError

if TYPE_CHECKING:
    from edgex.data.images import ImagePreprocess
    from edgex.data.providers import DataSpec
    from edgex.debugging import DebugReport
    from edgex.embedding import EmbeddedMetadata
    from edgex.exporters import ExportOptions
    from edgex.pipeline import ParityConfig
    from edgex.results import RunReport
    from edgex.sources import SourceOptions

__all__ = ["debug", "export", "inspect", "validate"]

Model = Any  # a path or spec (str / Path), a keras.Model, or a torch.nn.Module
Data = Any  # a spec (str / Path), a numpy array, or a dict of input name -> array
OnStep = Callable[[str], None]

# Keyword options are the option spec's names (edgex/options.py: the CLI's flags and edgex.toml's keys), plus these.
RUN_OPTIONS = {"debug": False, "on_step": None, "example_inputs": None}
REPORT_OPTIONS = ("report_json", "report_md", "junit", "report_html")
VALIDATE_ONLY = {"mode": None}
# Named parameters -> the option they stand for; offered by the did-you-mean of a misspelt keyword.
PARAMETERS = {
    "export": {"to": "targets", "quantize": "quantize", "calib": "calibration", "validate": "validation",
               "labels": "labels", "out": "out"},
    "validate": {"data": "validation", "labels": "labels"},
    "debug": {"data": "validation", "calib": "calibration"},
}


def export(
    model: Model,
    to: str | Sequence[str] = "tflite",
    quantize: str | Sequence[str] | None = None,
    calib: Data | None = None,
    validate: Data | None = None,
    labels: Data | None = None,
    out: str | Path = "dist",
    **options: Any,
) -> RunReport:
    """Convert `model` to each target x quantization mode in `out`, and prove parity when `validate` data is given.

    edgex.export("model.keras", to="tflite", quantize="int8", calib="calib/", validate="val.npz")
    edgex.export(module, example_inputs=(torch.zeros(1, 3, 32, 32),), to=["executorch", "tflite"])
    """
    from edgex.artifacts import prepare_output_dir, temp_prefix
    from edgex.exporting import ExportConfig, run_export

    chosen = _options(options, "export")
    _check_report_paths(chosen)
    out_dir = Path(out)
    targets = _with_backend(_names(to), chosen["backend"])
    needs_scratch = not _is_spec(model) or any(not _is_spec(data) for data in (calib, validate, labels))
    if needs_scratch:
        prepare_output_dir(out_dir)
    with _scratch(out_dir, temp_prefix(), needs_scratch) as scratch:
        saved = _Saved(scratch)
        source = saved.model(model, chosen["example_inputs"], chosen["name"])
        config = ExportConfig(
            source=source,
            targets=targets,
            modes=_names(quantize),
            out_dir=out_dir,
            force=chosen["force"],
            name=chosen["name"] or saved.model_name,
            source_options=_source_options(chosen),
            export_options=_export_options(chosen),
            calibration=_data_spec(saved.data(calib, "calib"), chosen["calibration_samples"], chosen),
            calibration_samples=chosen["calibration_samples"],
            parity=_parity(saved.data(validate, "validate"), saved.data(labels, "labels"), chosen),
            timeout=chosen["timeout"],
            route=chosen["route"],
            keep_intermediates=chosen["keep_intermediates"],
            keep_failed=chosen["keep_failed"],
            objective=chosen["objective"],
            debug=chosen["debug"],
        )
        report = run_export(config, chosen["on_step"] or _quiet)
    saved.describe(report)
    write_reports(report, **{key: chosen[key] for key in REPORT_OPTIONS})
    return report


def validate(
    reference: Model,
    artifacts: str | Path | Sequence[str | Path],
    data: Data | None = None,
    labels: Data | None = None,
    **options: Any,
) -> RunReport:
    """Run `reference` and each artifact on the same data and gate on parity (thresholds from each artifact's mode).

    edgex.validate("model.keras", "dist/model_int8.tflite", data="val.npz", labels="val_labels.npy")
    """
    from edgex.validation import ValidateConfig, run_validate

    chosen = _options(options, "validate")
    _check_report_paths(chosen)
    paths = [artifacts] if isinstance(artifacts, str | Path) else list(artifacts)
    needs_scratch = not _is_spec(reference) or any(not _is_spec(item) for item in (data, labels))
    # Named like a worker pool's temp folder: swept by the next run if this one is killed.
    with _scratch(Path(tempfile.gettempdir()), f"edgex-run-{os.getpid()}-validate-", needs_scratch) as scratch:
        saved = _Saved(scratch)
        config = ValidateConfig(
            source=saved.model(reference, chosen["example_inputs"], None),
            artifacts=tuple(str(path) for path in paths),
            mode=chosen["mode"],
            source_options=_source_options(chosen),
            parity=_parity(saved.data(data, "data"), saved.data(labels, "labels"), chosen),
            debug=chosen["debug"],
        )
        report = run_validate(config, chosen["on_step"] or _quiet)
    saved.describe(report)
    write_reports(report, **{key: chosen[key] for key in REPORT_OPTIONS})
    return report


def debug(
    source: Model,
    artifact: str | Path,
    data: Data | None = None,
    calib: Data | None = None,
    **options: Any,
) -> DebugReport:
    """Compare a quantized artifact with its float source layer by layer on `data`: per-layer SNR, cosine, max
    error and the error each layer adds, and the suspects (layers where the error jumps, worst first).

    edgex.debug("model.keras", "dist/model_int8.tflite", data="val.npz").suspects  # ['conv2d_3', ...]
    """
    import json

    from edgex.debugging import DebugConfig, run_debug

    chosen = _options(options, "debug")
    needs_scratch = not _is_spec(source) or any(not _is_spec(item) for item in (data, calib))
    with _scratch(Path(tempfile.gettempdir()), "edgex-debug-", needs_scratch) as scratch:
        saved = _Saved(scratch)
        config = DebugConfig(
            source=saved.model(source, chosen["example_inputs"], None),
            artifact=str(artifact),
            data=_data_spec(saved.data(data, "data"), chosen["validation_samples"], chosen),
            calibration=_data_spec(saved.data(calib, "calib"), chosen["calibration_samples"], chosen),
            source_options=_source_options(chosen),
            timeout=chosen["timeout"],
            debug=chosen["debug"],
        )
        report = run_debug(config, chosen["on_step"] or _quiet)
    if saved.model_label is not None:
        report.source = saved.model_label
    if chosen["report_json"] is not None:
        from edgex.report.files import write_text_atomic

        write_text_atomic(Path(chosen["report_json"]), json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def inspect(path: str | Path) -> dict[str, Any]:
    """What an artifact (.tflite, .pte) contains, read from the file: numbers as numbers, shapes as lists."""
    from edgex.inspection import inspect_path
    from edgex.report.serialize import to_jsonable

    result: dict[str, Any] = to_jsonable(inspect_path(Path(path)))
    return result


def write_reports(
    report: RunReport,
    report_json: str | Path | None = None,
    report_md: str | Path | None = None,
    junit: str | Path | None = None,
    report_html: str | Path | None = None,
) -> None:
    """Write the report files that were asked for (JSON, Markdown, JUnit XML, HTML with plots)."""
    from edgex.report.html import write_html
    from edgex.report.json_report import write_json
    from edgex.report.junit import write_junit
    from edgex.report.markdown import write_markdown

    for path, writer in ((report_json, write_json), (report_md, write_markdown), (junit, write_junit)):
        if path is not None:
            writer(report, Path(path))
    if report_html is not None:
        write_html(report, Path(report_html))


def _check_report_paths(chosen: dict[str, Any]) -> None:
    """Unwritable report paths are refused before any model loads, not after the run (exit 2)."""
    from edgex.report.files import check_report_paths

    check_report_paths({f"--{key.replace('_', '-')}": chosen[key] for key in REPORT_OPTIONS})


def _quiet(_message: str) -> None:
    """Default progress callback: the API prints nothing."""


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _options(given: Mapping[str, Any], command: str) -> dict[str, Any]:
    """`given` over the defaults of every option `command` knows, each checked by the spec's own check (the same
    one the CLI flag and the edgex.toml key use); an unknown keyword is a UsageError with a did-you-mean."""
    from edgex.options import options_for
    from edgex.suggest import did_you_mean

    spec = {option.name: option for option in options_for(command) if option.name not in PARAMETERS[command].values()}
    known = {**{name: option.default for name, option in spec.items()}, **RUN_OPTIONS}
    if command == "validate":
        known.update(VALIDATE_ONLY)
    chosen = dict(known)
    for key, value in given.items():
        if key not in known:
            hint = did_you_mean(key, [*known, *PARAMETERS[command]])
            raise UsageError(f"edgex.{command}() got an unknown option '{key}'", hint=hint)
        option = spec.get(key)
        if option is not None and value is not None and value != option.default and not isinstance(value, bool):
            value = _checked(option, value, command)
        chosen[key] = value
    return chosen


def _checked(option: Any, value: Any, command: str) -> Any:
    """A Python value through the option's check: lists for tuples, text for paths, each item for repeatables."""
    def one(item: Any) -> Any:
        item = str(item) if isinstance(item, Path) else list(item) if isinstance(item, tuple) else item
        return option.kind.file(item) if not isinstance(item, str) else option.kind.text(item)

    try:
        if option.multiple and isinstance(value, list | tuple):
            return tuple(one(item) for item in value)
        return one(value)
    except ValueError as exc:
        raise UsageError(f"edgex.{command}(): {option.name}: {exc}") from None


def _with_backend(targets: tuple[str, ...], backend: str | None) -> tuple[str, ...]:
    """`backend='portable'` with `to='executorch'` is the target 'executorch-portable'."""
    if backend is None:
        return targets
    from edgex.targets import get_target

    chosen = tuple(f"executorch-{backend}" if get_target(name).format == "pte" else name for name in targets)
    if chosen == targets and not any(name.startswith("executorch-") for name in targets):
        raise UsageError("--backend applies to ExecuTorch targets", hint="add --to executorch")
    return chosen


def _source_options(chosen: dict[str, Any]) -> SourceOptions:
    from edgex.sources import SourceOptions

    return SourceOptions(
        signature=chosen["signature"],
        input_shapes=tuple(tuple(shape) for shape in chosen["input_shapes"] or ()),
        input_dtypes=tuple(chosen["input_dtypes"] or ()),
        weights=Path(chosen["weights"]) if chosen["weights"] is not None else None,
        dynamic_dims=tuple(chosen.get("dynamic_dims") or ()),  # export only
        const_inputs=tuple(chosen.get("const_inputs") or ()),
    )


def _target_options(chosen: dict[str, Any]) -> dict[str, Any]:
    """Options only some targets read (each target's module checks its own), keyed as in edgex.toml."""
    from edgex.options import TARGET_OPTIONS, options_for

    given = {
        option.key: chosen[option.name]
        for option in options_for("export")
        if TARGET_OPTIONS in option.places and chosen[option.name] not in (None, False)
    }
    return {key: str(value) if isinstance(value, Path) else value for key, value in given.items()}


def _export_options(chosen: dict[str, Any]) -> ExportOptions:
    from edgex.exporters import ExportOptions

    return ExportOptions(
        io_dtype=chosen["io_dtype"],
        batch_size=None if chosen["dynamic_batch"] else chosen["batch_size"] or 1,
        channels_last_io=chosen["channels_last_io"],
        per_tensor=chosen["granularity"] == "per-tensor",
        target_options=_target_options(chosen),
        embedded=_embedded(chosen),
    )


def _embedded(chosen: dict[str, Any]) -> EmbeddedMetadata | None:
    """What goes inside the artifact: the class names (read from their file by the option's check) and the
    preprocessing, when either was given."""
    from edgex.embedding import EmbeddedMetadata

    names = tuple(chosen.get("class_names") or ())
    given = any(chosen.get(key) is not None for key in ("scale", "mean", "std", "channel_order"))
    if not names and not given:
        return None
    return EmbeddedMetadata(names, _preprocess(chosen))


def _preprocess(chosen: dict[str, Any]) -> ImagePreprocess:
    from edgex.data.images import ImagePreprocess

    defaults = ImagePreprocess()
    return ImagePreprocess(
        scale=chosen["scale"] if chosen["scale"] is not None else defaults.scale,
        mean=tuple(chosen["mean"]) if chosen["mean"] else defaults.mean,
        std=tuple(chosen["std"]) if chosen["std"] else defaults.std,
        channel_order=chosen["channel_order"] or defaults.channel_order,
    )


def _data_spec(spec: str | None, samples: int | None, chosen: dict[str, Any]) -> DataSpec | None:
    from edgex.data.providers import DataSpec

    return DataSpec(spec, samples, _preprocess(chosen)) if spec is not None else None


def _parity(data: str | None, labels: str | None, chosen: dict[str, Any]) -> ParityConfig:
    from edgex.parity.thresholds import Thresholds
    from edgex.pipeline import BenchConfig, ParityConfig

    return ParityConfig(
        validation=_data_spec(data, chosen["validation_samples"], chosen),
        labels=Path(labels) if labels is not None else None,
        class_output=chosen["class_output"],
        threshold_overrides={f.name: chosen[f.name] for f in fields(Thresholds) if chosen[f.name] is not None},
        bench=BenchConfig(threads=chosen["threads"], warmup=chosen["warmup"], runs=chosen["runs"]),
        metrics=tuple(chosen["metrics"] or ()),
        state=tuple(chosen["state"] or ()),
        validation_samples=chosen["validation_samples"],
    )


def _is_spec(value: Any) -> bool:
    return value is None or isinstance(value, str | Path)


@contextmanager
def _scratch(parent: Path, prefix: str, needed: bool) -> Iterator[Path | None]:
    """A folder for in-memory models and arrays, removed afterwards whatever happens."""
    if not needed:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}api-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class _Saved:
    """In-memory objects written to the scratch folder, and how the report should name them once it is gone."""

    scratch: Path | None
    model_name: str | None = None
    model_label: str | None = None
    data_labels: dict[str, str] | None = None

    def model(self, model: Model, example_inputs: Any, name: str | None) -> str:
        if _is_spec(model):
            return str(model)
        assert self.scratch is not None
        keras_model = _instance_of(model, "keras", "Model")
        torch_module = _instance_of(model, "torch", "nn.Module")
        if keras_model:
            stem = _stem(name or getattr(model, "name", None) or "model")
            path = self.scratch / f"{stem}.keras"
            model.save(path)
            self.model_label = f"keras.Model '{getattr(model, 'name', stem)}' (in memory)"
        elif torch_module:
            stem = _stem(name or type(model).__name__.lower())
            path = self.scratch / f"{stem}.pt2"
            _save_torch_export(model, example_inputs, path)
            self.model_label = f"torch.nn.Module {type(model).__name__} (in memory)"
        else:
            raise UsageError(
                f"model: cannot export a {type(model).__module__}.{type(model).__name__}",
                hint="pass a file path or spec, a keras.Model, or a torch.nn.Module with example_inputs=",
            )
        self.model_name = stem
        return str(path)

    def data(self, value: Data | None, purpose: str) -> str | None:
        """A spec as given; arrays saved as .npy (one input or labels) or .npz (input name -> array)."""
        if _is_spec(value):
            return None if value is None else str(value)
        import numpy as np

        assert self.scratch is not None
        if isinstance(value, Mapping):
            path = self.scratch / f"{purpose}.npz"
            # np.savez(path, **arrays) would take an input named 'allow_pickle' as its flag: write the members
            with zipfile.ZipFile(path, "w") as archive:
                for key, array in value.items():
                    with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asarray(array))
        else:
            try:
                array = np.asarray(value)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{purpose}: not a numpy array, a dict of arrays or a path ({exc})") from None
            if array.dtype == object:
                raise UsageError(f"{purpose}: not a numpy array, a dict of arrays or a path")
            path = self.scratch / f"{purpose}.npy"
            np.save(path, array)
        self.data_labels = {**(self.data_labels or {}), str(path): f"in-memory {purpose} array"}
        return str(path)

    def describe(self, report: RunReport) -> None:
        """Name in-memory inputs in the report, not the scratch files that no longer exist."""
        if self.model_label is not None:
            report.source.spec = self.model_label
            report.source.path = None
        for info in (report.calibration, report.validation):
            if info is not None and self.data_labels and info.origin in self.data_labels:
                info.origin = self.data_labels[info.origin]


def _instance_of(value: Any, package: str, dotted: str) -> bool:
    """isinstance against a framework class, without importing the framework (the caller has, if it is one)."""
    module = sys.modules.get(package)
    if module is None:
        return False
    cls: Any = module
    for part in dotted.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            return False
    return isinstance(value, cls)


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "model"


def _save_torch_export(module: Any, example_inputs: Any, path: Path) -> None:
    import torch

    if example_inputs is None:
        raise UsageError(
            f"exporting a torch.nn.Module ({type(module).__name__}) needs example inputs",
            hint="pass example_inputs=(torch.zeros(1, 3, 224, 224),), one tensor per forward() argument",
        )
    examples = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else tuple(example_inputs)
    try:
        program = torch.export.export(module.eval(), examples)
    except Exception as exc:  # noqa: BLE001 - torch.export raises many types; the user must see which
        from edgex.errors import ConversionError
        from edgex.workers import short_message

        raise ConversionError(
            f"torch.export of {type(module).__name__} failed: {short_message(exc)}",
            hint="check example_inputs match forward(); the module must be torch.export-able",
        ) from None
    torch.export.save(program, str(path))

