"""`--to edgetpu` after the int8 model is written: pre-flight, compile, parse, gate, and choose what parity runs on."""

from __future__ import annotations

from pathlib import Path

from edgex.edgetpu.compiler import CompileRun, compile_model, find_compiler
from edgex.edgetpu.ops import DEFAULT_MIN_RUNTIME
from edgex.edgetpu.options import EdgeTPUOptions
from edgex.edgetpu.parser import CompilerReport, format_bytes
from edgex.edgetpu.preflight import Preflight, check_model
from edgex.edgetpu.runtime import tpu_status
from edgex.errors import EdgexError
from edgex.parity.compare import Check
from edgex.results import ReportSection
from edgex.targets import FinalizeOutcome, FinalizeRequest


def finalize(request: FinalizeRequest) -> FinalizeOutcome:
    options = EdgeTPUOptions.from_mapping(request.options.target_options)
    request.on_step("edgetpu: pre-flight check")
    preflight = check_model(request.artifact, options.min_runtime or DEFAULT_MIN_RUNTIME)
    outcome = FinalizeOutcome(sections=[preflight.section()], details={"edgetpu": {"preflight": preflight.as_dict()}})
    cpu_note = _cpu_parity_note(request.artifact)
    try:
        compiler = find_compiler(options.compiler_path)
        request.on_step(f"edgetpu: compiling with {compiler}")
        run = compile_model(compiler, request.artifact, request.out_dir, options, request.force)
    except EdgexError as exc:  # no compiler (exit 4), a compiled model already there without --force, ...
        return _failed(outcome, exc, cpu_note)
    outcome.details["edgetpu"]["compiler"] = _run_details(run)
    if run.report.operators or run.report.version:
        outcome.sections.append(compiler_section(run.report))
    if run.error is not None:
        return _failed(outcome, run.error, cpu_note)
    outcome.extra_artifacts = list(run.outputs)
    outcome.notes.extend(_mapping_notes(preflight, run.report))
    gate = _gate(run.report, options.min_tpu_ops)
    if gate is not None:
        outcome.checks.append(gate)
    usable, reason = tpu_status()
    if usable and len(run.outputs) == 1:
        outcome.validate_path = run.outputs[0]
        outcome.notes.append(f"parity and latency on the Edge TPU ({reason})")
    else:
        why = "segments run as a pipeline" if len(run.outputs) > 1 else reason
        outcome.notes.append(f"Edge TPU latency not measured ({why}): parity ran on {request.artifact.name} on the CPU")
    return outcome


def _failed(outcome: FinalizeOutcome, error: EdgexError, note: str) -> FinalizeOutcome:
    """The row fails with `error`; parity still runs on the int8 model, and the last table says so."""
    outcome.error = error
    outcome.notes.append(note)
    outcome.sections[-1].notes.append(note)
    return outcome


def _cpu_parity_note(artifact: Path) -> str:
    return f"Edge TPU latency not measured: parity ran on {artifact.name} on the CPU"


def _gate(report: CompilerReport, min_percent: float | None) -> Check | None:
    """--min-tpu-ops: a failed gate shows as ✗ and exits 1, like a failed parity check."""
    percent = report.percent_on_tpu
    if min_percent is None or percent is None:
        return None
    return Check("tpu_ops", None, percent, min_percent, ">=", percent >= min_percent, "%")


def _mapping_notes(preflight: Preflight, report: CompilerReport) -> list[str]:
    notes = []
    tpu, cpu = report.tpu_ops, report.cpu_ops
    if tpu is not None and cpu is not None and cpu > 0:
        notes.append(f"warning: only {tpu} of {tpu + cpu} ops on the Edge TPU")
    if report.tpu_ops is not None and report.tpu_ops != preflight.tpu_ops:
        notes.append(
            f"pre-flight predicted {preflight.tpu_ops} ops on the Edge TPU; the compiler mapped {report.tpu_ops}"
        )
    return notes


def compiler_section(report: CompilerReport) -> ReportSection:
    """The compiler's operation table with its memory and subgraph figures."""
    rows = [[row.op, str(row.count), row.status] for row in sorted(report.operators, key=lambda r: (r.op, r.status))]
    notes = [f"Edge TPU Compiler version {report.version or 'unknown'}"]
    tpu, cpu, percent = report.tpu_ops, report.cpu_ops, report.percent_on_tpu
    if tpu is not None and cpu is not None and percent is not None:
        notes.append(
            f"{tpu}/{tpu + cpu} ops on the Edge TPU ({percent:.1f}%), "
            f"{report.subgraphs if report.subgraphs is not None else '?'} Edge TPU subgraph(s)"
        )
    if report.on_chip_used_bytes is not None:
        memory = (
            f"on-chip parameter cache {format_bytes(report.on_chip_used_bytes)} used, "
            f"{format_bytes(report.on_chip_remaining_bytes or 0)} free; "
            f"off-chip streamed {format_bytes(report.off_chip_bytes or 0)}"
        )
        notes.append(memory)
    if report.failure:
        notes.append(f"failure: {report.failure}")
    return ReportSection("edgetpu_compiler operation table", ["operator", "count", "status"], rows, notes)


def _run_details(run: CompileRun) -> dict[str, object]:
    return {
        "argv": run.argv,
        "returncode": run.returncode,
        "seconds": round(run.seconds, 3),
        "outputs": [str(path) for path in run.outputs],
        "log": str(run.log) if run.log else None,
        "report": run.report.as_dict(),
        "error": run.error.one_line() if run.error else None,
    }
