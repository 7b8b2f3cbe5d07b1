"""The plan's step graph: validated (acyclic, known dependencies, approvals and funding before spends)
and walked in one deterministic topological order (plan order breaks ties).

The graph work is the standard library's `graphlib` (cycle detection, topological order): a plan has
tens of steps, and `mammon show` must not pay networkx's import time to check them.
"""

from __future__ import annotations

import heapq
from collections import Counter
from graphlib import CycleError, TopologicalSorter

from mammon.plan.model import Plan, Step


def graph(steps: list[Step]) -> dict[str, list[str]]:
    """Each step id -> the ids it depends on (graphlib's shape: a node and its predecessors)."""
    return {step.id: list(step.depends_on) for step in steps}


def ancestors(steps: list[Step]) -> dict[str, set[str]]:
    """Each step id -> every step it depends on, directly or through others. The graph must be acyclic."""
    deps = graph(steps)
    found: dict[str, set[str]] = {}
    for node in TopologicalSorter(deps).static_order():
        found[node] = set().union(*({d} | found[d] for d in deps.get(node, ())))
    return found


def problems(plan: Plan) -> list[str]:
    """Every structural problem of the plan's DAG (empty when valid): collect all, then report."""
    found: list[str] = []
    ids = [s.id for s in plan.steps]
    for dup in sorted(i for i, n in Counter(ids).items() if n > 1):
        found.append(f"step id {dup!r} is used twice")
    known = set(ids)
    steps = by_id(plan)
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
        if not _in_order(plan.steps):  # steps that each follow their dependencies form no cycle
            TopologicalSorter(graph(plan.steps)).prepare()  # the cycle check `ancestors` would make, the same cycle named
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1][:-1])  # graphlib lists it dependency first, first node repeated at the end
        return [f"steps form a cycle: {cycle}"]
    assumed = {(p.contract.lower(), (p.spender or "").lower()) for p in plan.preconditions if p.kind == "allowance"}
    every: dict[str, set[str]] = {}  # every step's ancestors, worked out only if a direct dependency does not settle a check

    def ancestors_of(step_id: str) -> set[str]:
        if not every:
            every.update(ancestors(plan.steps))
        return every[step_id]

    for step in plan.steps:
        for ref in step.refs:
            for term in ref.ref.split(" + "):
                source = term.rpartition(".")[0]
                if source not in step.depends_on and source not in ancestors_of(step.id):
                    found.append(f"step {step.id} uses {term} but does not depend on that step")
        for pull in step.pulls:
            key = (pull.token_address.lower(), pull.spender.lower())
            if key in assumed or any(_approves(steps[dep], key, pull.amount) for dep in step.depends_on):
                continue
            if not any(_approves(steps[dep], key, pull.amount) for dep in ancestors_of(step.id)):
                found.append(f"step {step.id} spends {pull.token} via {pull.spender} without an approval before it")
    return found


def _approves(step: Step, key: tuple[str, str], amount: int) -> bool:
    """`step` sets an allowance of at least `amount` for (token, spender) `key` (both lower case)."""
    return any(a.token_address.lower() == key[0] and a.spender.lower() == key[1] and a.after >= amount for a in step.allowances)


def order(plan: Plan) -> list[Step]:
    """Steps in execution order: topological, ties broken by their position in the plan."""
    if _in_order(plan.steps):
        return list(plan.steps)  # what the walk below gives: each next step in the plan is always ready
    index = {s.id: i for i, s in enumerate(plan.steps)}
    sorter = TopologicalSorter(graph(plan.steps))
    sorter.prepare()
    ready = [(index[n], n) for n in sorter.get_ready()]
    heapq.heapify(ready)
    ids: list[str] = []
    while ready:  # always take the ready step that comes first in the plan
        _, node = heapq.heappop(ready)
        ids.append(node)
        sorter.done(node)
        for n in sorter.get_ready():
            heapq.heappush(ready, (index[n], n))
    steps = by_id(plan)
    return [steps[i] for i in ids]


def _in_order(steps: list[Step]) -> bool:
    """Every step comes after the steps it depends on, and no id is used twice (a compiled plan's steps always do)."""
    seen: set[str] = set()
    for step in steps:
        if step.id in seen or not seen.issuperset(step.depends_on):
            return False
        seen.add(step.id)
    return True


def by_id(plan: Plan) -> dict[str, Step]:
    """Steps by id, the first of a repeated id winning as in `Plan.step` (a lookup per step through
    `Plan.step`, a scan, made these walks quadratic in the plan's size)."""
    found: dict[str, Step] = {}
    for step in plan.steps:
        found.setdefault(step.id, step)
    return found
