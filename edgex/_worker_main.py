"""Entry point of a worker process: `python -m edgex._worker_main FD KIND THREADS PARENT_PID` (see edgex.workers)."""

import sys
from multiprocessing.connection import Connection

from edgex.workers import _child_main

if __name__ == "__main__":
    fd, kind, threads, parent_pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    _child_main(Connection(fd), kind, threads or None, parent_pid)
