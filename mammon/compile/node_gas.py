"""Gas measured on a node (`mammon plan --rpc URL`): each step marked `source: node`.

`estimate_on_node` starts an anvil fork of the node at its latest block, impersonates the plan's
wallet and executes the plan's steps in DAG order, exactly as the apply engine would (step-output
references resolved from what the fork produced, guards checked; `mammon.run.fork.simulate_plan`).
Each executed step's gas becomes the receipt's `gasUsed` — what the step will actually consume on
that state, not the padded `eth_estimateGas` figure (the rpc runner adds its margin to the gas
*limit* at signing time). A step that does not succeed on the fork keeps its static figure and the
plan gets a note saying why, for the reviewer. Totals are recomputed with the plan's own gas price
and prices, and the plan is re-sealed (new content hash).

The fork only needs ETH for gas: a wallet holding less than 1 ETH is topped up *on the fork*.
"""

from __future__ import annotations

from mammon.errors import InputError
from mammon.plan.model import Gas, Plan
from mammon.plan.planfile import seal


def estimate_on_node(plan: Plan, rpc_url: str) -> Plan:
    """The plan with every step's gas measured on an anvil fork of `rpc_url` (re-sealed)."""
    from mammon.compile.compiler import _totals
    from mammon.run.fork import GAS_TOPUP_WEI, Fork, simulate_plan
    from mammon.node import redact

    with Fork(rpc_url) as fork:
        if fork.chain_id != plan.chain.id:
            raise InputError(f"the node at {redact(rpc_url)} is chain {fork.chain_id}, the plan is for {plan.chain.name} ({plan.chain.id})",
                             where="--rpc")
        fork.impersonate(plan.wallet)
        fork.ensure_eth(plan.wallet, GAS_TOPUP_WEI)
        sims = {s.step_id: s for s in simulate_plan(fork, plan)}
        block = fork.block
    steps, notes = [], list(plan.notes)
    for step in plan.steps:
        sim = sims.get(step.id)
        if sim is not None and sim.status == "ok" and sim.gas_used:
            steps.append(step.model_copy(update={"gas": Gas(estimate=sim.gas_used, source="node")}))
            continue
        steps.append(step)
        why = sim.reason if sim is not None else "not executed"
        notes.append(f"gas for step {step.id} is the static figure: on the node (fork of block {block}) it did not succeed: {why}")
    # The compiler's own totals; spend is per pulled token, and the tokens it counts are the plan's.
    totals = _totals(steps, plan.market.gas_price_gwei, plan.market.prices_usd, set(plan.totals.spend))
    return seal(plan.model_copy(update={"steps": steps, "totals": totals, "notes": notes}))
