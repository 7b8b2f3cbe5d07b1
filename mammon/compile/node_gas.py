"""Gas measured on a node (`mammon plan --rpc URL`): each step marked `source: node`.

`estimate_on_node` starts an anvil fork of the node at its latest block, impersonates the plan's
wallet and dry-runs the plan there through the apply engine itself (`mammon.run.engine.dry_run`:
step-output references resolved from what the fork produced, guards checked).
Each executed step's gas becomes the receipt's `gasUsed` — what the step will actually consume on
that state, not the padded `eth_estimateGas` figure (the rpc runner adds its margin to the gas
*limit* at signing time). A plan whose dry run fails is refused (`PlanError`, exit 2, naming the
first failing step and its decoded reason): a plan that cannot run is not a plan. With
`allow_failing` it is written anyway, each failed step keeping its static figure and marked
(`gas.failed_dry_run`), which `show` warns about and `validate` exits 1 on. Totals are recomputed
with the plan's own gas price and prices, and the plan is re-sealed (new content hash).

The fork only needs ETH for gas: a wallet holding less than 1 ETH is topped up *on the fork*.

An atomic plan (`--execution batch|safe`) is one transaction: `estimate_on_node` runs that transaction
on the fork the way its runner's preflight does (`run.batch.try_batch`: the wallet's code set to the
EIP-7702 delegate; `run.safe.try_with_approvals`: the owners' on-chain approvals standing in for their
signatures, which nobody has made yet) and its receipt's gas becomes `batch.gas` (`source: node`),
plus what the fork does not run: the EIP-7702 authorization when the wallet is not delegated yet
(`AUTHORIZATION_GAS` less the `AUTHORIZATION_REFUND` an existing account gets back: what it uses; the
batch runner adds the refund to the gas limit) or the gap between an ECDSA signature and an approval
(`SAFE_SIGNATURE_GAS` per owner). A transaction that reverts there is refused like a failing step, naming the inner call (its
step) and that call's own decoded reason, from the fork's call trace; `allow_failing` writes it with
`batch.gas.failed_dry_run` (and the step's), which `show` and `validate` report.
"""

from __future__ import annotations

import re

from mammon.errors import InputError, PlanError
from mammon.plan.model import Gas, NodeGas, Plan
from mammon.plan.planfile import seal


def estimate_on_node(plan: Plan, rpc_url: str, *, allow_failing: bool = False) -> Plan:
    """The plan with every step's gas (an atomic plan: its one transaction's) measured on an anvil fork of `rpc_url` (re-sealed)."""
    from mammon.node import redact
    from mammon.run.engine import dry_run
    from mammon.run.fork import GAS_TOPUP_WEI, Fork, ForkRunner

    if plan.batch is not None:
        return _estimate_atomic(plan, rpc_url, allow_failing=allow_failing)

    with Fork(rpc_url) as fork:
        if fork.chain_id != plan.chain.id:
            raise InputError(f"the node at {redact(rpc_url)} is chain {fork.chain_id}, the plan is for {plan.chain.name} ({plan.chain.id})",
                             where="--rpc")
        fork.impersonate(plan.wallet)
        fork.ensure_eth(plan.wallet, GAS_TOPUP_WEI)
        block = fork.block
        record = dry_run(plan, ForkRunner(plan, fork, confirmations=1, receipt_timeout=60.0))
    failed_steps = [s for s in record.steps if s.status in ("reverted", "failed")]
    if failed_steps and not allow_failing:
        first = failed_steps[0]
        raise PlanError(f"step {first.id} fails in the plan's dry run on the node (fork of block {block}): {_why(first.reason)}; "
                        "no plan written (--allow-failing writes it, marked as failing)", where=f"--rpc {redact(rpc_url)}")
    measured: dict[str, int] = {}
    failed: dict[str, str] = {}
    for step in plan.steps:
        ran = record.step(step.id)
        if ran.status == "ok" and ran.gas_used:
            measured[step.id] = ran.gas_used
        else:
            failed[step.id] = f"{ran.status}: {_why(ran.reason)}" if ran.reason else ran.status
    return with_node_gas(plan, NodeGas(block=block, measured=measured, failed=failed))


def _estimate_atomic(plan: Plan, rpc_url: str, *, allow_failing: bool) -> Plan:
    """An atomic plan with its one transaction's gas measured on an anvil fork of `rpc_url` (see the module doc)."""
    from mammon.compile.batching import AUTHORIZATION_GAS, SAFE_SIGNATURE_GAS
    from mammon.node import redact
    from mammon.run.batch import AUTHORIZATION_REFUND, DESIGNATOR, try_batch
    from mammon.fork import Fork
    from mammon.run.safe import try_with_approvals

    batch = plan.batch
    assert batch is not None
    with Fork(rpc_url) as fork:
        if fork.chain_id != plan.chain.id:
            raise InputError(f"the node at {redact(rpc_url)} is chain {fork.chain_id}, the plan is for {plan.chain.name} ({plan.chain.id})",
                             where="--rpc")
        block = fork.block
        if batch.mode == "batch":
            assert batch.delegate is not None
            delegated = (fork.request("eth_getCode", [plan.wallet, "latest"]) or "0x").lower() == "0x" + DESIGNATOR + batch.delegate[2:].lower()
            trial = try_batch(fork, plan)
            extra = 0 if delegated else AUTHORIZATION_GAS - AUTHORIZATION_REFUND
        else:
            assert batch.safe is not None
            trial = try_with_approvals(fork, plan)
            extra = SAFE_SIGNATURE_GAS * batch.safe.threshold
    if trial.failure is not None:
        what = (f"step {trial.step} (inner call {trial.position} of the one {batch.mode} transaction)" if trial.step
                else f"the one {batch.mode} transaction")
        why = f"reverts with {trial.reason}" if trial.step else trial.failure
        if not allow_failing:
            raise PlanError(f"{what} fails in the plan's dry run on the node (fork of block {block}): {why}; the whole transaction would "
                            "revert; no plan written (--allow-failing writes it, marked as failing)", where=f"--rpc {redact(rpc_url)}")
        failed = {trial.step: f"reverted: {why}"} if trial.step else {}
        return with_node_gas(plan, NodeGas(block=block, failed=failed, batch_failed=f"reverted: {what} {why}"))
    assert trial.gas_used is not None
    return with_node_gas(plan, NodeGas(block=block, batch=trial.gas_used + extra))


def _with_batch_node_gas(plan: Plan, node_gas: NodeGas, *, sealed: bool = True) -> Plan:
    """An atomic plan with its one transaction's measured gas (`batch.gas`, `source: node`) and totals, or, when it
    reverted on the fork, its static figure marked `failed_dry_run` (with the failing step's), and a note."""
    from mammon.compile.batching import batch_totals

    batch = plan.batch
    assert batch is not None
    steps, notes = list(plan.steps), list(plan.notes)
    if node_gas.batch is not None:
        gas = Gas(estimate=node_gas.batch, source="node")
    else:
        why = node_gas.batch_failed or "not measured"
        gas = batch.gas.model_copy(update={"failed_dry_run": f"{why} (fork of block {node_gas.block})"})
        steps = [s.model_copy(update={"gas": s.gas.model_copy(update={"failed_dry_run": f"{node_gas.failed[s.id]} (fork of block {node_gas.block})"})})
                 if s.id in node_gas.failed else s for s in steps]
        notes.append(f"gas for the one transaction is the static figure: on the node (fork of block {node_gas.block}) it did not succeed: {why}")
    updated = plan.model_copy(update={"steps": steps, "notes": notes, "batch": batch.model_copy(update={"gas": gas})})
    inputs = plan.inputs.model_copy(update={"node_gas": node_gas}) if plan.inputs else None
    measured_plan = updated.model_copy(update={"totals": batch_totals(updated, gas.estimate), "inputs": inputs})
    return seal(measured_plan) if sealed else measured_plan


def with_node_gas(plan: Plan, node_gas: NodeGas, *, sealed: bool = True) -> Plan:
    """The plan with measured gas applied (`source: node`), a note per step that kept its static figure (a step
    that reverted or failed there is marked `failed_dry_run`), the totals recomputed, and the measurement recorded
    in `inputs.node_gas` so a recompile reproduces it. Re-sealed unless `sealed=False` (see `compile_plan`)."""
    from mammon.compile.compiler import _totals

    if plan.batch is not None:
        return _with_batch_node_gas(plan, node_gas, sealed=sealed)
    steps, notes = [], list(plan.notes)
    for step in plan.steps:
        if step.id in node_gas.measured:
            steps.append(step.model_copy(update={"gas": Gas(estimate=node_gas.measured[step.id], source="node")}))
            continue
        why = node_gas.failed.get(step.id, "not measured")
        if why.startswith(("reverted", "failed")):
            steps.append(step.model_copy(update={"gas": step.gas.model_copy(update={"failed_dry_run": f"{why} (fork of block {node_gas.block})"})}))
        else:
            steps.append(step)
        notes.append(f"gas for step {step.id} is the static figure: on the node (fork of block {node_gas.block}) it did not succeed: {why}")
    # The compiler's own totals; spend is per pulled token, and the tokens it counts are the plan's.
    totals = _totals(steps, plan.market.gas_price_gwei, plan.market.prices_usd, set(plan.totals.spend))
    inputs = plan.inputs.model_copy(update={"node_gas": node_gas}) if plan.inputs else None
    measured_plan = plan.model_copy(update={"steps": steps, "totals": totals, "notes": notes, "inputs": inputs})
    return seal(measured_plan) if sealed else measured_plan


def _why(reason: str | None) -> str:
    """The runner's reason for a failed step, without its advice for a real apply (nothing is sent here)."""
    text = reason or "no reason given"
    m = re.search(r"would revert now: (.*?); nothing was signed", text)
    return f"reverts with {m.group(1)}" if m else text
