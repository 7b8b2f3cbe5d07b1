"""The plan's step graph: validated (acyclic, known dependencies, approvals and funding before spends)
and walked in one deterministic topological order (plan order breaks ties)."""

from __future__ import annotations

import networkx as nx

from mammon.plan.model import Plan, Step


def graph(steps: list[Step]) -> nx.DiGraph:
    g = nx.DiGraph()
    for i, step in enumerate(steps):
        g.add_node(step.id, index=i)
    for step in steps:
        for dep in step.depends_on:
            g.add_edge(dep, step.id)
    return g


def problems(plan: Plan) -> list[str]:
    """Every structural problem of the plan's DAG (empty when valid): collect all, then report."""
    found: list[str] = []
    ids = [s.id for s in plan.steps]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        found.append(f"step id {dup!r} is used twice")
    known = set(ids)
    for step in plan.steps:
        for dep in step.depends_on:
            if dep not in known:
                found.append(f"step {step.id} depends on unknown step {dep!r}")
        for ref in step.refs:
            for term in ref.ref.split(" + "):
                source, _, output = term.rpartition(".")
                if source not in known:
                    found.append(f"step {step.id} argument {ref.arg} refers to unknown step {source!r}")
                elif output not in plan.step(source).outputs:
                    found.append(f"step {step.id} argument {ref.arg} refers to unknown output {term!r}")
    if found:
        return found
    g = graph(plan.steps)
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(u for u, _ in nx.find_cycle(g))
        return [f"steps form a cycle: {cycle}"]
    assumed = {(p.contract.lower(), (p.spender or "").lower()) for p in plan.preconditions if p.kind == "allowance"}
    for step in plan.steps:
        before = nx.ancestors(g, step.id)
        for ref in step.refs:
            for term in ref.ref.split(" + "):
                if term.rpartition(".")[0] not in before:
                    found.append(f"step {step.id} uses {term} but does not depend on that step")
        for pull in step.pulls:
            key = (pull.token_address.lower(), pull.spender.lower())
            approved = any(
                a.token_address.lower() == key[0] and a.spender.lower() == key[1] and a.after >= pull.amount
                for dep in before
                for a in plan.step(dep).allowances
            )
            if not approved and key not in assumed:
                found.append(f"step {step.id} spends {pull.token} via {pull.spender} without an approval before it")
    return found


def order(plan: Plan) -> list[Step]:
    """Steps in execution order: topological, ties broken by their position in the plan."""
    g = graph(plan.steps)
    index = {s.id: i for i, s in enumerate(plan.steps)}
    return [plan.step(i) for i in nx.lexicographical_topological_sort(g, key=lambda n: index[n])]
