"""Group commit for the intake: accepted reports are written by one thread in batches, one
transaction (one fsync) per batch, and each caller is answered only once its row is
committed. Under a flood this turns thousands of competing single-row transactions (SQLite
allows one writer at a time) into a few dozen, and nothing is acknowledged before it is
durable: a 201 always means a stored report."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy.orm import Session

from bluelamp.store.models.reports import PublicReport

Item = tuple[PublicReport, "Future[PublicReport]"]


class GroupWriter:
    def __init__(self, sessions: Callable[[], Session], max_batch: int = 500) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._queue: queue.Queue[Item] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, report: PublicReport) -> Future[PublicReport]:
        """Queue `report` for the next batch; the future holds it once committed."""
        future: Future[PublicReport] = Future()
        self._queue.put((report, future))
        self._start()
        return future

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="report-writer",
                                                    daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[Item]) -> None:
        try:
            with self.sessions() as db:
                db.add_all([report for report, _ in batch])
                db.commit()
        except Exception as exc:  # the callers answer 503; nothing was acknowledged
            for _, future in batch:
                future.set_exception(exc)
            return
        for report, future in batch:
            future.set_result(report)
