"""The step graph's walks take shortcuts (issue #10): `order` returns a plan whose steps already follow their
dependencies as it is, and `problems` looks past a step's direct dependencies only when they do not settle a
check. Both must say exactly what the plain graphlib walks say, on any graph: shuffled, rewired, cyclic."""

from __future__ import annotations

import heapq
from collections import Counter
from graphlib import CycleError, TopologicalSorter

from hypothesis import given, settings
from hypothesis import strategies as st

from mammon import Recommendation, compile_plan
from mammon.plan import dag
from mammon.plan.model import Plan, Step
from mammon_test_support import NOW, WALLET

BASE = compile_plan([Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount=a) for a in ("10", "20", "30")],
                    chain="base", wallet=WALLET, now=NOW)


def _order_walk(plan: Plan) -> list[Step]:
    """`dag.order` without its shortcut: graphlib's topological walk, ties broken by plan position."""
    index = {s.id: i for i, s in enumerate(plan.steps)}
    sorter = TopologicalSorter(dag.graph(plan.steps))
    sorter.prepare()
    ready = [(index[n], n) for n in sorter.get_ready()]
    heapq.heapify(ready)
    ids: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        ids.append(node)
        sorter.done(node)
        for n in sorter.get_ready():
            heapq.heappush(ready, (index[n], n))
    steps = dag.by_id(plan)
    return [steps[i] for i in ids]


def _problems_walk(plan: Plan) -> list[str]:
    """`dag.problems` without its shortcut: every step's full ancestor set, worked out up front."""
    found: list[str] = []
    ids = [s.id for s in plan.steps]
    for dup in sorted(i for i, n in Counter(ids).items() if n > 1):
        found.append(f"step id {dup!r} is used twice")
    known = set(ids)
    steps = dag.by_id(plan)
    for step in plan.steps:
        for dep in step.depends_on:
            if dep not in known:
                found.append(f"step {step.id} depends on unknown step {dep!r}")
        for ref in step.refs:
            for term in ref.ref.split(" + "):
                source, _, output = term.rpartition(".")
                if source not in known:
                    found.append(f"step {step.id} argument {ref.arg} refers to unknown step {source!r}")
                elif output not in steps[source].outputs:
                    found.append(f"step {step.id} argument {ref.arg} refers to unknown output {term!r}")
    if found:
        return found
    try:
        before_of = dag.ancestors(plan.steps)
    except CycleError as exc:
        return [f"steps form a cycle: {' -> '.join(exc.args[1][:-1])}"]
    assumed = {(p.contract.lower(), (p.spender or "").lower()) for p in plan.preconditions if p.kind == "allowance"}
    for step in plan.steps:
        before = before_of[step.id]
        for ref in step.refs:
            for term in ref.ref.split(" + "):
                if term.rpartition(".")[0] not in before:
                    found.append(f"step {step.id} uses {term} but does not depend on that step")
        for pull in step.pulls:
            key = (pull.token_address.lower(), pull.spender.lower())
            approved = any(a.token_address.lower() == key[0] and a.spender.lower() == key[1] and a.after >= pull.amount
                           for dep in before for a in steps[dep].allowances)
            if not approved and key not in assumed:
                found.append(f"step {step.id} spends {pull.token} via {pull.spender} without an approval before it")
    return found


def _outcome(walk: object, plan: Plan) -> object:
    try:
        result = walk(plan)  # type: ignore[operator]
    except (CycleError, KeyError) as exc:
        return type(exc).__name__, exc.args
    return [s.id for s in result] if result and isinstance(result[0], Step) else result


@st.composite
def rewired(draw: st.DrawFn) -> Plan:
    """BASE with its steps shuffled, some dependencies dropped or added (cycles included), sometimes an id repeated or unknown."""
    steps = list(draw(st.permutations(BASE.steps)))
    ids = [s.id for s in BASE.steps]
    out = []
    for step in steps:
        deps = [d for d in step.depends_on if draw(st.integers(0, 3))]  # a quarter of them dropped
        deps += draw(st.lists(st.sampled_from(ids + ["ghost"]), max_size=2))
        out.append(step.model_copy(update={"depends_on": list(dict.fromkeys(deps))}))
    if draw(st.integers(0, 9)) == 0:
        i, j = draw(st.integers(0, len(out) - 1)), draw(st.integers(0, len(out) - 1))
        out[i] = out[i].model_copy(update={"id": out[j].id})
    return BASE.model_copy(update={"steps": out})


@settings(max_examples=400, deadline=None)
@given(rewired())
def test_order_and_problems_are_the_plain_graphlib_walks(plan: Plan) -> None:
    assert _outcome(dag.problems, plan) == _outcome(_problems_walk, plan)
    assert _outcome(dag.order, plan) == _outcome(_order_walk, plan)


def test_a_compiled_plan_is_already_in_order_and_valid() -> None:
    assert [s.id for s in dag.order(BASE)] == [s.id for s in BASE.steps] == [s.id for s in _order_walk(BASE)]
    assert dag.problems(BASE) == [] == _problems_walk(BASE)


def test_a_step_before_its_dependency_is_moved_after_it() -> None:
    steps = [BASE.steps[1], BASE.steps[0], *BASE.steps[2:]]
    assert [s.id for s in dag.order(BASE.model_copy(update={"steps": steps}))] == [s.id for s in BASE.steps]


def test_a_repeated_id_is_walked_as_graphlib_walks_it() -> None:
    plan = BASE.model_copy(update={"steps": [*BASE.steps, BASE.steps[-1]]})
    assert _outcome(dag.order, plan) == _outcome(_order_walk, plan)
    assert dag.problems(plan) == _problems_walk(plan) == [f"step id {BASE.steps[-1].id!r} is used twice"]
