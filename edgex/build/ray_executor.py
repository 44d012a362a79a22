"""`edgex build --executor ray`: each cell is a Ray task, so a matrix spreads over a cluster's nodes.

Ray is an existing, well-kept distributed engine: scheduling, node failures and the cluster itself are its job. A
task gets the cell's job (its config: paths, options, thresholds), never data: it reads the source, calibration and
validation files from their paths and writes the artifacts and the cell's state into the cell's folder, so on a
cluster the build file's folder, the data and `out` must be on storage every node mounts at the same path. The
driver (this process) plans, reads the cache, and writes the manifest and reports as for a local build.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import Any

from edgex.build.cells import CellJob, CellOutcome, execute
from edgex.build.config import BuildConfig
from edgex.errors import ExitCode, UsageError

CONNECT_SECONDS = 5.0


def run_cell(job: CellJob, root: str) -> CellOutcome:
    """The Ray task: one cell, like `execute` in a local child process; the build file's folder goes on the path
    for 'pkg.module:factory' sources, as in the driver."""
    if root not in sys.path:
        sys.path.insert(0, root)
    return execute(job, lambda _message: None)


def _connect(address: str | None) -> bool:
    """Join the given cluster, or the one Ray finds ($RAY_ADDRESS, a running local one), else start a local one.
    True when this build started Ray and so must stop it."""
    import logging

    import ray

    if ray.is_initialized():  # an API caller's own cluster
        return False
    if address not in (None, "auto", "local"):
        _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, include_dashboard=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UsageError(
            f"--ray-address {address}: cannot connect to a Ray cluster ({' '.join(str(exc).split())[:300]})",
            hint="give the head's address (ray://HOST:10001, HOST:6379 or auto), or no address for a local Ray",
        ) from None
    return True


def _check_reachable(address: str) -> None:
    """Ray retries an address that does not answer for minutes; a TCP connect says so in seconds."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except (OSError, ValueError) as exc:
        reason = exc.strerror or str(exc) if isinstance(exc, OSError) else "expected HOST:PORT"
        raise UsageError(
            f"--ray-address {address}: no Ray cluster answers there ({reason})",
            hint="give the head's address (ray://HOST:10001, HOST:6379 or auto), or no address for a local Ray",
        ) from None


def run_on_ray(
    jobs: list[CellJob],
    config: BuildConfig,
    announce: Callable[[CellJob, CellOutcome], CellOutcome],
    on_event: Callable[[str, str], None],
) -> dict[str, CellOutcome]:
    """Submit every job as a task (one CPU each; Ray queues what the cluster cannot run yet) and collect outcomes."""
    import ray  # Build.run checked that it is installed

    started_here = _connect(config.settings.ray_address)
    try:
        task = ray.remote(run_cell).options(num_cpus=1, max_retries=0)
        pending: dict[Any, CellJob] = {}
        for job in jobs:
            pending[task.remote(job, str(config.root))] = job
            on_event(job.cell.id, "queued on ray")
        outcomes: dict[str, CellOutcome] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            outcomes[job.cell.id] = announce(job, _result(ray, done[0], job))
        return outcomes
    finally:
        if started_here:
            ray.shutdown()


def _result(ray: Any, ref: Any, job: CellJob) -> CellOutcome:
    """The task's outcome; a task Ray lost (its worker or node died) fails its cell only."""
    try:
        outcome: CellOutcome = ray.get(ref)
    except ray.exceptions.RayError as exc:
        message = " ".join(str(exc).split())[:500]
        return CellOutcome(
            job.cell.id,
            error=f"the Ray task of this cell failed: {message}",
            exit_code=int(ExitCode.INTERNAL),
            error_details=str(exc),
        )
    return outcome
