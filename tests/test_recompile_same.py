"""The recompile check's shortcut for a plan compiled in this process (`recompile._same`): steps shown the same without
writing them out, and anything it cannot vouch for left to the JSON comparison, which names the first difference."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mammon import Recommendation, compile_plan
from mammon.compile.recompile import _same, check_recompiles, recompile
from mammon.errors import TamperedPlanError
from mammon.plan.model import Plan
from mammon_test_support import NOW, WALLET, replace_step


def _compiled() -> Plan:
    recs = [Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount=amount) for amount in ("1000", "7.5")]
    return compile_plan(recs, chain="base", wallet=WALLET, now=NOW)


def test_only_values_that_serialise_alike_are_the_same() -> None:
    assert _same(["a", 1, None, True, [2]], ["a", 1, None, True, [2]])
    assert _same({"a": 1, "b": "x"}, {"a": 1, "b": "x"})
    assert not _same([1], [True]) and not _same([True], [1])  # JSON 1 vs true
    assert not _same({"a": 1, "b": 2}, {"b": 2, "a": 1})  # keys written in another order
    assert not _same([Decimal("1.0")], [Decimal("1.00")])  # equal numbers, other text: left to the JSON comparison
    assert not _same([1, 2], [1]) and not _same(["a"], ["b"]) and not _same([1], (1,))

    class Text(str):
        pass

    assert not _same(["a"], [Text("a")]) and not _same({Text("a"): 1}, {"a": 1})


def test_a_plan_compiled_in_this_process_recompiles_its_steps_shown_the_same() -> None:
    plan = _compiled()
    assert _same(plan.steps, recompile(plan, sealed=False).steps)
    check_recompiles(plan)


@pytest.mark.parametrize(("edit", "field"), [
    (lambda p: replace_step(p, "r1-deposit", description="Supply USDC to Aave V3, trust me"), "steps[2].description"),
    (lambda p: replace_step(p, "r1-deposit", effects=[p.step("r1-deposit").effects[0].model_copy(update={"delta": -1})]
                                                    + p.step("r1-deposit").effects[1:]), "steps[2].effects[0].delta"),
    (lambda p: replace_step(p, "r2-withdraw", depends_on=["r1-deposit"]), "steps[3].depends_on[0]"),
    (lambda p: p.model_copy(update={"notes": ["all good"]}), "notes[0]"),
])
def test_an_edit_of_a_plan_compiled_in_this_process_is_refused_naming_the_field(edit: object, field: str) -> None:
    plan = _compiled()
    with pytest.raises(TamperedPlanError, match="compiling the plan's own inputs") as refused:
        check_recompiles(edit(plan))  # type: ignore[operator]
    assert refused.value.where == f"plan: {field}"
