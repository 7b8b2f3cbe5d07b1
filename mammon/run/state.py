"""The state directory: emergency-stop flag, audit log (and what is derived from it: the rolling
daily spend, which plans were applied), and the per-chain, per-wallet apply locks.

One per user, whatever the working directory: ``--state-dir``, else ``MAMMON_STATE_DIR``, else
``$XDG_STATE_HOME/mammon``, else ``~/.local/state/mammon``. Two applies from two working
directories therefore share the lock and the audit log.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from mammon.errors import InputError, MammonError

DAY = timedelta(days=1)


class WalletLocked(MammonError):
    """Another apply holds this chain+wallet's lock."""


def default_state_dir() -> Path:
    env = os.environ.get("MAMMON_STATE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "mammon"


def state_dir(path: str | Path | None = None) -> Path:
    directory = Path(path) if path else default_state_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise InputError(f"cannot create the state directory ({exc.__class__.__name__})", where=str(directory)) from None
    if not directory.is_dir():
        raise InputError("the state directory is not a directory", where=str(directory))
    for name, kind in OWN_ENTRIES:  # refused now, not after a run that could then not be logged
        entry = directory / name
        if entry.exists() and not (entry.is_dir() if kind == "directory" else entry.is_file()):
            raise InputError(f"mammon keeps a {kind} here, but something else is in the way: move it aside", where=str(entry))
    return directory


# What mammon keeps in a state directory (audit.LOG, audit.ANCHOR, audit_index.INDEX, the locks): each, where it exists,
# must be of its kind. (Named here: this module is imported by every command, the audit modules only by some.)
OWN_ENTRIES = (("audit.jsonl", "file"), ("audit.anchor", "file"), ("audit.index", "file"), ("locks", "directory"))


def stop_flag(directory: Path) -> Path:
    return directory / "STOP"


def set_stop(directory: Path, reason: str = "") -> None:
    stop_flag(directory).write_text(reason or "stop requested\n")


def clear_stop(directory: Path) -> bool:
    try:
        stop_flag(directory).unlink()
        return True
    except FileNotFoundError:
        return False


def stop_requested(directory: Path) -> bool:
    return stop_flag(directory).exists()


def spent_since(directory: Path, since: datetime) -> dict[str, int]:
    """Base units spent per token symbol since `since`, derived from the audit log."""
    from mammon.run import audit

    return audit.spent_since(directory, since)


@contextmanager
def wallet_lock(directory: Path, wallet: str, chain_id: int | None = None) -> Iterator[None]:
    """One apply per chain and wallet at a time: an exclusive `flock` on ``locks/<chain>-<wallet>.lock``.

    The kernel drops the lock when its holder dies (kill -9 included), so a crash never leaves a
    stale lock; the file keeps the holder's pid for the message.
    """
    locks = directory / "locks"
    name = f"{chain_id}-{wallet.lower()}" if chain_id is not None else wallet.lower()
    path = locks / f"{name}.lock"
    try:
        locks.mkdir(exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise InputError(f"cannot open the wallet's lock file ({exc.strerror or exc.__class__.__name__})", where=str(path)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise WalletLocked(f"wallet {wallet} on chain {chain_id} is being applied by process {owner} (lock {path}); "
                               "wait for it to finish", where="apply") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
