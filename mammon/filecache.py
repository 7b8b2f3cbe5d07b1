"""Parse once per process: what a file parses to, kept until the file changes.

Chain configs, worlds and the recipe index are read several times by one `apply` (the CLI, the engine and
the runner each resolve the chain) and thousands of times by a long-running caller compiling plans. A
`FileCache` keys each result by the file's identity and state as `stat` reports it (absolute path,
device, inode, size, modification and change times in ns), so an edited or replaced file is parsed again.

A timestamp only changes once per clock tick, so two writes within one tick can look alike. As in Git's
"racily clean" rule, a file changed less than `RACY_SECONDS` before it was read is not cached at all:
any later edit then carries a newer timestamp than the one cached. Errors are never cached.

The cached objects are shared between callers: treat them as read-only (mammon never mutates a loaded
chain config, world or recipe index).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

Key = tuple[str, str, int, int, int, int, int]
RACY_SECONDS = 2


def file_key(path: str | Path) -> Key | None:
    """The file's identity and state, or None when it cannot be stat'ed (the loader reports why)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return str(path), os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class FileCache(Generic[T]):
    """`load(path)` memoised by `file_key(path)`; the least recently used entries go first past `size`."""

    def __init__(self, load: Callable[[Path], T], *, size: int = 64, racy_seconds: float = RACY_SECONDS) -> None:
        self._load = load
        self._size = size
        self._racy_ns = int(racy_seconds * 1_000_000_000)
        self._entries: OrderedDict[Key, T] = OrderedDict()

    def get(self, path: str | Path) -> T:
        key = file_key(path)
        if key is None:
            return self._load(Path(path))
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = self._load(Path(path))
        changed = max(key[5], key[6])
        if time.time_ns() - changed < self._racy_ns or file_key(path) != key:
            return value  # changed just now (or while it was parsed): use the result, do not keep it
        self._entries[key] = value
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()
