"""Run a build matrix: pick cells, skip the up-to-date ones, build the rest (in parallel processes with --jobs),
then write each cell's state, the manifest and the build report.

A cell is cached when it produced all it could here: every row passed (or was exported without validation), or
failed only because an external tool is missing (exit 4), whose absence is part of the cell's fingerprint.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

from edgex import __version__
from edgex.artifacts import inside, remove_inside, sha256_tree, sweep_temps
from edgex.build.cells import STATE_FILE, CellJob, CellOutcome, execute, execute_in_child
from edgex.build.config import BuildConfig, Cell
from edgex.build.fingerprint import Fingerprint, edgex_code_digest, fingerprint
from edgex.build.manifest import LABELS_NAME, MANIFEST_NAME, SCHEMA, artifact_entries
from edgex.build.shard import Shard
from edgex.errors import ExitCode, UsageError, require_module
from edgex.report.files import write_text_atomic
from edgex.suggest import did_you_mean
from edgex.workers import die_with_parent

BUILD_SCHEMA = "edgex.build/1"
CELL_SCHEMA = "edgex.cell/1"
CACHEABLE_STATUSES = {"passed", "exported"}


@dataclass(frozen=True)
class BuildOptions:
    only: tuple[str, ...] = ()  # 'model/target' patterns (fnmatch); a bare 'model' selects its row
    force: bool = False
    overrides: dict[str, float] = field(default_factory=dict)
    debug: bool = False
    shard: Shard | None = None  # build only this share of the selected cells (CI matrices)


@dataclass
class CellResult:
    """What the build says about one cell: its outcome (fresh or cached) and how it got it."""

    cell: Cell
    fingerprint: Fingerprint
    outcome: CellOutcome
    up_to_date: bool
    rebuilt_because: str

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.outcome.report["rows"] if self.outcome.report else []

    @property
    def status(self) -> str:
        """passed, exported, parity_failed or export_failed, as a row's; the worst of the cell's rows."""
        if self.outcome.error is not None:
            return "export_failed"
        statuses = {row["status"] for row in self.rows}
        for worst in ("export_failed", "parity_failed", "exported"):
            if worst in statuses:
                return worst
        return "passed"

    @property
    def exit_code(self) -> int:
        if self.outcome.error is not None:
            return self.outcome.exit_code
        return int(self.outcome.report["exit_code"]) if self.outcome.report else 0

    @property
    def forgiven(self) -> bool:
        """An optional cell that failed only for a missing tool: reported, not counted in the exit code."""
        return self.cell.target.optional and self.exit_code == ExitCode.MISSING_DEPENDENCY

    @property
    def cacheable(self) -> bool:
        if self.outcome.report is None:
            return False
        rows = self.rows
        missing_tool = all(
            row["status"] in CACHEABLE_STATUSES or row.get("error_exit_code") == ExitCode.MISSING_DEPENDENCY
            for row in rows
        )
        return bool(rows) and missing_tool


def matrix_exit_code(cells: list[tuple[str, int, bool]]) -> ExitCode:
    """(status, exit code, counted) per cell -> the build's code; as for one export, conversion failures (highest
    code) outrank parity failures. Shared by a build and `edgex report merge`."""
    counted = [(status, code) for status, code, is_counted in cells if is_counted]
    failed = [code for status, code in counted if status == "export_failed"]
    if failed:
        return ExitCode(max(failed))
    if any(status == "parity_failed" for status, _ in counted):
        return ExitCode.PARITY_FAILED
    return ExitCode.OK


@dataclass
class BuildResult:
    config: BuildConfig
    cells: list[CellResult]
    started: str
    seconds: float
    shard: dict[str, Any] | None = None  # see shard_record

    @property
    def exit_code(self) -> ExitCode:
        return matrix_exit_code([(c.status, c.exit_code, not c.forgiven) for c in self.cells])

    @property
    def verdict(self) -> str:
        return "pass" if self.exit_code is ExitCode.OK else "fail"

    def non_deterministic(self) -> list[str]:
        return [c.cell.id for c in self.cells if c.outcome.determinism and not c.outcome.determinism["identical"]]


def select_cells(config: BuildConfig, only: tuple[str, ...]) -> list[Cell]:
    cells = config.cells()
    if not only:
        return cells
    chosen = []
    for pattern in only:
        full = pattern if "/" in pattern else f"{pattern}/*"
        matched = [cell for cell in cells if fnmatch.fnmatchcase(cell.id, full)]
        if not matched:
            raise UsageError(f"--only {pattern}: no such cell", hint=did_you_mean(pattern, [c.id for c in cells]))
        chosen += [cell for cell in matched if cell not in chosen]
    return [cell for cell in cells if cell in chosen]  # file order


def build_cells(config: BuildConfig, options: BuildOptions) -> list[Cell]:
    """The cells this run covers: --only's selection, then the --shard share of it."""
    cells = select_cells(config, options.only)
    if options.shard is None:
        return cells
    return options.shard.select(cells, [cell.id for cell in cells])


def shard_record(config: BuildConfig, options: BuildOptions) -> dict[str, Any] | None:
    """What `edgex report merge` checks the shards against: which share this is, of which cells of which file."""
    if options.shard is None:
        return None
    return {
        "index": options.shard.index,
        "count": options.shard.count,
        "of": [cell.id for cell in select_cells(config, options.only)],
        "cells": [cell.id for cell in build_cells(config, options)],
        "config_sha256": sha256_tree(config.path),
    }


def cell_dir(config: BuildConfig, cell: Cell) -> Path:
    """<out>/<model>/<target>; ids that would lead elsewhere ('..', '/') are refused."""
    return inside(config.settings.out, Path(cell.model.id) / cell.target.id, f"cell {cell.id}: folder")


def read_state(folder: Path) -> dict[str, Any] | None:
    """A cell's cached state, or None when absent or not trustworthy.

    The file is data: a tampered or foreign one (artifact names like '../x' or '/etc/x') must not make the build
    read, hash or delete anything outside the cell's folder, so such a state counts as no state at all.
    """
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        if not isinstance(state, dict) or state.get("schema") != CELL_SCHEMA:
            return None
        for artifact in state["outcome"]["artifacts"]:
            inside(folder, artifact["file"])
    except (OSError, ValueError, KeyError, TypeError, UsageError):
        return None
    return state


def _artifacts_intact(folder: Path, state: dict[str, Any]) -> bool:
    for artifact in state["outcome"]["artifacts"]:
        path = folder / artifact["file"]
        if not path.exists() or sha256_tree(path) != artifact["sha256"]:
            return False
    return True


def _outcome(data: dict[str, Any]) -> CellOutcome:
    return CellOutcome(**data)


def _why(previous: dict[str, Any] | None, current: Fingerprint, force: bool, folder: Path) -> str | None:
    """Why a cell must be built, or None when it is up to date."""
    if force:
        return "--force"
    if previous is None:
        return "not built yet"
    if not previous.get("cacheable"):
        return "last build failed"
    changed = current.changed(previous["fingerprint"]["parts"])
    if changed:
        return f"{', '.join(changed)} changed"
    if not _artifacts_intact(folder, previous):
        return "artifacts missing or modified"
    return None


class Build:
    """One `edgex build` run. `on_event(cell_id, message)` reports progress; `on_done(result)` each finished cell."""

    def __init__(
        self,
        config: BuildConfig,
        options: BuildOptions,
        on_event: Callable[[str, str], None] = lambda _cell, _message: None,
        on_done: Callable[[CellResult], None] = lambda _result: None,
    ) -> None:
        self.config = config
        self.options = options
        self.on_event = on_event
        self.on_done = on_done

    def plan(self) -> tuple[list[CellResult], list[tuple[CellJob, Fingerprint, str, dict[str, Any] | None]]]:
        """Up-to-date cells (results already) and the jobs to run."""
        settings = self.config.settings
        code = edgex_code_digest()
        cached: list[CellResult] = []
        jobs: list[tuple[CellJob, Fingerprint, str, dict[str, Any] | None]] = []
        for cell in build_cells(self.config, self.options):
            folder = cell_dir(self.config, cell)
            current = fingerprint(cell, settings, self.options.overrides, code, self.config.root)
            previous = read_state(folder)
            reason = _why(previous, current, self.options.force, folder)
            if reason is not None:
                # The build owns the folders it made: rebuilding a cell replaces its artifacts.
                force = self.options.force or previous is not None
                jobs.append((self._job(cell, folder, force=force), current, reason, previous))
                continue
            assert previous is not None  # _why gives a reason for a cell never built
            result = CellResult(cell, current, _outcome(previous["outcome"]), True, "")
            if not settings.check_determinism or result.outcome.determinism:
                cached.append(result)
                continue
            expected = {a["file"]: a["sha256"] for a in previous["outcome"]["artifacts"]}
            job = self._job(cell, folder, force=True, reproduce_only=expected)
            jobs.append((job, current, "", previous))  # measure determinism of the cached artifacts
        return cached, jobs

    def _job(self, cell: Cell, folder: Path, *, force: bool, reproduce_only: dict[str, str] | None = None) -> CellJob:
        settings = self.config.settings
        return CellJob(
            cell=cell,
            out_dir=folder,
            settings=settings,
            force=force,
            overrides=self.options.overrides,
            check_determinism=settings.check_determinism,
            reproduce_only=reproduce_only,
            debug=self.options.debug,
        )

    def run(self) -> BuildResult:
        # 'pkg.module:factory' sources import from the build file's folder wherever edgex runs (as the fingerprint
        # finds them); workers and -j processes inherit this path.
        if str(self.config.root) not in sys.path:
            sys.path.insert(0, str(self.config.root))
        if self.config.settings.executor == "ray":
            require_module("ray", "ray", "--executor ray")
        started = datetime.now(UTC).isoformat(timespec="seconds")
        clock = time.perf_counter()
        sweep_temps(self.config.settings.out)  # what a killed build left (cells sweep their own folders)
        cached, jobs = self.plan()
        results: dict[str, CellResult] = {}
        for result in cached:
            results[result.cell.id] = result
            self.on_done(result)
        outcomes = self._run_jobs([job for job, *_ in jobs])
        for job, current, reason, previous in jobs:
            outcome = outcomes[job.cell.id]
            if job.reproduce_only is not None and previous is not None:  # up to date; determinism measured now
                determinism = outcome.determinism
                outcome = _outcome(previous["outcome"])
                outcome.determinism = determinism
                result = CellResult(job.cell, current, outcome, True, "")
            else:
                result = CellResult(job.cell, current, outcome, False, reason)
                _compare_with_previous(result, previous)
                _prune(job.out_dir, previous, outcome)
            self._save_state(job.out_dir, result, started)
            results[job.cell.id] = result
            self.on_done(result)
        ordered = [results[cell.id] for cell in build_cells(self.config, self.options)]
        shard = shard_record(self.config, self.options)
        build = BuildResult(self.config, ordered, started, time.perf_counter() - clock, shard)
        self.write_manifest()
        return build

    def _run_jobs(self, jobs: list[CellJob]) -> dict[str, CellOutcome]:
        if not jobs:
            return {}
        if self.config.settings.executor == "ray":
            from edgex.build.ray_executor import run_on_ray

            return run_on_ray(jobs, self.config, self._announce, self.on_event)
        workers = min(self.config.settings.jobs, len(jobs))
        if workers <= 1:
            return {
                job.cell.id: self._announce(job, execute(job, functools.partial(self.on_event, job.cell.id)))
                for job in jobs
            }
        # Each cell in its own spawned process (frameworks never load here; a crash stays in its cell).
        context = multiprocessing.get_context("spawn")
        outcomes: dict[str, CellOutcome] = {}
        # Every helper process ends with this one, even when it is SIGKILLed (their workers then follow them).
        manager = SyncManager(ctx=context)
        manager.start(die_with_parent, (os.getpid(),))
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),))
        with manager, pool:
            messages = manager.Queue()
            pending: dict[Future[CellOutcome], CellJob] = {
                pool.submit(execute_in_child, job, messages): job for job in jobs
            }
            try:
                while pending:
                    done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    while not messages.empty():
                        self.on_event(*messages.get())
                    for future in done:
                        job = pending.pop(future)
                        outcomes[job.cell.id] = self._announce(job, future.result())
            except BaseException:  # Ctrl-C, SIGTERM: end the cells now instead of waiting for them
                _kill_pool(pool)
                raise
        return outcomes

    def _announce(self, job: CellJob, outcome: CellOutcome) -> CellOutcome:
        self.on_event(job.cell.id, "finished")
        return outcome

    def _save_state(self, folder: Path, result: CellResult, started: str) -> None:
        state = {
            "schema": CELL_SCHEMA,
            "cell": result.cell.id,
            "built": started,
            "cacheable": result.cacheable,
            "fingerprint": asdict(result.fingerprint),
            "outcome": asdict(result.outcome),
        }
        write_text_atomic(folder / STATE_FILE, json.dumps(state, indent=1) + "\n")

    def write_manifest(self) -> Path:
        """Every cached cell of the whole config (not just --only's), in file order."""
        out = self.config.settings.out
        entries = []
        for cell in self.config.cells():
            folder = cell_dir(self.config, cell)
            state = read_state(folder)
            if state is not None and state["outcome"]["report"] is not None:
                entries += artifact_entries(state, cell.model, folder, out)
        for model in self.config.models.values():
            if model.class_names and any(entry["model"] == model.id for entry in entries):
                write_text_atomic(out / model.id / LABELS_NAME, "\n".join(model.class_names) + "\n")
        manifest = {
            "schema": SCHEMA,
            "edgex": __version__,
            "config": _relative(self.config.path, out),
            "artifacts": entries,
        }
        path = out / MANIFEST_NAME
        write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")
        return path


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """SIGKILL every cell process (their workers die with them); shutdown() alone waits for running cells."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def _prune(folder: Path, previous: dict[str, Any] | None, outcome: CellOutcome) -> None:
    """Remove artifacts of the previous build that this one did not write again (a failed row leaves none)."""
    if previous is None:
        return
    kept = {a["file"] for a in outcome.artifacts}
    for artifact in previous["outcome"]["artifacts"]:
        if artifact["file"] not in kept:
            remove_inside(folder, artifact["file"])


def _compare_with_previous(result: CellResult, previous: dict[str, Any] | None) -> None:
    """A --force rebuild of unchanged inputs is a free determinism measurement against the last build."""
    if result.outcome.determinism is not None or previous is None:
        return
    if previous["fingerprint"]["digest"] != result.fingerprint.digest or not result.outcome.artifacts:
        return
    before = {a["file"]: a["sha256"] for a in previous["outcome"]["artifacts"]}
    now = {a["file"]: a["sha256"] for a in result.outcome.artifacts}
    if set(before) != set(now):
        return
    result.outcome.determinism = {
        "measured": True,
        "identical": before == now,
        "compared_with": "previous build",
        "artifacts": {name: {"first": before[name], "second": now[name]} for name in sorted(now)},
    }


def build_report(result: BuildResult) -> dict[str, Any]:
    """edgex.build/1: the matrix with every cell's edgex.report/1 (what `edgex report` and the JUnit writer read)."""
    return {
        "schema": BUILD_SCHEMA,
        "config": str(result.config.path),
        "out": str(result.config.settings.out),
        "verdict": result.verdict,
        "exit_code": int(result.exit_code),
        "started": result.started,
        "seconds": result.seconds,
        "edgex": __version__,
        "non_deterministic": result.non_deterministic(),
        **({"shard": result.shard} if result.shard else {}),
        "cells": [
            {
                "id": c.cell.id,
                "model": c.cell.model.id,
                "target": c.cell.target.id,
                "status": c.status,
                "exit_code": c.exit_code,
                "optional": c.cell.target.optional,
                "counted": not c.forgiven,
                "up_to_date": c.up_to_date,
                "rebuilt_because": c.rebuilt_because or None,
                "seconds": c.outcome.seconds,
                "input_fingerprint": c.fingerprint.digest,
                "error": c.outcome.error,
                "determinism": c.outcome.determinism,
                "report": c.outcome.report,
            }
            for c in result.cells
        ],
    }
