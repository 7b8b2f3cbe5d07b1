"""Venue adapters, found through the `mammon.venues` entry-point group.

To add a venue: write `mammon/protocols/<venue>.py` with a `Venue` subclass (its actions, its chain-config
`Config`, and the `calls` review accepts from it), put its ABI in `abis/<venue>/`, and register it under
`[project.entry-points."mammon.venues"]` (a third-party package does the same in its own pyproject).
Nothing else in mammon changes.

Names: a venue's entry-point name (`aave_v3`) is its key in plans and chain configs. People and
optimizers write it other ways ("Aave V3", "aave-v3", "AAVE_V3", "aave"), so each adapter declares
its `display` name and `aliases` next to its code, and `resolve_venue` matches any of those with
case, spaces, dashes and underscores ignored. A spelling two venues share is refused as ambiguous,
never guessed.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from importlib.metadata import entry_points

from mammon.errors import AmbiguousNameError, UnknownNameError
from mammon.protocols.base import Asset, Context, Draft, Venue

__all__ = ["Asset", "Context", "Draft", "Venue", "name_key", "resolve_venue", "venue_class", "venue_classes", "venue_display", "venue_names"]

_SEPARATORS = re.compile(r"[\s\-_]+")


@cache
def _registry() -> dict[str, type[Venue]]:
    return {ep.name: ep.load() for ep in entry_points(group="mammon.venues")}


def name_key(name: str) -> str:
    """The form names are matched in: case, spaces, dashes and underscores ignored ("Aave V3" -> "aavev3")."""
    return _SEPARATORS.sub("", name).casefold()


def _spellings(name: str, cls: type[Venue]) -> list[str]:
    """Every name a venue answers to: its key, its display name and its declared aliases."""
    return [name, cls.display, *cls.aliases]


@cache
def _by_key() -> dict[str, frozenset[str]]:
    """Matching key -> the venues that answer to it (more than one = ambiguous)."""
    index: dict[str, set[str]] = {}
    for name, cls in _registry().items():
        for spelling in _spellings(name, cls):
            index.setdefault(name_key(spelling), set()).add(name)
    return {key: frozenset(names) for key, names in index.items()}


def venue_names() -> list[str]:
    return sorted(_registry())


def venue_classes() -> list[type[Venue]]:
    """Every installed venue's adapter class, by key (review gathers their call rules)."""
    return [cls for _, cls in sorted(_registry().items())]


def _known() -> str:
    return ", ".join(f"{cls.display} ({name})" for name, cls in sorted(_registry().items()))


def resolve_venue(name: str, *, where: str = "recommendation") -> str:
    """The venue key for any of its spellings; refuses unknown and ambiguous names, listing the known ones."""
    registry = _registry()
    if name in registry:
        return name
    matches = _by_key().get(name_key(name), frozenset())
    if len(matches) == 1:
        return next(iter(matches))
    if matches:
        raise AmbiguousNameError("protocol", name, [f"{registry[m].display} ({m})" for m in matches], where=where)
    close = difflib.get_close_matches(name_key(name), list(_by_key()), n=1)
    guess = f"did you mean {registry[sorted(_by_key()[close[0]])[0]].display!r}? " if close else ""
    raise UnknownNameError("protocol", name, registry, where=where, hint=f"; {guess}known: {_known()}")


def venue_class(name: str, *, where: str = "recommendation") -> type[Venue]:
    """The adapter class of a venue, by key or any spelling `resolve_venue` accepts."""
    return _registry()[resolve_venue(name, where=where)]


def venue_display(name: str) -> str:
    """The display name of a venue key ("aave_v3" -> "Aave V3"); other keys (erc20, an uninstalled venue) as they are."""
    cls = _registry().get(name)
    return cls.display if cls is not None else name
