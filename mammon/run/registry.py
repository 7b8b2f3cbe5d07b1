"""Runners by name, from the `mammon.runners` entry-point group (built-ins and third-party alike)."""

from __future__ import annotations

from importlib.metadata import entry_points

from mammon.errors import UnknownNameError
from mammon.run.base import Runner


def runner_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="mammon.runners"))


def runner_class(name: str) -> type[Runner]:
    for ep in entry_points(group="mammon.runners"):
        if ep.name == name:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Runner)):
                raise UnknownNameError("runner", name, [], where=f"--runner (entry point {ep.value} is not a Runner)")
            return cls
    raise UnknownNameError("runner", name, runner_names(), where="--runner")
