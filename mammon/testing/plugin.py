"""Registered as a pytest plugin (entry point `pytest11`): the `mammon_snapshot` and `mammon_rebalancer` fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mammon.testing import MammonSnapshotExtension

if TYPE_CHECKING:
    from mammon.rebalance import Rebalancer


@pytest.fixture
def mammon_snapshot(snapshot: Any) -> Any:
    """syrupy's snapshot, storing plans/diffs/records as canonical YAML or text files."""
    return snapshot.use_extension(MammonSnapshotExtension)


@pytest.fixture
def mammon_rebalancer(tmp_path: Path) -> Callable[..., "Rebalancer"]:
    """Build a `Rebalancer` on the simulator (default world) that keeps its files under tmp_path:
    `mammon_rebalancer(wallet=ADDR, **options)`; options as `Rebalancer` takes them."""
    from mammon.rebalance import Rebalancer

    def build(**options: Any) -> Rebalancer:
        options = {"chain": "base", "runner": "sim", "plan_dir": tmp_path / "plans", "state_dir": tmp_path / "state", **options}
        return Rebalancer(**options)

    return build
