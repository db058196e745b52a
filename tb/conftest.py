"""pytest configuration of the suite: the longest items first, so that two workers finish
together. `make test` runs pytest-xdist with --maxschedchunk 1: each worker holds two items
and takes the next when one ends, in collection order (by default the first quarter of the
suite is handed out in two consecutive blocks, which put every soak on one worker). The
block benches in tb/<module>/, collected first, come after the system tests."""

from __future__ import annotations

import pytest

# earlier in this list: scheduled earlier (the rest keep their collection order)
FIRST = ("test_soak", "test_module[", "test_module_server_host[", "test_headline_claims", "test_synthesis_is_clean",
         "test_short_regression")


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(FIRST) if item.name.startswith(prefix)), len(FIRST))
    items.sort(key=rank)        # stable: ties keep their order


class LineStream:
    """A progress line on a line of its own, between pytest's rows of dots."""

    def __init__(self, writer) -> None:
        self.writer = writer

    def write(self, text: str) -> None:
        if text.strip():
            if self.writer.width_of_current_line:
                self.writer.line()
            self.writer.line(text.rstrip("\n"))

    def flush(self) -> None:
        self.writer.flush()

    def isatty(self) -> bool:
        return False


class RunProgress:
    """Live progress of `make test` and `make long` (pytest, with or without xdist): items
    done of all, failures so far and time left, a plain line every minute at most and one
    at the end (a 30-minute run shows it moves; the dots alone say nothing of what is left)."""

    def __init__(self, config) -> None:
        self.config = config
        self.progress = None
        self.failed: set[str] = set()

    def _start(self, total: int) -> None:
        from virtio_ep.progress import Progress
        if self.progress is None and total:
            self.progress = Progress(total, "pytest", stream=LineStream(self.config.get_terminal_writer()),
                                     every_s=60.0, tty=False)

    def pytest_collection_finish(self, session) -> None:
        self._start(len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self._start(len(ids))           # every worker collects the same items

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed:
            self.failed.add(report.nodeid)
        if report.when == "teardown" and self.progress is not None:
            self.progress.update(report.nodeid not in self.failed)

    def pytest_sessionfinish(self) -> None:
        if self.progress is not None:
            self.progress.close()


def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):          # the controller only, not xdist's workers
        config.pluginmanager.register(RunProgress(config), "run-progress")
