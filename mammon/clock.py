"""The one place mammon reads the time, so tests (and reproducible runs) can pin it with MAMMON_NOW."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import lru_cache

from mammon.errors import InputError


def now() -> datetime:
    fixed = os.environ.get("MAMMON_NOW")
    if not fixed:
        return datetime.now(UTC)
    return _pinned(fixed)


@lru_cache(maxsize=8)
def _pinned(fixed: str) -> datetime:
    """MAMMON_NOW parsed once per value (an apply reads the time several times per step); datetimes are immutable."""
    try:
        value = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{fixed!r} is not an ISO 8601 time", where="MAMMON_NOW") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
