"""`edgex export`: convert a source to every requested target x quantization mode, then prove parity.

Named `exporting` so that the package attribute `edgex.export` stays the public API function (edgex/api.py)."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgex.artifacts import (
    inside,
    prepare_output_dir,
    refuse_overwrite,
    sha256_tree,
    size_bytes,
    staged_file,
    temp_prefix,
)
from edgex.data.inputs import InputSet, fed_whole
from edgex.data.providers import DataSpec, check_up_front, open_stream
from edgex.debugging import failure_summary
from edgex.embedding import check_class_count, embed
from edgex.errors import ConversionError, EdgexError, UsageError
from edgex.exporters import ConversionOutcome, ConversionRequest, ExportOptions
from edgex.parity.thresholds import thresholds_for
from edgex.pipeline import (
    ParityConfig,
    collect_versions,
    demo_for,
    demo_parity,
    describe_data,
    describe_source,
    load_validation,
    overlap_warning,
    with_data_shapes,
)
from edgex.progress import progress, reported
from edgex.quantize.layers import LayerResult, sensitivity_order
from edgex.quantize.recipes import AUTO, AUTO_FALLBACKS, AUTO_MAX_FLOAT_LAYERS, FLOAT, Recipe, get_recipe, parse_recipes
from edgex.results import ArtifactInfo, RowResult, RowStatus, RunReport
from edgex.routes import Route, all_routes, choose_route
from edgex.runnable import check_runs, unrunnable
from edgex.sources import SourceOptions, SourceRef, ensure_loadable, get_format, resolve_source
from edgex.sources.remote import RemoteRunner
from edgex.specs import ModelSignature
from edgex.targets import FinalizeOutcome, FinalizeRequest, Target, get_target
from edgex.validation import ParitySession, stateful_note
from edgex.workers import WorkerPool, import_target

DEFAULT_CALIBRATION_SAMPLES = 200
MIN_CALIBRATION_SAMPLES = 100  # below this a calibration set earns a warning
# "Slower than fp32" means by more than timing noise on a shared host: 10 % and 20 microseconds.
SLOWER_MARGIN, SLOWER_MIN_MS = 1.10, 0.02
CALIBRATION_HINT = (
    "pass --calib with an image folder, a .npy/.npz file or module:function "
    "(--calib random accepts unmeasured accuracy)"
)


@dataclass(frozen=True)
class ExportConfig:
    source: str
    targets: tuple[str, ...] = ("tflite",)
    modes: tuple[str, ...] = ()  # empty: each target's default mode
    out_dir: Path = Path("dist")
    force: bool = False
    name: str | None = None  # artifact stem; default: the source's stem
    source_options: SourceOptions = field(default_factory=SourceOptions)
    export_options: ExportOptions = field(default_factory=ExportOptions)
    calibration: DataSpec | None = None
    calibration_samples: int | None = None  # --calib-samples, kept for data that comes later (the demo's)
    parity: ParityConfig = field(default_factory=ParityConfig)
    timeout: float = 1200.0
    route: str | None = None  # forced route, 'keras>onnx>torch-export>pte'
    keep_intermediates: bool = False
    keep_failed: bool = False  # keep an artifact its runtime cannot run (edgex/runnable.py)
    objective: str = "latency"  # -q auto: 'latency' refuses artifacts slower than fp32; 'size' does not
    debug: bool = False


@dataclass(frozen=True)
class ExportJob:
    target: Target
    mode: Recipe
    route: Route
    path: Path
    options: ExportOptions
    fallbacks: tuple[Route, ...] = ()  # tried in order when `route` fails (none when --route forces one)
    keep_float: tuple[str, ...] = ()  # -q auto: source layers left in float
    gate: Recipe | None = None  # whose default thresholds apply (-q auto: auto's, whatever it tries); None: `mode`


def _usable(route: Route, recipe: Recipe, options: ExportOptions) -> bool:
    """Whether a route can make this recipe with these options (its hops' own parent-side checks pass)."""
    converter = route.hops[-1]
    if route.missing or recipe.name not in converter.recipes:
        return False
    try:
        for hop in route.hops:
            if hop.check_options is not None:
                hop.check_options(recipe if hop is converter else get_recipe(FLOAT), options)
    except UsageError:
        return False
    return True


def plan_jobs(config: ExportConfig, ref: SourceRef) -> list[ExportJob]:
    """Every target x mode, validated before any slow work starts."""
    stem = config.name or ref.stem
    jobs: list[ExportJob] = []
    for target_name in config.targets:
        target = get_target(target_name)
        route = choose_route(ref.format, target.format, config.route)
        converter = route.hops[-1]
        options = target.adjust_options(config.export_options) if target.adjust_options else config.export_options
        supported = tuple(name for name in target.recipes if name in converter.recipes)
        if options.per_tensor and not converter.per_tensor:
            raise UsageError(
                f"--granularity per-tensor is not supported by {converter.name} ({route.describe()})",
                hint="TFLiteConverter (Keras, SavedModel) and ExecuTorch honour it",
            )
        for mode in parse_recipes(config.modes or (target.default_recipe,), supported, target.name):
            for hop in route.hops:
                if hop.check_options is not None:
                    hop.check_options(mode if hop is converter else get_recipe(FLOAT), options)
            path = _confined(config.out_dir, target.artifact_path(config.out_dir, stem, mode))
            clash = next((job for job in jobs if job.path == path), None)
            if clash is not None:
                raise UsageError(
                    f"{clash.target.name} {clash.mode.name} and {target.name} {mode.name} would both write {path}",
                    hint="export them in separate runs with different --out folders",
                )
            fallbacks = () if config.route else tuple(
                other
                for other in all_routes(ref.format, target.format)
                if other != route and _usable(other, mode, options)
            )
            jobs.append(ExportJob(target, mode, route, path, options, fallbacks))
    return jobs


def _confined(out_dir: Path, path: Path) -> Path:
    """An artifact or companion path, refused (exit 2) if a name like '../x' or '/x' takes it out of --out."""
    relative = path.relative_to(out_dir) if path.is_relative_to(out_dir) else path
    inside(out_dir, relative, "artifact")
    return path


def with_demo_defaults(config: ExportConfig) -> tuple[ExportConfig, list[str]]:
    demo = demo_for(config.source)
    if demo is None:
        return config, []
    calibration = config.calibration or DataSpec(str(demo.calibration), config.calibration_samples)
    parity = demo_parity(config.parity, demo)
    name = config.name or demo.stem
    note = f"demo model: {demo.description}; bundled calibration and held-out data used unless given"
    return replace(config, calibration=calibration, parity=parity, name=name), [note]


def run_export(config: ExportConfig, on_step: Callable[[str], None] = lambda _: None) -> RunReport:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    config, notes = with_demo_defaults(config)
    data = config.calibration or config.parity.validation
    ref = resolve_source(config.source, with_data_shapes(config.source_options, data))
    ensure_loadable(ref)
    jobs = plan_jobs(config, ref)
    needs_calibration = any(job.mode.needs_calibration for job in jobs)
    if needs_calibration and config.calibration is None:
        modes = ", ".join(sorted({job.mode.name for job in jobs if job.mode.needs_calibration}))
        raise UsageError(f"--quantize {modes} needs calibration data", hint=CALIBRATION_HINT)
    if any(job.mode.name == AUTO for job in jobs) and config.parity.validation is None:
        raise UsageError("-q auto needs validation data to choose between candidates", hint="pass --validate")
    check_up_front(config.calibration if needs_calibration else None, "calibration")
    check_up_front(config.parity.validation, "validation", config.parity.labels)
    prepare_output_dir(config.out_dir)
    warnings: list[str] = []
    for job in jobs:
        refuse_overwrite(job.path, config.force)
        for companion in job.target.companion_outputs(job.path) if job.target.companion_outputs else []:
            refuse_overwrite(_confined(config.out_dir, companion), config.force)
        for fmt in job.route.formats[1:-1] if config.keep_intermediates else []:
            refuse_overwrite(_confined(config.out_dir, intermediate_path(config, job, fmt)), config.force)

    bench = config.parity.bench
    # Closing the pool sweeps what its workers left in --out (onnx2tf's folder) once they are gone.
    pool = WorkerPool(threads=bench.threads, debug=config.debug, timeout=config.timeout, scratch=config.out_dir)
    with pool:
        validating = config.parity.validation is not None
        # Without validation only the signature is needed: read it in the converter's worker, saving an import.
        reference = RemoteRunner(pool, ref, threads=bench.threads, shared=not validating)
        converter_kinds = {hop.worker for job in jobs for hop in job.route.hops}
        for kind in converter_kinds:
            pool.shared(kind)  # start now: framework imports overlap with loading the reference
        on_step(f"loading {ref.spec}")
        info = reference.load()
        warnings += [f"{ref.spec}: {note}" for note in info.notes]
        embedded = config.export_options.embedded
        if embedded is not None and embedded.class_names and info.signature is not None:
            check_class_count(embedded.class_names, [(s.name, s.shape) for s in info.signature.outputs])
        if not validating:
            reference.close()
        calibration = _load_calibration(pool, config, jobs, info.signature)
        validation = load_validation(config.parity, info.signature)
        warnings += [n for data in (calibration, validation) if data for n in data.notes]
        if calibration is not None and len(calibration) < MIN_CALIBRATION_SAMPLES:
            warnings.append(
                f"calibration set has {len(calibration)} samples: int8 ranges from fewer than "
                f"{MIN_CALIBRATION_SAMPLES} are often unrepresentative; calibrate on more (--calib, --calib-samples)"
            )
        overlap = overlap_warning(calibration, validation)
        if overlap:
            warnings.append(overlap)
        session = (
            ParitySession(pool, reference, validation, bench, config.parity.class_output, config.parity.metrics,
                          config.parity.state)
            if validation
            else None
        )
        if session is not None:
            session.start()  # before converting: labels that do not fit the model fail the run
        shapes = _data_shapes(calibration or validation, config.export_options.batch_size, info.signature)
        rows = [_export_one(pool, job, ref, calibration, shapes, config, session, on_step) for job in jobs]
        flag_slower_than_float(rows)
        calibration_info = describe_data(calibration)  # while its spooled files exist (the pool's temp folder)
        versions = collect_versions(pool, converter_kinds)
        versions.update(reference.versions())
        if session is not None:
            versions.update(session.runtime_versions)
    return RunReport(
        command="export",
        source=describe_source(ref, info),
        rows=rows,
        calibration=calibration_info,
        validation=describe_data(validation),
        versions=versions,
        notes=notes,
        warnings=warnings,
        threads=bench.threads,
        started=started,
        seconds=time.perf_counter() - clock,
    )


def _load_calibration(
    pool: WorkerPool, config: ExportConfig, jobs: list[ExportJob], signature: ModelSignature
) -> InputSet | None:
    """The calibration set spooled to the pool's temp folder: bounded memory however many samples."""
    if config.calibration is None or not any(job.mode.needs_calibration for job in jobs):
        return None
    spec = config.calibration
    if spec.samples is None:
        spec = replace(spec, samples=DEFAULT_CALIBRATION_SAMPLES)
    stream = open_stream(spec, signature, "calibration")
    with progress("reading calibration data", len(stream)) as advance:
        return stream.spool(Path(pool.temp_dir()) / "calibration", advance)


def _export_one(
    pool: WorkerPool,
    job: ExportJob,
    ref: SourceRef,
    calibration: InputSet | None,
    shapes: dict[str, tuple[int, ...]],
    config: ExportConfig,
    session: ParitySession | None,
    on_step: Callable[[str], None],
) -> RowResult:
    if job.mode.name == AUTO:
        return _export_auto(pool, job, ref, calibration, shapes, config, session, on_step)
    label = f"{job.target.name} {job.mode.name}"
    row = RowResult(target=job.target.name, mode=job.mode.name, status=RowStatus.EXPORTED, route=job.route.describe())
    clock = time.perf_counter()
    attempts: list[dict[str, str]] = []
    errors: list[EdgexError] = []
    outcome: ConversionOutcome | None = None
    for route in (job.route, *job.fallbacks):
        if attempts:
            on_step(f"{label}: {attempts[-1]['route']} failed; trying {route.describe()}")
        try:
            with staged_file(job.path, config.force) as temp_path:
                outcome = _convert_route(pool, job, route, ref, calibration, shapes, config, temp_path, on_step)
        except EdgexError as exc:  # row-scoped: a route's failure stays on its row; the exit code summarises
            attempts.append({"route": route.describe(), "error": exc.one_line()})
            errors.append(exc)
            continue
        row.route = route.describe()
        break
    if outcome is None:
        row.details["attempts"] = attempts
        return _failed(row, errors[0] if len(errors) == 1 else _all_routes_failed(attempts, errors[0]))
    if attempts:
        row.details["attempts"] = attempts
        row.notes.append(
            "fallback: " + "; ".join(f"{a['route']} failed ({a['error']})" for a in attempts) + f"; used {row.route}"
        )
    try:
        outcome.notes.extend(embed(job.path, job.target.format, job.options.embedded))
    except EdgexError as exc:
        return _failed(row, exc)
    row.export_seconds = time.perf_counter() - clock
    row.notes.extend(outcome.notes)
    row.details.update(outcome.details)
    row.sections.extend(outcome.sections)
    row.checks.extend(outcome.checks)
    row.artifact = _artifact_info(job.path, job.target.format)
    finalized = _finalize(job, ref, config, on_step)
    row.notes.extend(finalized.notes)
    row.sections.extend(finalized.sections)
    row.details.update(finalized.details)
    row.checks.extend(finalized.checks)
    row.extra_artifacts = [_artifact_info(path, job.target.format) for path in finalized.extra_artifacts]
    if finalized.error is not None:
        _failed(row, finalized.error)
        if not finalized.validate_anyway:
            return row
    validate_path = finalized.validate_path or job.path
    artifact = SourceRef(
        spec=str(validate_path), format=finalized.validate_format or job.target.format, path=validate_path
    )
    if session is None:
        on_step(f"{label}: running once")
        try:
            check_runs(pool, artifact, config.parity.bench.threads, config.timeout)
        except ConversionError as exc:
            return _unrunnable(row, validate_path, exc, config.keep_failed)
        except EdgexError as exc:  # e.g. its runtime is not installed here: said, not fatal to the export
            row.notes.append(f"not run once: {exc.one_line()}")
        if row.status is RowStatus.EXPORTED and row.failed_checks:
            row.status = RowStatus.PARITY_FAILED
        return row
    on_step(f"{label}: validating")
    try:
        gate = (job.gate or job.mode).thresholds
        parity, info = session.check(artifact, thresholds_for(gate, config.parity.threshold_overrides))
    except ConversionError as exc:  # the runtime could not load or run it (edgex/runnable.py)
        return _unrunnable(row, validate_path, exc, config.keep_failed)
    except EdgexError as exc:  # row-scoped: the other rows still run; the exit code summarises them
        return _failed(row, exc)
    row.parity = parity
    row.runtime = info.runtime
    row.notes.extend(info.notes)
    if parity.state:
        row.notes.append(stateful_note(parity))
    if row.status is not RowStatus.EXPORT_FAILED:
        row.status = RowStatus.PARITY_FAILED if row.failed_checks else RowStatus.PASSED
    if row.status is RowStatus.PARITY_FAILED and job.mode.name == "int8" and not job.keep_float:
        on_step(f"{label}: comparing layers")
        found = failure_summary(pool, ref, artifact, calibration, session.debug_inputs(), config.timeout)
        if found is not None:
            row.notes.append(found[0])
            row.details["layer_debug"] = found[1]
    return row


def _export_auto(
    pool: WorkerPool,
    job: ExportJob,
    ref: SourceRef,
    calibration: InputSet | None,
    shapes: dict[str, tuple[int, ...]],
    config: ExportConfig,
    session: ParitySession | None,
    on_step: Callable[[str], None],
) -> RowResult:
    """-q auto: full int8; if it fails the thresholds, int8 with the most sensitive layers kept float (1, 2, ...
    of the ranking the layer comparison of the full-int8 artifact gives); then int16x8 / fp16 / fp32, whichever
    the route makes. Every candidate is gated by auto's thresholds on the validation data and the first that
    passes wins; with --objective latency (the default) one slower than fp32 on this host does not. The
    candidates follow from the data alone: only the latency objective depends on timings."""
    assert session is not None  # run_export refuses -q auto without validation data
    clock = time.perf_counter()
    supported = [name for name in job.route.hops[-1].recipes if name in job.target.recipes]
    tried: list[tuple[RowResult, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix=temp_prefix("auto-"), dir=config.out_dir) as work:

        def attempt(recipe: str, keep_float: tuple[str, ...] = ()) -> RowResult:
            path = Path(work) / str(len(tried)) / job.path.name
            path.parent.mkdir()
            candidate = replace(job, mode=get_recipe(recipe), keep_float=keep_float, gate=job.mode, path=path)
            if keep_float:  # layer names are the source's: another route's converter would not know them
                candidate = replace(candidate, fallbacks=())
            floats = f" with {', '.join(keep_float)} in float" if keep_float else ""
            on_step(f"{job.target.name} auto: trying {recipe}{floats}")
            row = _export_one(pool, candidate, ref, calibration, shapes, config, session, on_step)
            tried.append((row, _attempt_record(recipe, keep_float, row)))
            return row

        def record_of(row: RowResult) -> dict[str, Any]:
            return next(record for candidate, record in tried if candidate is row)

        def fp32() -> RowResult:
            found = next((row for row, record in tried if record["recipe"] == FLOAT), None)
            return found or attempt(FLOAT)

        def acceptable(row: RowResult) -> bool:
            if row.status is not RowStatus.PASSED:
                return False
            if config.objective == "size" or row.mode == FLOAT:
                return True
            slower = _slower(row, fp32())
            if slower:
                record_of(row)["slower_than_fp32"] = True
            return not slower

        chosen: RowResult | None = None
        if "dynamic" in supported and _linear_dominated(pool, job, ref, config):  # transformers, RNNs
            linear = attempt("dynamic")
            chosen = linear if acceptable(linear) else None
        full = attempt("int8") if chosen is None else chosen
        chosen = chosen or (full if acceptable(full) else None)
        debug = full.details.get("layer_debug")
        ranking = sensitivity_order([LayerResult(**layer) for layer in debug["layers"]]) if debug else []
        for count in range(1, min(AUTO_MAX_FLOAT_LAYERS, len(ranking)) + 1):
            if chosen is not None:
                break
            row = attempt("int8", tuple(ranking[:count]))
            chosen = row if acceptable(row) else None
        for recipe in (name for name in AUTO_FALLBACKS if name in supported):
            if chosen is not None:
                break
            row = fp32() if recipe == FLOAT else attempt(recipe)
            chosen = row if acceptable(row) else None
        final = chosen or full
        source_path = Path(final.artifact.path) if final.artifact else None
        if source_path is not None and source_path.exists():
            os.replace(source_path, job.path)
            final.artifact = _artifact_info(job.path, job.target.format)
        kept = list(record_of(final)["kept_float"])
        final.quantization = {
            "requested": AUTO,
            "chosen": record_of(final)["recipe"],
            "kept_float": kept,
            "attempts": [record for _, record in tried],
        }
    final.mode = AUTO
    final.export_seconds = time.perf_counter() - clock
    final.notes.insert(0, _auto_note(final, full, kept, chosen is not None))
    return final


def _linear_dominated(pool: WorkerPool, job: ExportJob, ref: SourceRef, config: ExportConfig) -> bool:
    """Whether the source is transformer/RNN-shaped (edgex/quantize/linear.py), when the converter loads it
    itself: -q auto then tries the Linear-layer int8 form first."""
    if len(job.route.hops) != 1:
        return False
    try:
        found: bool | None = pool.shared(job.route.hops[0].worker).call(
            "edgex.quantize.linear:linear_dominated_source", ref, what="counting Linear weights", timeout=config.timeout
        )
    except EdgexError:
        return False  # the conversion attempts will report what is wrong with the source
    return bool(found)


def _attempt_record(recipe: str, keep_float: tuple[str, ...], row: RowResult) -> dict[str, Any]:
    """One -q auto candidate for the JSON: what it was, whether it passed, its size, latency and agreement."""
    parity = row.parity
    headline = parity.headline() if parity is not None else None
    latency = parity.exported_latency if parity is not None else None
    return {
        "recipe": recipe,
        "kept_float": list(keep_float),
        "status": str(row.status),
        "size_bytes": row.artifact.size_bytes if row.artifact else None,
        "latency_ms": latency.median_ms if latency else None,
        "cosine": headline.cosine if headline else None,
        "top1_agreement": headline.top1_agreement if headline else None,
        "failed": [check.describe() for check in row.failed_checks] or ([row.error] if row.error else []),
    }


def _latency(row: RowResult) -> float | None:
    latency = row.parity.exported_latency if row.parity is not None else None
    return latency.median_ms if latency is not None else None


def _slower(row: RowResult, fp32: RowResult) -> bool:
    """Slower than the fp32 artifact on this host, beyond timing noise."""
    mine, reference = _latency(row), _latency(fp32)
    return mine is not None and reference is not None and _is_slower(mine, reference)


def _is_slower(mine: float, reference: float) -> bool:
    return mine > reference * SLOWER_MARGIN and mine - reference > SLOWER_MIN_MS


def _auto_note(final: RowResult, full: RowResult, kept: list[str], passed: bool) -> str:
    chosen = (final.quantization or {}).get("chosen")
    if not passed:
        return "auto: nothing passed the thresholds (see quantization.attempts); kept the full int8 artifact"
    if chosen == "dynamic":
        return "auto: Linear layers hold most weights; dynamic int8 on them passed"
    if final is full:
        return "auto: full int8 passed"
    if chosen != "int8":
        return f"auto: no int8 variant passed; fell back to {chosen}"
    cost = ""
    if final.artifact and full.artifact:
        grown = final.artifact.size_bytes - full.artifact.size_bytes
        cost = f"; vs full int8: {grown / 1024:+.1f} KB ({grown / full.artifact.size_bytes:+.0%})"
    mine, before = _latency(final), _latency(full)
    if mine is not None and before is not None:
        cost += f", latency {mine:.3f} ms vs {before:.3f} ms"
    return f"auto: int8 with {', '.join(kept)} kept float{cost}"


def flag_slower_than_float(rows: list[RowResult]) -> None:
    """Mark quantized rows slower than the fp32 artifact of their target on this host (else than the float
    reference): int8 that does not speed anything up is worth knowing about."""
    for row in rows:
        if row.mode == FLOAT or row.parity is None or _latency(row) is None:
            continue
        fp32 = next((r for r in rows if r.target == row.target and r.mode == FLOAT and _latency(r) is not None), None)
        if fp32 is not None:
            baseline, what = _latency(fp32), "the fp32 artifact"
        elif row.parity.reference_latency is not None:
            baseline, what = row.parity.reference_latency.median_ms, "the float reference"
        else:
            continue
        mine = _latency(row)
        assert mine is not None and baseline is not None
        if _is_slower(mine, baseline):
            row.details["slower_than_float"] = {"latency_ms": mine, "float_latency_ms": baseline, "against": what}
            row.notes.append(f"slower than {what} on this host ({mine:.3f} ms vs {baseline:.3f} ms)")


def intermediate_path(config: ExportConfig, job: ExportJob, fmt: str) -> Path:
    """Where --keep-intermediates puts a route's intermediate model: named after the job's artifact."""
    return config.out_dir / f"{job.path.stem}.intermediate{get_format(fmt).extension}"


def _convert_route(
    pool: WorkerPool,
    job: ExportJob,
    route: Route,
    ref: SourceRef,
    calibration: InputSet | None,
    shapes: dict[str, tuple[int, ...]],
    config: ExportConfig,
    output: Path,
    on_step: Callable[[str], None],
) -> ConversionOutcome:
    """Run every hop of the job's route; intermediates are float32 files in a temporary folder."""
    label = f"{job.target.name} {job.mode.name}"
    merged = ConversionOutcome()
    current = ref
    with tempfile.TemporaryDirectory(prefix=temp_prefix("route-"), dir=output.parent) as work:
        for index, hop in enumerate(route.hops):
            last = index == len(route.hops) - 1
            on_step(f"{label}: converting ({hop.name})")
            target = output if last else Path(work) / f"{job.path.stem}{get_format(hop.produces).extension}"
            request = ConversionRequest(
                source=current,
                output=target,
                mode=job.mode if last else get_recipe(FLOAT),
                # Given to every last hop, not only integer modes: converters that build all their variants in one
                # run (onnx2tf) then need just one run.
                calibration=calibration.arrays if last and calibration is not None else None,
                data_shapes=shapes,
                options=job.options if last else replace(job.options, channels_last_io=False),
                settings=dict(job.target.settings) if last else {},
                keep_repaired=(
                    config.out_dir / f"{job.path.stem}.{hop.name}-repaired.onnx"
                    if config.keep_intermediates and current.format == "onnx"
                    else None
                ),
                keep_float=job.keep_float if last else (),
            )
            with reported(f"calibrating {label}") as calibrated:
                outcome: ConversionOutcome = pool.shared(hop.worker).call(
                    hop.function,
                    request,
                    what=f"converting to {label} ({hop.name})",
                    failure=ConversionError,
                    timeout=config.timeout,
                    on_progress=calibrated,
                )
            merged.notes.extend(outcome.notes if last else [f"{hop.name}: {note}" for note in outcome.notes])
            merged.details.update(outcome.details)
            merged.sections.extend(outcome.sections)
            merged.checks.extend(outcome.checks)
            if not last:
                if config.keep_intermediates:
                    kept = intermediate_path(config, job, hop.produces)
                    shutil.copyfile(target, kept)
                    merged.notes.append(f"intermediate kept: {kept.name}")
                current = SourceRef(
                    spec=str(target),
                    format=hop.produces,
                    path=target,
                    options=SourceOptions(dynamic_dims=ref.options.dynamic_dims),
                )
    return merged


def _artifact_info(path: Path, artifact_format: str) -> ArtifactInfo:
    return ArtifactInfo(str(path), artifact_format, size_bytes(path), sha256_tree(path))


def _finalize(job: ExportJob, ref: SourceRef, config: ExportConfig, on_step: Callable[[str], None]) -> FinalizeOutcome:
    """The target's post-conversion step (e.g. an accelerator compiler), if it has one."""
    if job.target.finalize is None:
        return FinalizeOutcome()
    request = FinalizeRequest(job.target, ref, job.path, config.out_dir, config.force, job.options, on_step)
    # A 'module:function' string resolves to Any: the annotation is where its declared type is restored, as at
    # every import_target call and worker result.
    finalize: Callable[[FinalizeRequest], FinalizeOutcome] = import_target(job.target.finalize)
    return finalize(request)


def _data_shapes(
    data: InputSet | None, batch_size: int | None, signature: ModelSignature
) -> dict[str, tuple[int, ...]]:
    """Each input's shape as the data gives it, at the artifact's static batch: what converters use to make
    dynamic dimensions (a detector's height and width, an audio model's length) static. Inputs stored per
    sample in the model's full shape (a state batched on axis 1) keep that shape."""
    if data is None:
        return {}
    return {
        spec.name: tuple(array.shape[1:]) if fed_whole(spec, array) else (batch_size or 1, *array.shape[1:])
        for spec in signature.inputs
        for array in [data.arrays[spec.name]]
    }


def _all_routes_failed(attempts: list[dict[str, str]], first: EdgexError) -> EdgexError:
    """Every route failed: the preferred route's error leads (and sets the exit code); the others follow."""
    others = "; ".join(f"{a['route']}: {a['error']}" for a in attempts[1:])
    error = copy.copy(first)
    error.message = f"{first.message} (also failed: {len(attempts) - 1} fallback route(s))"
    error.hint = f"fallbacks tried: {others}"
    return error


def _unrunnable(row: RowResult, path: Path, exc: ConversionError, keep: bool) -> RowResult:
    error, facts = unrunnable(path, exc, keep)
    row.details["unrunnable"] = facts
    if not keep:
        row.artifact = None
    return _failed(row, error)


def _failed(row: RowResult, exc: EdgexError) -> RowResult:
    row.status = RowStatus.EXPORT_FAILED
    row.error = exc.one_line()
    row.error_exit_code = int(exc.exit_code)
    row.error_details = exc.details
    return row
