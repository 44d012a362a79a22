"""One build cell: model x target through the ordinary export API, in this process or in a child process.

A cell's outcome is plain JSON-able data (the edgex.report/1 dict, the artifacts with their I/O, the determinism
measurement), so it crosses process boundaries and is what the build caches.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgex.artifacts import sha256_tree, temp_prefix
from edgex.build.config import BuildSettings, Cell
from edgex.errors import EdgexError, ExitCode

STATE_FILE = ".edgex-cell.json"

if TYPE_CHECKING:
    from edgex.exporting import ExportConfig


@dataclass(frozen=True)
class CellJob:
    cell: Cell
    out_dir: Path  # the cell's own folder: <out>/<model>/<target>
    settings: BuildSettings
    force: bool
    overrides: dict[str, float] = field(default_factory=dict)  # thresholds from the command line
    check_determinism: bool = False
    reproduce_only: dict[str, str] | None = None  # up-to-date cell: artifact name -> sha256 to export again
    debug: bool = False


@dataclass
class CellOutcome:
    cell: str
    report: dict[str, Any] | None = None  # edgex.report/1
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # see edgex.build.manifest.describe_artifacts
    error: str | None = None  # the cell could not run at all (bad config for this pair, no route, ...)
    exit_code: int = 0
    error_details: str | None = None
    determinism: dict[str, Any] | None = None
    seconds: float = 0.0


def export_config(job: CellJob) -> ExportConfig:
    """The ExportConfig of `edgex export` with this cell's options (CLI threshold flags win over the file)."""
    from edgex.data.providers import DataSpec
    from edgex.embedding import EmbeddedMetadata
    from edgex.exporters import ExportOptions
    from edgex.exporting import ExportConfig
    from edgex.pipeline import BenchConfig, ParityConfig
    from edgex.sources import SourceOptions

    model, target, settings = job.cell.model, job.cell.target, job.settings
    prep = model.preprocessing
    parity = ParityConfig(
        validation=DataSpec(model.validation, model.validation_samples, prep) if model.validation else None,
        labels=model.labels,
        class_output=model.class_output,
        threshold_overrides={**model.thresholds, **target.thresholds, **job.overrides},
        bench=BenchConfig(threads=settings.threads, warmup=settings.warmup, runs=settings.runs),
        metrics=model.metrics,
        state=model.state,
    )
    return ExportConfig(
        source=model.source,
        targets=(target.target,),
        modes=target.modes,
        out_dir=job.out_dir,
        force=job.force,
        name=model.name,
        source_options=SourceOptions(
            signature=model.signature,
            input_shapes=model.input_shapes,
            input_dtypes=model.input_dtypes,
            weights=model.weights,
            dynamic_dims=model.dynamic_dims,
            const_inputs=model.const_inputs,
        ),
        export_options=ExportOptions(
            io_dtype=target.io_dtype,
            batch_size=target.batch_size,
            channels_last_io=target.channels_last_io,
            per_tensor=target.per_tensor,
            target_options=dict(target.options),
            embedded=EmbeddedMetadata(model.class_names, prep) if model.class_names else None,
        ),
        calibration=DataSpec(model.calibration, model.calibration_samples, prep) if model.calibration else None,
        parity=parity,
        timeout=target.timeout or settings.timeout,
        route=target.route,
        keep_intermediates=target.keep_intermediates,
        objective=target.objective,
        debug=job.debug,
    )


def _build(job: CellJob, on_step: Callable[[str], None]) -> CellOutcome:
    from edgex.build.manifest import describe_artifacts
    from edgex.exporting import run_export
    from edgex.report.json_report import report_dict

    clock = time.perf_counter()
    outcome = CellOutcome(job.cell.id)
    if job.reproduce_only is None:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        report = run_export(export_config(job), on_step)
        outcome.report = report_dict(report)
        outcome.artifacts = describe_artifacts(report, job.out_dir)
        expected = {entry["file"]: entry["sha256"] for entry in outcome.artifacts}
    else:
        expected = job.reproduce_only
    if job.check_determinism and expected:
        outcome.determinism = reproduce(job, expected, on_step)
    outcome.seconds = time.perf_counter() - clock
    return outcome


def reproduce(job: CellJob, expected: dict[str, str], on_step: Callable[[str], None]) -> dict[str, Any]:
    """Export the same inputs again, into a scratch folder, and compare every artifact's sha256 (no parity)."""
    from edgex.exporting import run_export
    from edgex.pipeline import ParityConfig

    on_step("exporting again to measure determinism")
    with tempfile.TemporaryDirectory(prefix=temp_prefix("repro-"), dir=job.out_dir) as scratch:
        config = replace(export_config(job), out_dir=Path(scratch), force=True, parity=ParityConfig())
        run_export(config, on_step)
        second = {name: sha256_tree(Path(scratch) / name) for name in expected if (Path(scratch) / name).exists()}
    return {
        "measured": True,
        "identical": all(second.get(name) == sha for name, sha in expected.items()),
        "artifacts": {name: {"first": sha, "second": second.get(name)} for name, sha in sorted(expected.items())},
    }


def execute(job: CellJob, on_step: Callable[[str], None]) -> CellOutcome:
    """Run a cell; every failure becomes part of its outcome so the rest of the matrix goes on."""
    clock = time.perf_counter()
    try:
        return _build(job, on_step)
    except EdgexError as exc:
        outcome = CellOutcome(job.cell.id, error=exc.one_line(), exit_code=int(exc.exit_code))
        outcome.error_details = exc.details
    except Exception as exc:  # noqa: BLE001 - one cell's bug must not stop the matrix
        outcome = CellOutcome(
            job.cell.id,
            error=f"internal error: {type(exc).__name__}: {exc} (a bug in edgex; re-run with --debug and report it)",
            exit_code=int(ExitCode.INTERNAL),
            error_details=traceback.format_exc(),
        )
    outcome.seconds = time.perf_counter() - clock
    return outcome


def execute_in_child(job: CellJob, messages: Any) -> CellOutcome:
    """Entry point in a spawned process: progress messages go back through a queue."""
    return execute(job, lambda message: messages.put((job.cell.id, message)))
