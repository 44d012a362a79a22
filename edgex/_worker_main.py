"""Entry point of a worker process: `python -m edgex._worker_main FD KIND THREADS` (see edgex.workers)."""

import sys
from multiprocessing.connection import Connection

from edgex.workers import _child_main

if __name__ == "__main__":
    fd, kind, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    _child_main(Connection(fd), kind, threads or None)
