"""The state directory: emergency-stop flag, rolling daily spend ledger, audit log, wallet locks.

Default `.mammon/state` (override with --state-dir or MAMMON_STATE_DIR).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from mammon.errors import MammonError
from mammon.proc import pid_alive

DEFAULT_STATE_DIR = Path(".mammon/state")


class WalletLocked(MammonError):
    """Another apply holds this wallet's lock."""


def state_dir(path: str | Path | None = None) -> Path:
    env = os.environ.get("MAMMON_STATE_DIR")
    directory = Path(path or (DEFAULT_STATE_DIR if env is None else env))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


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
    """Base units spent per token symbol since `since`, from the spend ledger."""
    totals: dict[str, int] = {}
    ledger = directory / "spend.jsonl"
    if not ledger.exists():
        return totals
    for line in ledger.read_text().splitlines():
        entry = json.loads(line)
        if datetime.fromisoformat(entry["time"]) > since:
            totals[entry["token"]] = totals.get(entry["token"], 0) + int(entry["amount"])
    return totals


def record_spend(directory: Path, when: datetime, token: str, amount: int, plan_hash: str) -> None:
    with open(directory / "spend.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"time": when.isoformat(), "token": token, "amount": str(amount), "plan": plan_hash}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


DAY = timedelta(days=1)


@contextmanager
def wallet_lock(directory: Path, wallet: str) -> Iterator[None]:
    """One apply per wallet at a time (O_EXCL lock file holding the owner's pid)."""
    path = directory / f"lock-{wallet.lower()}"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        owner = path.read_text().strip() or "?"
        if owner.isdigit() and not pid_alive(int(owner)):
            path.unlink(missing_ok=True)  # a crashed apply left it; its journal makes resuming safe
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        else:
            raise WalletLocked(f"wallet {wallet} is being applied by process {owner} (lock {path})", where="apply") from None
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
