"""Run Google's `edgetpu_compiler` (https://coral.ai/docs/edgetpu/compiler/) safely and read what it did.

Found via --edgetpu-compiler, $EDGEX_EDGETPU_COMPILER, or PATH. Always `-s` (print the operation table) and
`-o <staging folder>`: outputs land in a temporary folder inside the output folder and are renamed into place only
after the run succeeded, so a failed or killed compile leaves nothing behind and an existing file is replaced only
with --force. Never through a shell; the process group is killed when it outlives its timeout.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgex.artifacts import default_file_mode, refuse_overwrite, temp_prefix
from edgex.edgetpu.options import EdgeTPUOptions
from edgex.edgetpu.parser import CompilerReport, parse_output
from edgex.errors import ConversionError, EdgexError, MissingDependencyError, UsageError

EXECUTABLE = "edgetpu_compiler"
ENV_VAR = "EDGEX_EDGETPU_COMPILER"
GRACE_SECONDS = 10.0  # beyond the compiler's own -t timer, before edgex kills it
INSTALL_HINT = (
    "install Google's Edge TPU compiler (x86-64 Debian/Ubuntu only): add the Coral apt repository "
    "'deb https://packages.cloud.google.com/apt coral-edgetpu-stable main' and run "
    "'sudo apt-get install edgetpu-compiler' (https://coral.ai/docs/edgetpu/compiler/), "
    f"or point --edgetpu-compiler or ${ENV_VAR} at it"
)


def find_compiler(explicit: Path | None = None) -> Path:
    """The compiler to run: an explicit path or $EDGEX_EDGETPU_COMPILER must exist; else search PATH."""
    for origin, value in (("--edgetpu-compiler", explicit), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise UsageError(f"{origin} {path}: no such file", hint="give the path of the edgetpu_compiler executable")
        if not os.access(path, os.X_OK):
            raise UsageError(f"{origin} {path}: not executable", hint=f"chmod +x {path}")
        return path.absolute()  # it runs in a staging folder: a relative path would break
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise MissingDependencyError(
            f"compiling for the Edge TPU needs {EXECUTABLE}, which is not on PATH", INSTALL_HINT
        )
    return Path(found)


def compiled_names(stem: str, num_segments: int | None) -> list[str]:
    """What the compiler writes for `<stem>.tflite`: one model, or N segments for pipelining."""
    if num_segments and num_segments > 1:
        return [f"{stem}_segment_{i}_of_{num_segments}_edgetpu.tflite" for i in range(num_segments)]
    return [f"{stem}_edgetpu.tflite"]


def compiler_argv(compiler: Path, model: Path, out_dir: Path, options: EdgeTPUOptions) -> list[str]:
    argv = [str(compiler), "-s", "-o", str(out_dir)]
    if options.min_runtime is not None:
        argv += ["-m", str(options.min_runtime)]
    if options.num_segments is not None:
        argv += ["-n", str(options.num_segments)]
    if options.search_delegate:
        argv.append("-d")
        if options.delegate_search_step is not None:
            argv += ["-k", str(options.delegate_search_step)]
    argv += ["-t", str(math.ceil(options.timeout)), str(model)]
    return argv


@dataclass
class CompileRun:
    argv: list[str]
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    seconds: float
    report: CompilerReport
    outputs: list[Path] = field(default_factory=list)  # compiled models, in place
    log: Path | None = None  # the compiler's operation log, in place
    error: EdgexError | None = None

    @property
    def transcript(self) -> str:
        """What the compiler printed (for --debug and the JSON report)."""
        return "\n".join(part for part in (self.stdout.strip(), self.stderr.strip()) if part)


def run_process(argv: list[str], cwd: Path, limit: float) -> tuple[int | None, str, str, float]:
    """Run without a shell in its own process group; kill the group after `limit` seconds (returncode None)."""
    clock = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=limit)
        return process.returncode, stdout, stderr, time.perf_counter() - clock
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return None, stdout or "", stderr or "", time.perf_counter() - clock


def compile_model(
    compiler: Path, model: Path, out_dir: Path, options: EdgeTPUOptions, force: bool, grace: float = GRACE_SECONDS
) -> CompileRun:
    """Compile `model` into `out_dir`. Failures come back in CompileRun.error (the transcript stays readable)."""
    names = compiled_names(model.stem, options.num_segments)
    for name in names:
        refuse_overwrite(out_dir / name, force)
    staging = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=out_dir))
    try:
        argv = compiler_argv(compiler, model.resolve(), staging, options)
        try:
            code, stdout, stderr, seconds = run_process(argv, staging, options.timeout + grace)
        except OSError as exc:
            raise UsageError(f"cannot run {compiler}: {exc.strerror or exc}", hint="is it the compiler?") from None
        log_file = staging / f"{model.stem}_edgetpu.log"
        log_text = log_file.read_text(errors="replace") if log_file.exists() else None
        run = CompileRun(argv, code, stdout, stderr, seconds, parse_output(f"{stdout}\n{stderr}", log_text))
        run.error = _failure(run, [staging / name for name in names], options.timeout + grace)
        if run.error is None:
            run.outputs = [_publish(staging / name, out_dir) for name in names]
            run.log = _publish(log_file, out_dir) if log_file.exists() else None
        return run
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _failure(run: CompileRun, expected: list[Path], limit: float) -> EdgexError | None:
    """Success needs exit 0, no failure text and every output file: the exit code alone is not trusted."""
    if run.returncode is None:
        return ConversionError(
            f"{EXECUTABLE} did not finish within {limit:g} s and was stopped",
            hint="raise --edgetpu-timeout for large models",
            details=run.transcript,
        )
    missing = [path.name for path in expected if not path.is_file() or path.stat().st_size == 0]
    failure = run.report.failure
    if run.returncode == 0 and failure is None and not missing:
        return None
    reason = failure or (f"exit code {run.returncode}" if run.returncode else f"it wrote no {', '.join(missing)}")
    where = f" (exit code {run.returncode})" if run.returncode and failure else ""
    return ConversionError(f"{EXECUTABLE} failed: {reason}{where}", hint=_hint(run.report), details=run.transcript)


def _hint(report: CompilerReport) -> str:
    failure = report.failure or ""
    if "Didn't find op" in failure:
        return "the op version is newer than compiler 16.0 accepts: see 'edgex edgetpu check' for the op to change"
    if "not quantized" in failure:
        return "export with full int8 quantization (--to edgetpu does this)"
    if "dynamic-sized" in failure:
        return "export with a static batch (no --dynamic-batch)"
    return "re-run with --debug for the compiler's full output"


def _publish(path: Path, out_dir: Path) -> Path:
    final = out_dir / path.name
    os.chmod(path, default_file_mode(0o666))
    os.replace(path, final)
    return final
