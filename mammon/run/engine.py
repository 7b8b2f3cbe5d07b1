"""The apply engine, shared by every runner: the one place that decides whether and how a plan runs.

verify (hash, structure, calldata vs view, expiry, chain, signer) -> preconditions (stale plans are
refused field by field) -> policy -> walk the DAG in order: stop flag, dependencies, resolve
step-output references (within the plan's bounds) and re-encode, journal, sign, broadcast, wait,
measure balances, check guards -> finish the record. Refusals happen before anything is sent;
once sending, the first failure of a step stops its dependents only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mammon import clock
from mammon.abi import decode_call
from mammon.chains import ChainConfig, chain_for_plan
from mammon.errors import InputError, MammonError, PlanError, StalePlanError, WrongChainError
from mammon.plan.model import Call, Plan, Precondition, Step
from mammon.review import review
from mammon.run import audit, record as journal, state
from mammon.run.base import Outcome, Runner, Signed
from mammon.run.policy import Policy, enforce
from mammon.run.record import DONE, ActualEffect, RunRecord, StepRecord
from mammon.units import format_amount

Progress = Callable[[str], None]


@dataclass
class ApplyOptions:
    record_path: Path
    state_dir: Path
    policy: Policy = field(default_factory=Policy)
    chain: ChainConfig | None = None
    progress: Progress = lambda _msg: None
    now: Callable[[], datetime] = clock.now
    before_send: Callable[[], None] = lambda: None  # after every check passed: show the review, ask to confirm (may raise)


def _check_identity(plan: Plan, runner: Runner) -> None:
    chain_id = runner.chain_id()
    if chain_id != plan.chain.id:
        raise WrongChainError(f"the {runner.name} runner is on chain {chain_id}, the plan is for {plan.chain.name} ({plan.chain.id})", where="plan: chain.id")
    account = runner.account()
    if account.lower() != plan.wallet.lower():
        raise WrongChainError(f"the signer is {account}, the plan's wallet is {plan.wallet}", where="plan: wallet")


def _observed(pre: Precondition, runner: Runner) -> int:
    if pre.kind == "allowance":
        return runner.allowance(pre.contract, pre.account or "", pre.spender or "")
    if pre.kind == "rate":
        out = runner.call(pre.contract, pre.data or "0x")
        return int.from_bytes(out[:32], "big")
    return runner.balance_of(pre.contract, pre.account or "")


def check_preconditions(plan: Plan, runner: Runner) -> None:
    """Refuse a stale plan, listing every assumption that no longer holds."""
    changes = []
    for pre in plan.preconditions:
        actual = _observed(pre, runner)
        ok = {"gte": actual >= pre.value, "eq": actual == pre.value, "lte": actual <= pre.value}[pre.op]
        if not ok:
            op = {"gte": ">=", "eq": "==", "lte": "<="}[pre.op]
            what = {"allowance": f"{pre.token} allowance for {pre.spender}", "rate": pre.token}.get(pre.kind, f"{pre.token} balance")
            changes.append(f"{what}: plan assumes {op} {format_amount(pre.value, pre.decimals, pre.token)}, "
                           f"chain has {format_amount(actual, pre.decimals, pre.token)}")
    if changes:
        raise StalePlanError(changes, where="plan: preconditions")


def _set_path(args: dict[str, Any], path: str, value: int) -> None:
    node: Any = args
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def resolve_call(step: Step, rec: RunRecord) -> tuple[Call, dict[str, int]]:
    """The call with step-output references replaced by actual outputs; refuses values outside bounds."""
    if not step.refs:
        return step.call, {}
    fn, args = decode_call(step.call.data)
    resolved: dict[str, int] = {}
    for ref in step.refs:
        total = 0
        for term in ref.ref.split(" + "):
            source, _, name = term.rpartition(".")
            outputs = rec.step(source).outputs
            if name not in outputs:
                raise InputError(f"{term} has no actual value (step {source} did not report it)", where=f"step {step.id}")
            total += outputs[name]
        value = total * ref.num // ref.den
        if not ref.min <= value <= ref.max:
            raise InputError(f"{ref.arg} resolved from ${{{ref.ref}}} to {value}, outside the plan's bounds [{ref.min}, {ref.max}]", where=f"step {step.id}")
        _set_path(args, ref.arg, value)
        resolved[ref.arg] = value
    return Call(to=step.call.to, value=step.call.value, data=fn.encode(args)), resolved


def _watched(step: Step) -> list[tuple[str, str, str, int]]:
    seen: dict[tuple[str, str], tuple[str, str, str, int]] = {}
    for e in step.effects:
        seen.setdefault((e.account.lower(), e.token_address.lower()), (e.account, e.token, e.token_address, e.decimals))
    for o in step.outputs.values():
        seen.setdefault((o.account.lower(), o.token_address.lower()), (o.account, o.token, o.token_address, o.decimals))
    return list(seen.values())


def _guard_failure(step: Step, outcome: Outcome, effects: list[ActualEffect], wallet: str) -> str | None:
    """Checks the chain cannot make for us: Compound-style error codes, and min-out as measured."""
    for guard in step.guards:
        if guard.kind == "return_code":
            data = bytes.fromhex(outcome.return_data.removeprefix("0x") or "")
            code = int.from_bytes(data[:32], "big") if len(data) >= 32 else 0
            if code != guard.value:
                return f"returned error code {code} (expected {guard.value}): {guard.description}"
        elif guard.kind == "min_out" and guard.value and guard.token:
            got = sum(e.delta for e in effects if e.token == guard.token and e.account.lower() == wallet.lower())
            if got < guard.value:
                return f"received {got} {guard.token}, below the minimum {guard.value}"
    return None


def _new_record(plan: Plan, runner: Runner, now: datetime) -> RunRecord:
    return RunRecord(plan_hash=plan.content_hash, chain_id=plan.chain.id, wallet=plan.wallet, runner=runner.name,
                     started_at=now, steps=[StepRecord(id=s.id, gas_estimate=s.gas.estimate) for s in plan.steps])


def _existing(plan: Plan, path: Path, runner_name: str) -> RunRecord | None:
    if not path.exists():
        return None
    rec = journal.load(path)
    if rec.plan_hash != plan.content_hash:
        raise InputError(f"this run record belongs to plan {rec.plan_hash[:19]}…, not {plan.content_hash[:19]}…; choose another -o", where=str(path))
    if rec.runner != runner_name:
        raise InputError(f"this run record is from the {rec.runner} runner, not {runner_name}; choose another -o", where=str(path))
    return rec


def apply_plan(plan: Plan, runner: Runner, options: ApplyOptions) -> RunRecord:
    """Run a verified plan through `runner`, journaling to options.record_path; returns the record."""
    opts, now = options, options.now
    chain = opts.chain or _registry_chain(plan)
    review(plan, chain=chain, now=now())
    _check_identity(plan, runner)
    directory = opts.state_dir
    with state.wallet_lock(directory, plan.wallet):
        rec = _existing(plan, opts.record_path, runner.name)
        resuming = rec is not None and any(s.status != "pending" for s in rec.steps)
        if not resuming:
            check_preconditions(plan, runner)
            enforce(opts.policy, plan, chain, directory, now())
            problems = preflight(plan, runner)
            if problems:
                raise StalePlanError(problems, where="preflight (the whole plan, tried on a copy of the current state)")
            rec = _new_record(plan, runner, now())
        assert rec is not None
        opts.before_send()
        rec.status, rec.stopped_before = "running", None
        journal.write(rec, opts.record_path)
        audit.append(directory, "apply_resumed" if resuming else "apply_started", now(), plan=plan.content_hash, runner=runner.name)
        if execute(plan, runner, rec, opts):
            audit.append(directory, "apply_finished", now(), plan=plan.content_hash, status=rec.status)
        return rec


def execute(plan: Plan, runner: Runner, rec: RunRecord, opts: ApplyOptions) -> bool:
    """Walk the DAG: every step not yet done, in order. False when the stop flag halted the run."""
    for step in _order(plan):
        srec = rec.step(step.id)
        if srec.status in DONE:
            continue
        if state.stop_requested(opts.state_dir):
            _stop(rec, plan, step, opts)
            return False
        failed_dep = next((d for d in step.depends_on if rec.step(d).status != "ok"), None)
        if failed_dep:
            srec.status, srec.reason = "skipped", f"dependency {failed_dep} did not succeed"
            journal.write(rec, opts.record_path)
            opts.progress(f"skip  {step.id}: {srec.reason}")
            continue
        _run_step(plan, step, srec, rec, runner, opts)
    rec.status = "ok" if all(s.status == "ok" for s in rec.steps) else "failed"
    rec.finished_at = opts.now()
    journal.write(rec, opts.record_path)
    return True


def dry_run(plan: Plan, runner: Runner) -> RunRecord:
    """Every step through the same path as a real apply, journaled to a scratch directory.

    For a runner on a throw-away copy of the state (`Runner.scratch()`): the preflight before sending,
    and gas measured on a fork of a node (`mammon.compile.node_gas`).
    """
    with tempfile.TemporaryDirectory(prefix="mammon-dry-run-") as tmp:
        opts = ApplyOptions(record_path=Path(tmp) / "run.json", state_dir=Path(tmp))
        rec = _new_record(plan, runner, opts.now())
        execute(plan, runner, rec, opts)
    return rec


def preflight(plan: Plan, runner: Runner) -> list[str]:
    """What would fail if the plan ran now: the whole plan dry-run on a copy of the runner's state
    (references resolved, guards checked), or the runner's own simulation where it cannot copy."""
    scratch = runner.scratch()
    if scratch is None:
        return [o.revert_reason or "reverted" for o in runner.preflight(plan) or [] if o.status != "ok"]
    with scratch as trial:
        rec = dry_run(plan, trial)
    verbs = {"reverted": "reverts", "failed": "fails"}
    return [f"step {s.id} {verbs.get(s.status, s.status)}: {s.reason}" for s in rec.steps if s.status in verbs]


def _registry_chain(plan: Plan) -> ChainConfig | None:
    """The registry's config of the plan's chain (None for a chain only a --chain-config knows)."""
    try:
        return chain_for_plan(plan.chain.id, plan.chain.name)
    except MammonError:
        return None


def _order(plan: Plan) -> list[Step]:
    from mammon.plan.dag import order

    return order(plan)


def _stop(rec: RunRecord, plan: Plan, step: Step, opts: ApplyOptions) -> None:
    for s in rec.steps:
        if s.status == "pending":
            s.status = "not_run"
    rec.status, rec.stopped_before, rec.finished_at = "stopped", step.id, opts.now()
    journal.write(rec, opts.record_path)
    audit.append(opts.state_dir, "apply_stopped", opts.now(), plan=plan.content_hash, before=step.id)
    opts.progress(f"STOP  emergency stop flag set: halted before {step.id}")


def _run_step(plan: Plan, step: Step, srec: StepRecord, rec: RunRecord, runner: Runner, opts: ApplyOptions) -> None:
    path, now = opts.record_path, opts.now
    watched = _watched(step)
    if srec.status == "sent" and srec.tx_hash:
        outcome = runner.lookup(srec.tx_hash)
        if outcome is None:  # journaled but never seen by the chain: rebroadcast the same signed transaction
            try:
                runner.broadcast(Signed(tx_hash=srec.tx_hash, raw_tx=srec.raw_tx))
                outcome = runner.wait(srec.tx_hash)
            except MammonError as exc:
                srec.status, srec.reason = "failed", f"outcome of {srec.tx_hash} unknown and it cannot be rebroadcast ({exc.message}); check it by hand"
                journal.write(rec, path)
                return
        _finish(step, srec, outcome, srec.effects, runner, rec, opts)
        return
    try:
        call, resolved = resolve_call(step, rec)
    except InputError as exc:
        srec.status, srec.reason = "failed", exc.message
        journal.write(rec, path)
        opts.progress(f"fail  {step.id}: {exc.message}")
        return
    srec.to, srec.data, srec.resolved, srec.started_at = call.to, call.data, resolved, now()
    srec.effects = [ActualEffect(account=a, token=t, token_address=ta, decimals=d, before=runner.balance_of(ta, a), after=0) for a, t, ta, d in watched]
    try:
        signed = runner.sign(step.id, call, gas_estimate=step.gas.estimate)
    except PlanError as exc:  # e.g. the node says it would revert: nothing was sent
        srec.status, srec.reason, srec.finished_at = "failed", f"not sent: {exc.message}", now()
        journal.write(rec, path)
        opts.progress(f"fail  {step.id}: {srec.reason}")
        return
    srec.status, srec.tx_hash, srec.raw_tx, srec.simulated = "sent", signed.tx_hash, signed.raw_tx, runner.simulated
    journal.write(rec, path)  # write-ahead: the hash is durable before the transaction leaves
    audit.append(opts.state_dir, "step_sent", now(), plan=plan.content_hash, step=step.id, tx=signed.tx_hash)
    opts.progress(f"send  {step.id}: {step.description} ({signed.tx_hash[:12]}…)")
    runner.broadcast(signed)
    outcome = runner.wait(signed.tx_hash)
    _finish(step, srec, outcome, srec.effects, runner, rec, opts)


def _finish(step: Step, srec: StepRecord, outcome: Outcome, before: list[ActualEffect], runner: Runner, rec: RunRecord, opts: ApplyOptions) -> None:
    srec.effects = [e.model_copy(update={"after": runner.balance_of(e.token_address, e.account)}) for e in before]
    srec.gas_used, srec.block, srec.return_data = outcome.gas_used, outcome.block, outcome.return_data
    srec.fee_wei, srec.l1_fee_wei = outcome.fee_wei, outcome.l1_fee_wei
    srec.finished_at = opts.now()
    if outcome.status == "reverted":
        srec.status, srec.reason = "reverted", outcome.revert_reason or "reverted without a reason"
    else:
        failure = _guard_failure(step, outcome, srec.effects, rec.wallet)
        srec.status, srec.reason = ("failed", failure) if failure else ("ok", None)
    if srec.status == "ok":
        for name, out in step.outputs.items():
            srec.outputs[name] = sum(e.delta for e in srec.effects if e.account.lower() == out.account.lower() and e.token_address.lower() == out.token_address.lower())
        for pull in step.pulls:
            spent = -sum(e.delta for e in srec.effects if e.account.lower() == rec.wallet.lower() and e.token_address.lower() == pull.token_address.lower())
            if spent > 0 and not runner.simulated:  # dry runs do not use up the real daily limit
                state.record_spend(opts.state_dir, opts.now(), pull.token, spent, rec.plan_hash)
    journal.write(rec, opts.record_path)
    audit.append(opts.state_dir, "step_done", opts.now(), plan=rec.plan_hash, step=step.id, status=srec.status, tx=srec.tx_hash)
    word = {"ok": "ok   ", "reverted": "REVERTED", "failed": "FAILED"}[srec.status]
    opts.progress(f"{word} {step.id}: gas {srec.gas_used:,}" + (f" · {srec.reason}" if srec.reason else ""))
