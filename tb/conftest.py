"""pytest configuration of the suite: the longest items first, so that two workers finish
together (pytest-xdist hands items out in collection order, and the block benches in
tb/<module>/ would otherwise be collected before the soak)."""

from __future__ import annotations

# earlier in this list: scheduled earlier (the rest keep their collection order)
FIRST = ("test_soak", "test_module[", "test_headline_claims", "test_short_regression")


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(FIRST) if item.name.startswith(prefix)), len(FIRST))
    items.sort(key=rank)        # stable: ties keep their order
