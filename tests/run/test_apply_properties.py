"""Property: any valid recommendation, compiled on the default world, applies on that world within tolerance.

The compile-side properties (tests/test_properties.py) check the plan against itself; this one checks it
against the simulator executing its calldata: every step succeeds, every effect lands within the plan's
stated tolerance, and the wallet ends with what the diff says.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings

from mammon import Recommendation, compile_plan
from mammon.diff import diff, render_text
from mammon.run import state
from mammon.run.engine import ApplyOptions, apply_plan
from mammon.run.policy import Policy
from mammon.run.sim import SimRunner
from mammon_test_support import NOW, WALLET
from test_properties import recommendations


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rec=recommendations())
def test_any_recommendation_applies_on_the_default_world(rec: Recommendation) -> None:
    plan = compile_plan(rec, chain="base", wallet=WALLET, now=NOW)
    with TemporaryDirectory() as tmp:
        record = apply_plan(plan, SimRunner.create(plan, now=NOW),
                            ApplyOptions(record_path=Path(tmp) / "run.json", state_dir=state.state_dir(Path(tmp) / "s"),
                                         policy=Policy(max_slippage_bps=5000)))  # the drawn slippage is the recommendation's choice
    result = diff(plan, record)
    assert record.status == "ok" and result.ok, f"{rec}\n{render_text(result)}"
