"""pytest configuration of the suite: the longest items first, so that two workers finish
together. `make test` runs pytest-xdist with --maxschedchunk 1: each worker holds two items
and takes the next when one ends, in collection order (by default the first quarter of the
suite is handed out in two consecutive blocks, which put every soak on one worker). The
block benches in tb/<module>/, collected first, come after the system tests."""

from __future__ import annotations

# earlier in this list: scheduled earlier (the rest keep their collection order)
FIRST = ("test_soak", "test_module[", "test_module_server_host[", "test_headline_claims", "test_synthesis_is_clean",
         "test_short_regression")


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(FIRST) if item.name.startswith(prefix)), len(FIRST))
    items.sort(key=rank)        # stable: ties keep their order
