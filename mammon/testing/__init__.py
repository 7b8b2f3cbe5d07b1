"""Pytest helpers for users' own tests: snapshot plans, run records and diffs in canonical text.

    def test_my_rebalance(mammon_snapshot):
        plan = compile_plan(rec, chain="base", wallet=WALLET, now=FIXED)
        assert plan == mammon_snapshot            # stored as readable YAML, one file per test

Everything is rendered deterministically: plans as their canonical YAML, diffs as the text report
without fees paid, run records with wall-clock timings removed.

The optimizer's whole loop on the simulator, with the `mammon_rebalancer` fixture (a `Rebalancer` on
the `sim` runner whose plan files, run records and audit log go to the test's tmp_path)::

    from decimal import Decimal

    def test_moonwell_to_aave(mammon_rebalancer, mammon_snapshot):
        r = mammon_rebalancer(wallet="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        result = r.execute({"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "USDC",
                            "amount": Decimal("1000"), "expected_apy": Decimal("8.5"), "confidence": 85})
        assert result.success, result.summary()
        assert result.diff == mammon_snapshot     # the diff text, fees left out

Pin the clock (`MAMMON_NOW=2026-01-01T00:00:00Z`) for snapshots that hold the plan's hash.
"""

from __future__ import annotations

from typing import Any

import yaml
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from mammon.diff import Diff, render_text
from mammon.plan.model import Plan
from mammon.plan.planfile import dumps
from mammon.run.record import RunRecord

__all__ = ["MammonSnapshotExtension", "canonical"]

_VOLATILE = {"started_at", "finished_at"}


def canonical(data: Any) -> str:
    """The text a snapshot stores for a plan, diff, run record or plain string."""
    if isinstance(data, Plan):
        return dumps(data, "yaml")
    if isinstance(data, Diff):
        return render_text(data, fees=False)  # fees follow the chain's base fee, like timings they are not pinned
    if isinstance(data, RunRecord):
        body = data.model_dump(mode="json", exclude_none=True)
        body.pop("started_at", None)
        body.pop("finished_at", None)
        for step in body["steps"]:
            for key in _VOLATILE:
                step.pop(key, None)
        return yaml.safe_dump(body, sort_keys=False, width=120)
    if isinstance(data, str):
        return data
    return yaml.safe_dump(data, sort_keys=False, width=120)


class MammonSnapshotExtension(SingleFileSnapshotExtension):
    """One readable `.yaml` file per snapshot, so reviewers read plan diffs like code."""

    file_extension = "yaml"
    _write_mode = WriteMode.TEXT

    def serialize(self, data: Any, **_: Any) -> str:
        return canonical(data)
