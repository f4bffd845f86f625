"""Graceful drain on SIGTERM for `sleuth serve` and `sleuth worker`.

Both stop taking jobs, let the running investigations finish within the grace period
(``--drain-seconds``), hand back whatever still runs then (its lease released: another worker
takes it at once, attempt not spent) and exit 0. An investigation thread cannot be interrupted,
so a process that handed work back leaves with ``os._exit`` rather than wait for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from agent.service.worker import Worker

log = logging.getLogger(__name__)


@contextlib.contextmanager
def exit_zero_on_sigterm() -> Iterator[None]:
    """uvicorn re-raises a caught SIGTERM after its graceful shutdown; a drained service exits 0."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def leave_after_drain(handed_back: bool) -> None:
    """Exit 0 now when investigations were handed back: their threads still run and must not hold
    up (or crash) the interpreter's shutdown."""
    if not handed_back:
        return
    log.warning("drained: running investigations were handed back to the queue; exiting")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class DrainDeadline:
    """For `sleuth worker`: Celery's warm shutdown waits for running tasks without a limit; once
    ``grace`` seconds have passed since :meth:`begin`, this hands them back and leaves."""

    def __init__(
        self, worker: Worker, grace: float, leave: Callable[[bool], None] = leave_after_drain
    ) -> None:
        self.worker = worker
        self.grace = grace
        self.leave = leave
        self._done = threading.Event()
        self._began = threading.Event()

    def begin(self) -> None:
        if self._began.is_set():
            return
        self._began.set()
        log.warning("shutting down: draining (up to %gs for running investigations)", self.grace)
        threading.Thread(target=self._expire, name="sleuth-drain", daemon=True).start()

    def done(self) -> None:
        self._done.set()

    def _expire(self) -> None:
        if self._done.wait(self.grace):
            return
        handed = self.worker.hand_back()
        log.warning("drain: grace period over, handed back %s", ", ".join(handed) or "nothing")
        self.leave(True)
