"""Registered as a pytest plugin (entry point `pytest11`): the `mammon_snapshot` fixture."""

from __future__ import annotations

from typing import Any

import pytest

from mammon.testing import MammonSnapshotExtension


@pytest.fixture
def mammon_snapshot(snapshot: Any) -> Any:
    """syrupy's snapshot, storing plans/diffs/records as canonical YAML or text files."""
    return snapshot.use_extension(MammonSnapshotExtension)
