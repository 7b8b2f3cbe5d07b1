"""Venue adapters, found through the `mammon.venues` entry-point group.

To add a venue: write `mammon/protocols/<venue>.py` with a `Venue` subclass, put its ABI in
`abis/<venue>/`, and register it under `[project.entry-points."mammon.venues"]` (a third-party
package does the same in its own pyproject). Nothing else in mammon changes.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from mammon.errors import UnknownNameError
from mammon.protocols.base import Asset, Context, Draft, Venue

__all__ = ["Asset", "Context", "Draft", "Venue", "venue_class", "venue_names"]


@cache
def _registry() -> dict[str, type[Venue]]:
    return {ep.name: ep.load() for ep in entry_points(group="mammon.venues")}


def venue_names() -> list[str]:
    return sorted(_registry())


def venue_class(name: str, *, where: str = "recommendation") -> type[Venue]:
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownNameError("protocol", name, _registry(), where=where) from None
