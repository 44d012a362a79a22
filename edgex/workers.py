"""Framework work runs in child processes, one per framework family (and one per model under test).

Why: importing tensorflow before executorch or litert_torch segfaults the process (shared/STACK.md); a converter
crash must not take the CLI down; a timeout needs a process to kill; and a model's peak memory is only meaningful
in a process that loaded nothing else. The parent (CLI, parity, reports) never imports a framework.

Workers never outlive the CLI: each runs in its own process group (killed as a group, taking any helper processes
with it) and asks the kernel for SIGKILL when its parent dies, even by SIGKILL (Linux PR_SET_PDEATHSIG; elsewhere a
thread watches the parent's pid). Every call is bounded by the pool's timeout unless it gives its own.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import os
import pkgutil
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from edgex.artifacts import pid_alive, sweep_temps
from edgex.errors import EdgexError, InternalError
from edgex.transfer import SharedArrays, TransferFile, worth_sharing

# Imported as soon as a worker starts, so slow framework imports overlap with the parent's own work.
PRELOAD: dict[str, tuple[str, ...]] = {
    "tf": ("tensorflow",),
    "litert": (),
    "torch": ("torch",),
    "executorch": ("torch",),
    "onnx": ("onnxruntime",),
    "litert-torch": ("torch", "litert_torch"),
}

_RELEASE = "__release__"
_POLL_SECONDS = 0.1
_EXIT_GRACE_SECONDS = 0.2
_MAX_MESSAGE_CHARS = 400
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_SECONDS = 1.0
_LOG_PATTERN = re.compile(r"^edgex-[a-z-]+?-(\d+)-\w+\.log$")  # edgex-<kind>-<parent pid>-<random>.log
_RUN_TEMP_PATTERN = re.compile(r"^edgex-run-(\d+)-[\w-]+$")  # a pool's TMPDIR for its workers


@dataclass(frozen=True)
class Handle:
    """Refers to an object kept alive inside a worker, such as a loaded model."""

    object_id: int
    summary: Any = None


@dataclass
class Kept:
    """Returned by a worker function: keep `value` in the worker and send back a Handle carrying `summary`."""

    value: Any
    summary: Any = None


def import_target(target: str) -> Any:
    """Resolve 'package.module:attribute' (the standard library's spelling of it)."""
    return pkgutil.resolve_name(target)


def short_message(exc: BaseException) -> str:
    """First meaningful line of an exception, bounded: framework errors can be pages of MLIR."""
    text = str(exc).strip() or type(exc).__name__
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    if len(first) > _MAX_MESSAGE_CHARS:
        first = first[: _MAX_MESSAGE_CHARS - 3] + "..."
    return f"{type(exc).__name__}: {first}" if not isinstance(exc, EdgexError) else first


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as `parent_pid` is gone (a SIGKILLed CLI cannot end its children itself)."""
    if parent_pid in _WATCHED_PARENTS:
        return
    _WATCHED_PARENTS.add(parent_pid)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    if os.getppid() != parent_pid:  # it died before the kernel was asked
        os._exit(1)
    threading.Thread(target=watch, name="edgex-parent-watch", daemon=True).start()


_PROGRESS_SECONDS = 0.25  # at most this often a worker tells the parent how far a long step got
_progress_channel: Any = None  # in a worker: its connection to the parent, for report_progress
_progress_sent = 0.0


def report_progress(done: int, total: int) -> None:
    """Called by code running in a worker (a converter's calibration loop): the parent's progress bar follows.
    Throttled; a no-op outside a worker."""
    global _progress_sent
    now = time.monotonic()
    if _progress_channel is None or (done < total and now - _progress_sent < _PROGRESS_SECONDS):
        return
    _progress_sent = now
    _progress_channel.send(("progress", (done, total), None))


def _child_main(conn: Any, kind: str, threads: int | None, parent_pid: int | None = None) -> None:
    global _progress_channel
    _progress_channel = conn
    if parent_pid:
        die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if threads:
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[variable] = str(threads)
    for module in PRELOAD.get(kind, ()):
        with contextlib.suppress(ImportError):  # reported properly by the first call that needs it
            importlib.import_module(module)
    objects: dict[int, Any] = {}
    next_id = 1
    while True:
        try:
            target, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        if target == _RELEASE:
            objects.pop(args[0], None)
            conn.send(("ok", None, None))
            continue
        try:
            args = [_received(a, objects) for a in args]
            kwargs = {k: _received(v, objects) for k, v in kwargs.items()}
            result = import_target(target)(*args, **kwargs)
            if isinstance(result, Kept):
                objects[next_id] = result.value
                result = Handle(next_id, result.summary)
                next_id += 1
            conn.send(("ok", result, None))
        except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
            portable: BaseException = exc if isinstance(exc, EdgexError) else RuntimeError(short_message(exc))
            details = _full_traceback(exc)
            try:
                conn.send(("error", portable, details))
            except Exception:  # noqa: BLE001 - unpicklable payload
                conn.send(("error", RuntimeError(short_message(exc)), details))


def _received(value: Any, objects: dict[int, Any]) -> Any:
    """A call's argument as the worker uses it: the object a Handle names, the arrays a SharedArrays maps."""
    if isinstance(value, Handle):
        return objects[value.object_id]
    if isinstance(value, SharedArrays):
        return value.open()
    return value


def _full_traceback(exc: BaseException) -> str:
    """The traceback, including the framework error a one-line EdgexError replaced (`raise ... from None`)."""
    text = "".join(traceback.format_exception(exc))
    if exc.__suppress_context__ and exc.__context__ is not None:
        text = "".join(traceback.format_exception(exc.__context__)) + "\n" + text
    return text


class Worker:
    """A child process of one framework family that runs 'module:function' calls."""

    def __init__(
        self,
        kind: str,
        *,
        threads: int | None = None,
        debug: bool = False,
        timeout: float | None = None,
        temp_dir: str | None = None,
    ) -> None:
        self.kind = kind
        self.debug = debug
        self.timeout = timeout  # for calls that give none
        self._log_path: str | None = None
        log = None
        if not debug:  # framework chatter goes to a log file, not the user's terminal
            handle, self._log_path = tempfile.mkstemp(prefix=f"edgex-{kind}-{os.getpid()}-", suffix=".log")
            log = os.fdopen(handle, "wb")
        parent_socket, child_socket = socket.socketpair()
        # A fresh interpreter (not multiprocessing's spawn): nothing of the caller's __main__ is re-imported.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        if temp_dir is not None:  # what frameworks write to the temp dir goes where the pool deletes it
            env.update(TMPDIR=temp_dir, TEMP=temp_dir, TMP=temp_dir)
        command = [
            sys.executable,
            "-m",
            "edgex._worker_main",
            str(child_socket.fileno()),
            kind,
            str(threads or 0),
            str(os.getpid()),
        ]
        self._process = subprocess.Popen(
            command,
            pass_fds=(child_socket.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            process_group=0,  # Ctrl-C reaches the CLI only; the CLI ends the whole group
        )
        child_socket.close()
        if log is not None:
            log.close()
        self._conn = Connection(parent_socket.detach())
        self._keep_log = False
        self._transfer = None if temp_dir is None else TransferFile(Path(temp_dir) / f"transfer-{self._process.pid}")
        _LIVE_WORKERS.add(self)

    def call(
        self,
        target: str,
        *args: Any,
        what: str,
        failure: type[EdgexError] = InternalError,
        timeout: float | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run `target(*args, **kwargs)` in the worker.

        `what` names the step in error messages; unexpected exceptions, crashes and timeouts become `failure`.
        EdgexErrors raised in the worker arrive unchanged. `on_progress(done, total)` gets what the target reports
        with report_progress.
        """
        return self.submit(
            target, *args, what=what, failure=failure, timeout=timeout, on_progress=on_progress, **kwargs
        ).result()

    def submit(
        self,
        target: str,
        *args: Any,
        what: str,
        failure: type[EdgexError] = InternalError,
        timeout: float | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        **kwargs: Any,
    ) -> Pending:
        """Start `target(*args, **kwargs)` in the worker and return at once: work in two workers overlaps.

        One call at a time per worker: collect its result() before submitting the next.
        """
        if not self.alive:
            raise self._crash_error(what, failure)
        timeout = self.timeout if timeout is None else timeout
        self._conn.send((target, tuple(self._shared(a) for a in args), {k: self._shared(v) for k, v in kwargs.items()}))
        deadline = None if timeout is None else time.monotonic() + timeout
        return Pending(self, what, failure, timeout, deadline, on_progress)

    def _shared(self, value: Any) -> Any:
        """Large dicts of arrays go through the transfer file (the previous call is done: one at a time)."""
        if self._transfer is None or not worth_sharing(value):
            return value
        try:
            return self._transfer.share(value)
        except OSError:  # no room in the temp folder: the socket still carries it
            return value

    def _receive(self, pending: Pending) -> Any:
        what, failure = pending.what, pending.failure
        while True:
            while not self._conn.poll(_POLL_SECONDS):
                if not self.alive and not self._conn.poll(0):
                    raise self._crash_error(what, failure)
                if pending.deadline is not None and time.monotonic() > pending.deadline:
                    self.kill()
                    raise failure(
                        f"{what} timed out after {pending.timeout:g} s", hint="raise --timeout if the model is large"
                    )
            try:
                status, payload, worker_traceback = self._conn.recv()
            except (EOFError, OSError):
                raise self._crash_error(what, failure) from None
            if status != "progress":
                break
            if pending.on_progress is not None:
                pending.on_progress(*payload)
        if status == "ok":
            return payload
        if isinstance(payload, EdgexError):
            payload.details = payload.details or worker_traceback
            raise payload
        raise failure(f"{what} failed: {payload}", details=worker_traceback)

    def release(self, handle: Handle) -> None:
        """Drop a kept object (frees a loaded model before the next one is loaded)."""
        self.call(_RELEASE, handle.object_id, what="releasing a model")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _crash_error(self, what: str, failure: type[EdgexError]) -> EdgexError:
        try:
            code = self._process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        self._keep_log = True
        if self._log_path and Path(self._log_path).exists():  # kept for the user: out of the sweep's reach
            kept = self._log_path.replace(f"-{os.getpid()}-", "-kept-", 1)
            with contextlib.suppress(OSError):
                os.replace(self._log_path, kept)
                self._log_path = kept
        log_note = f"; its log is {self._log_path}" if self._log_path else ""
        return failure(
            f"{what}: the {self.kind} worker process crashed ({how}){log_note}",
            hint="re-run with --debug to see the framework's output",
            details=self.log_tail(),
        )

    def log_tail(self, lines: int = 40) -> str:
        if not self._log_path or not Path(self._log_path).exists():
            return ""
        return "\n".join(Path(self._log_path).read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (helpers a converter started go too)."""
        if self.alive:  # not yet reaped: its pid (the group id) cannot belong to anyone else
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)

    def close(self) -> None:
        """End the worker: the parent owns every file and no call is open, so nothing is lost by not waiting for
        TensorFlow's own teardown (about a second). Under --debug it gets a moment to print its last words."""
        if self not in _LIVE_WORKERS:
            return
        _LIVE_WORKERS.discard(self)
        self._conn.close()
        try:
            self._process.wait(timeout=_EXIT_GRACE_SECONDS if self.debug else 0.0)  # --debug shows its last output
        except subprocess.TimeoutExpired:
            self.kill()
        if self._log_path and not self._keep_log:
            Path(self._log_path).unlink(missing_ok=True)
        if self._transfer is not None:
            self._transfer.close()


@dataclass
class Pending:
    """A call submitted to a worker; result() waits for it (bounded by the call's timeout)."""

    worker: Worker
    what: str
    failure: type[EdgexError]
    timeout: float | None
    deadline: float | None
    on_progress: Callable[[int, int], None] | None = None

    def result(self) -> Any:
        return self.worker._receive(self)


class WorkerPool:
    """The workers of one command: shared ones per kind (conversion) and dedicated ones (one model each)."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        debug: bool = False,
        timeout: float | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.threads = threads
        self.debug = debug
        self.timeout = timeout  # bounds every call (loading, converting, running) that gives no timeout of its own
        self.scratch = scratch  # a folder whose edgex temp files are swept once the workers are gone
        self._shared: dict[str, Worker] = {}
        self._dedicated: list[Worker] = []
        self._spares: dict[str, Worker] = {}  # started by prestart(), not yet handed out
        self._temp_dir: str | None = None

    def shared(self, kind: str) -> Worker:
        if kind not in self._shared or not self._shared[kind].alive:
            self._shared[kind] = self._start(kind)
        return self._shared[kind]

    def dedicated(self, kind: str) -> Worker:
        """A fresh worker for one model: the one prestart() began, if any, else a new one."""
        spare = self._spares.pop(kind, None)
        worker = spare if spare is not None and spare.alive else self._start(kind)
        self._dedicated.append(worker)
        return worker

    def prestart(self, kind: str) -> None:
        """Start the next dedicated worker of `kind` now, so its interpreter and framework imports overlap with
        other work (validation starts the first artifact's worker while the reference loads)."""
        if kind not in self._spares:
            self._spares[kind] = self._start(kind)

    def temp_dir(self) -> str:
        """This command's temp folder (its workers' TMPDIR), deleted when the pool closes."""
        if self._temp_dir is None:
            sweep_worker_logs()
            self._temp_dir = tempfile.mkdtemp(prefix=f"edgex-run-{os.getpid()}-")
        return self._temp_dir

    def _start(self, kind: str) -> Worker:
        return Worker(kind, threads=self.threads, debug=self.debug, timeout=self.timeout, temp_dir=self.temp_dir())

    def close(self) -> None:
        for worker in [*self._shared.values(), *self._dedicated, *self._spares.values()]:
            worker.close()
        self._shared.clear()
        self._dedicated.clear()
        self._spares.clear()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        if self.scratch is not None:
            sweep_temps(self.scratch)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_LIVE_WORKERS: set[Worker] = set()
_WATCHED_PARENTS: set[int] = set()


def sweep_worker_logs() -> None:
    """Delete worker logs and worker temp folders whose CLI process is gone (a SIGKILLed run cannot)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(tempfile.gettempdir()):
            match = _LOG_PATTERN.match(entry.name) or _RUN_TEMP_PATTERN.match(entry.name)
            if match and not pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)


@atexit.register
def _close_all_workers() -> None:
    for worker in list(_LIVE_WORKERS):
        worker.kill()
        worker.close()
