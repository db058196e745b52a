"""Live progress of a long run (regression, report, bench): done/total, failures so far and
time left. On a terminal a tqdm bar on stderr; elsewhere (CI, a log file) plain lines, one
every `every_s` seconds at most and one at the end, so a 20-minute run shows that it moves
without flooding a log."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TextIO, TypeVar

T = TypeVar("T")


def _eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int, what: str, stream: TextIO | None = None, every_s: float = 30.0,
                 tty: bool | None = None):
        self.total, self.what, self.every_s = total, what, every_s
        self.stream = stream or sys.stderr
        self.done = self.failed = 0
        self.t0 = self._last = time.monotonic()
        self._bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if tty if tty is not None else self.stream.isatty():
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc=what, file=self.stream, unit="run", dynamic_ncols=True)
        # a heartbeat: the bar's clock moves, and off a terminal a line comes every every_s
        # even while no run ends (one simulation may take minutes)
        threading.Thread(target=self._beat, daemon=True).start()

    def _beat(self) -> None:
        while not self._stop.wait(1.0 if self._bar is not None else self.every_s):
            with self._lock:
                if self._bar is not None:
                    self._bar.refresh()
                elif time.monotonic() - self._last >= self.every_s:
                    self._last = time.monotonic()
                    print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        """The plain progress line: done/total, failures, elapsed and an estimate of the rest."""
        elapsed = time.monotonic() - self.t0
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        rest = _eta(left) if self.done else "?"
        return (f"{self.what}: {self.done}/{self.total} done, {self.failed} failed, "
                f"{_eta(elapsed)} elapsed, about {rest} left")

    def update(self, ok: bool = True, n: int = 1) -> None:
        with self._lock:
            self.done += n
            self.failed += 0 if ok else n
            if self._bar is not None:
                self._bar.set_postfix(failed=self.failed, refresh=False)
                self._bar.update(n)
                return
            now = time.monotonic()
            if now - self._last >= self.every_s or self.done == self.total:
                self._last = now
                print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_parallel(calls: list[Callable[[], T]], jobs: int, what: str) -> list[T]:
    """Each call on a pool of `jobs` threads (each starts a simulation), with progress;
    results in the calls' order. A call that raised counts as failed; the first such error
    is raised once every call has ended."""
    results: list = [None] * len(calls)
    errors: list[BaseException] = []
    with Progress(len(calls), what) as progress, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(c): i for i, c in enumerate(calls)}
        for f in as_completed(futures):
            try:
                results[futures[f]] = f.result()
                progress.update(True)
            except Exception as exc:        # reported once all have ended
                errors.append(exc)
                progress.update(False)
    if errors:
        raise errors[0]
    return results
