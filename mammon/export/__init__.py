"""Exports: the plan's calls in files the wallets people already use can import, and checks of such files.

    mammon export plan.yaml --format safe-tx-builder -o batch.json   # Safe{Wallet} Transaction Builder
    mammon export plan.yaml --format eip5792 -o calls.json           # wallet_sendCalls params (EIP-5792)
    mammon validate plan.yaml --export batch.json                    # same calls, same order, same plan hash

Both formats hold plain calls, executed in one atomic batch by the wallet: no step can see what an earlier
step produced, so every amount must be fixed at plan time (`calls.batch_calls` refuses a plan whose
encoded amount depends on an earlier step's output within a range, naming the step). Every export carries
the plan's content hash, and checking one re-reads the plan (hash, calldata vs view) before comparing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mammon.errors import InputError, TamperedPlanError, UnknownNameError
from mammon.export import eip5792, safe_tx_builder
from mammon.export.calls import BatchCall, batch_calls
from mammon.files import loads_json, read_text
from mammon.review import Review

__all__ = ["FORMATS", "BatchCall", "batch_calls", "export", "export_text", "verify_export"]

FORMATS: dict[str, Callable[..., Any]] = {
    "safe-tx-builder": safe_tx_builder.build,
    "eip5792": eip5792.build,
}
_CHECKS: dict[str, Callable[..., None]] = {
    "safe-tx-builder": safe_tx_builder.check,
    "eip5792": eip5792.check,
}


def export(reviewed: Review, fmt: str, *, where: str = "plan") -> Any:
    """The export of a reviewed plan as JSON-ready data."""
    if fmt not in FORMATS:
        raise UnknownNameError("export format", fmt, FORMATS, where="--format")
    return FORMATS[fmt](reviewed, where=where)


def export_text(reviewed: Review, fmt: str, *, where: str = "plan") -> str:
    return json.dumps(export(reviewed, fmt, where=where), indent=2, ensure_ascii=False) + "\n"


def detect(data: Any) -> str:
    """Which format a loaded export file is in (by its shape)."""
    if isinstance(data, dict) and "transactions" in data and "meta" in data:
        return "safe-tx-builder"
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) and "calls" in data[0]:
        return "eip5792"
    raise InputError("not a mammon export: expected a Safe Transaction Builder file or wallet_sendCalls params")


def verify_export(reviewed: Review, path: str | Path, *, plan_where: str = "plan") -> str:
    """Check an export file against its (already reviewed) plan; returns the format, raises on any difference."""
    where = str(path)
    # Read as every user file is (size, UTF-8, nesting depth, duplicate keys): what follows may recurse
    # once per nesting level (the checksum's serialisation), never deeper than files.MAX_DEPTH.
    data = loads_json(read_text(path), where=where)
    try:
        fmt = detect(data)
    except InputError as exc:
        raise InputError(exc.message, where=where) from None
    try:
        _CHECKS[fmt](reviewed, data, where, plan_where=plan_where)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise TamperedPlanError(f"malformed {fmt} export ({exc.__class__.__name__}: {exc})", where=where) from None
    return fmt
