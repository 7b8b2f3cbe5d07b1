"""The apply engine, shared by every runner: the one place that decides whether and how a plan runs.

verify (hash, structure, calldata vs view, chain, signer) -> lock the chain+wallet -> for a plan
nothing was sent for yet: expiry, replay refusal (the audit log knows which plans were applied),
preconditions (stale plans are refused field by field), policy, preflight -> walk the DAG in order:
stop flag, dependencies, resolve step-output references (within the plan's bounds) and re-encode,
audit, journal, sign, broadcast, wait, measure balances, check guards -> finish the record.
Refusals happen before anything is sent; once sending, the first failure of a step stops its
dependents only. A fresh simulated apply makes the run itself in place of the preflight, on a
simulator it can roll back, and keeps it when every step succeeded (`_speculate`): one pass, not two.

Resuming (the same run record again, after a crash, `mammon stop`, a node failure): steps on the
wire (`sent`) are resolved first: looked up, rebroadcast from their journaled bytes when the node
never saw them, or marked `dropped` when another transaction took their nonce. Resolving is always
allowed, even past `valid_until`. Before anything new is signed, the plan is checked again on the
chain as it is now: all of it (expiry, replay, preconditions, policy, preflight) when nothing was
sent yet, else expiry and a preflight of the remaining steps. A node that fails mid-run leaves the
run `interrupted` with its steps `sent`, never `failed`: only the chain decides a step's outcome.

Every transition is written to the audit log first, then to the journal, so the log alone knows
every transaction that may have left (replays are refused from it, spends are counted from it) and
the journal carries the log's anchor.
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from datetime import datetime
from pathlib import Path
from typing import Any

from mammon.abi import Function, called, decode_call
from mammon.chains import ChainConfig
from mammon.compile.recompile import check_recompiles
from mammon.errors import InputError, MammonError, PlanError, StalePlanError, WrongChainError
from mammon.plan.approvals import require as require_approvals
from mammon.plan.dag import order
from mammon.plan.model import Call, Plan, Precondition, Step
from mammon.review import Review, check_expiry, review
from mammon.run import audit, record as journal, state
from mammon.run.base import Outcome, Runner, Signed, TxDropped
from mammon.run.killpoints import killpoint, suspended
from mammon.run.policy import enforce
from mammon.run.record import DONE, ActualEffect, RunRecord, StepRecord
# The shared rules of every apply (also mammon.run.atomic's); ApplyOptions, ReplayRefused and on_the_wire are used from here too.
from mammon.run.session import (ApplyOptions, Progress, ReplayRefused, Verified, existing_journal, log_event, new_record, no_progress,
                                on_the_wire, refuse_replay, registry_chain, watched_balances)
from mammon.units import format_amount

__all__ = ["ApplyOptions", "Progress", "ReplayRefused", "Verified", "apply_plan", "check_preconditions", "dry_run", "execute", "on_the_wire",
           "preflight", "resolve_call", "verify"]


def verify(plan: Plan, chain: ChainConfig | None, *, now: datetime, where: str = "plan", allow_expired: bool = True) -> Verified:
    """Review the plan (its bytes against its views, the registry) and compile it again from its own inputs;
    raises on the first problem. Expiry is checked only without `allow_expired` (apply checks it before each new send)."""
    rv = review(plan, chain=chain, now=now, where=where, allow_expired=allow_expired)
    check_recompiles(plan, rv.chain, where=where)
    rv.checks.append("compiled again from its own recorded inputs: identical")  # the review apply shows says so, as show does
    return Verified(plan, chain, rv)


def reviewed(plan: Plan, opts: ApplyOptions, chain: ChainConfig | None) -> tuple[Review, bool]:
    """The plan's review, and whether it was verified already: apply_file's verification of this very plan
    object when given, else a fresh review (the caller then checks the recompile). Expiry guards new sends
    only: the appliers check it before the first one."""
    done = opts.verified
    if done is not None and done.plan is plan and done.chain is opts.chain:
        return done.review, True
    return review(plan, chain=chain, now=opts.now(), allow_expired=True), False


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
        resolved[ref.arg] = value
    return _resolved_call(step.call.to, step.call.value, step.call.data, tuple(resolved.items())), resolved


@lru_cache(maxsize=1024)
def _resolved_call(to: str, value: int, data: str, values: tuple[tuple[str, int], ...]) -> Call:
    """`data` re-encoded with the arguments at these paths set to these values: a pure function of its inputs, so the
    real run re-uses what the preflight worked out for the same step and outputs (a Call is frozen, so shared).
    The calldata is a verified plan's: review decoded these very bytes, so decoding them cannot fail here.
    Its arguments are named only where the words cannot be patched in place (`called` finds the function alone)."""
    patched = _patched(called(data), data, values)
    return Call(to=to, value=value, data=patched if patched is not None else _reencoded(*decode_call(data), values))


def _reencoded(fn: Function, args: dict[str, Any], values: tuple[tuple[str, int], ...]) -> str:
    """The call decoded, the arguments at these paths set, encoded again (any ABI type, any path)."""
    for path, resolved in values:
        _set_path(args, path, resolved)
    return fn.encode(args)


def _patched(fn: Function, data: str, values: tuple[tuple[str, int], ...]) -> str | None:
    """What `_reencoded` gives, by replacing the words of the resolved arguments in `data`, where that is the same:
    a call whose every parameter is one head word, `data` exactly that long, in lower-case hex, strictly decoded
    already (so every other word is one its value re-encodes to: no dirty padding, no trailing bytes), and each
    resolved argument a top-level uint256. None otherwise (the caller re-encodes). Decoding and encoding a
    whole call again for one amount cost more than the rest of a simulated step's bookkeeping."""
    words = fn.uint256_words
    if words is None or len(data) != 10 + 64 * len(fn.inputs) or data != data.lower():
        return None
    for path, resolved in values:
        n = words.get(path)
        if n is None or type(resolved) is not int or not 0 <= resolved <= _MAX_UINT256:
            return None
        start = 10 + 64 * n
        data = data[:start] + format(resolved, "064x") + data[start + 64:]
    return data


_MAX_UINT256 = 2**256 - 1


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


def _save(rec: RunRecord, opts: ApplyOptions, *steps: StepRecord) -> None:
    """Journal a change: the run's own fields and the steps given (the ones that changed)."""
    if opts.journal is None:
        opts.journal = journal.Journal(opts.record_path)
    opts.journal.save(rec, steps)


def _write_simulated(rec: RunRecord, opts: ApplyOptions) -> None:
    """The end of a simulated run, however it ended: its audit events, then its record, each written once."""
    if opts.audit_buffer:
        rec.audit_seq, rec.audit_hash = audit.append_many(opts.state_dir, opts.audit_buffer)
        opts.audit_buffer.clear()
    if opts.journal is not None:
        opts.journal.close(rec)


def _fresh_checks(plan: Plan, runner: Runner, opts: ApplyOptions, chain: ChainConfig | None) -> dict[str, Any] | None:
    """What a plan must pass before its first transaction, the preflight aside; returns the replay note to audit."""
    check_expiry(plan, opts.now())
    replay = None if runner.simulated else refuse_replay(plan, opts)
    check_preconditions(plan, runner)
    enforce(opts.policy, plan, chain, opts.state_dir, opts.now())
    return replay


def _preflight_or_refuse(plan: Plan, runner: Runner) -> None:
    problems = preflight(plan, runner)
    if problems:
        raise StalePlanError(problems, where="preflight (the whole plan, tried on a copy of the current state)")


# Off: every simulated apply takes the classic path (preflight, then the run); the differential test compares both.
SPECULATE = True


def apply_plan(plan: Plan, runner: Runner, options: ApplyOptions) -> RunRecord:
    """Run a verified plan through `runner`, journaling to options.record_path; returns the record.

    A real run appends every change to the journal (durably, before what follows it); a simulated run
    keeps its record and audit events in memory and writes them once, when it ends."""
    simulated = runner.simulated
    opts = dataclasses.replace(options, audit_buffer=[] if simulated else None)
    now = opts.now
    chain = opts.chain or registry_chain(plan)
    rv, verified = reviewed(plan, opts, chain)
    _check_identity(plan, runner)
    runner.max_fee_multiple = opts.policy.max_fee_multiple  # the fee ceiling a runner that sets fees signs under
    if not verified:
        check_recompiles(plan, rv.chain)
    require_approvals(plan, opts.approvals, opts.policy.required_approvals, opts.policy.approvers)
    with state.wallet_lock(opts.state_dir, plan.wallet, plan.chain.id):
        rec, continues = existing_journal(plan, opts.record_path, runner.name)
        opts.journal = journal.Journal(opts.record_path, durable=not simulated, started=continues and not simulated)
        resuming = on_the_wire(rec)
        replay = None
        if not resuming:
            replay = _fresh_checks(plan, runner, opts, chain)
            if rec is None and replay is None:
                done = _speculate(plan, runner, opts)
                if done is not None:
                    return done
            _preflight_or_refuse(plan, runner)
            if rec is None:
                rec = new_record(plan, runner, now())
        assert rec is not None
        opts.before_send()
        return _run(plan, runner, rec, opts, replay=replay, resuming=resuming)


def _run(plan: Plan, runner: Runner, rec: RunRecord, opts: ApplyOptions, *, replay: dict[str, Any] | None = None,
         resuming: bool = False, write_simulated: bool = True) -> RunRecord:
    """The run itself, once every check passed and the user saw the review: the record marked running, the DAG walked.
    A simulated run writes its record and audit events when it ends, unless `write_simulated` is off (`_speculate`)."""
    rec.format_version = journal.RECORD_VERSION
    rec.status, rec.stopped_before, rec.interrupted, rec.finished_at = "running", None, None, None
    reset = [s for s in rec.steps if s.status == "not_run"]
    for s in reset:
        s.status = "pending"
    try:
        if replay:
            rec.allow_replay = True
            log_event(rec, opts, "replay_allowed", **replay)
        log_event(rec, opts, "apply_resumed" if resuming else "apply_started", runner=runner.name, simulated=runner.simulated,
                  chain=plan.chain.id, wallet=plan.wallet, record=str(opts.record_path.resolve()))
        _save(rec, opts, *reset)
        killpoint("apply_started")
        try:
            execute(plan, runner, rec, opts, recheck=resuming)
        except (Exception, KeyboardInterrupt) as exc:  # not only MammonError (a bug, a node's garbage): no record left `running`
            _halted(rec, opts, exc)
            raise
    finally:
        if runner.simulated and write_simulated:  # however the run ended (a crash of this process aside: nothing real was at stake)
            _write_simulated(rec, opts)
    return rec


def _speculate(plan: Plan, runner: Runner, opts: ApplyOptions) -> RunRecord | None:
    """A fresh simulated apply in one pass instead of two: the run itself, on the live simulator, kept when every
    step ended `ok`; None (the simulator as it was, nothing written) for the classic path otherwise.

    Why that is the classic path's outcome: there, the preflight dry-runs the plan on a copy of this very state
    and the run follows, after `before_send`, on the state the copy came from. The simulator is deterministic
    and single-threaded, and under the wallet lock nothing else changes it in between, so a run that succeeds
    here is the run the classic path makes once its preflight passed. Anything else (a step that did not
    succeed, the stop flag, a MammonError) takes the run back, and the classic path then refuses, stops or
    fails as it always did; any other exception (Ctrl-C, a bug) takes it back and propagates, as it would
    from the preflight. A stop flag set while `before_send` showed the review stops the run before its first
    step, as there. Only for a caller that takes no progress: lines shown before the review would come out of
    order, and a callback could act on a run that already happened. What differs: the record's and the audit
    events' times are taken before `before_send` returns, not after (a fixed clock gives the same record);
    kill points (tests) fire during the speculative run.
    """
    rollback = runner.checkpoint() if SPECULATE and runner.simulated and opts.progress is no_progress else None
    if rollback is None:
        return None
    trial = dataclasses.replace(opts, audit_buffer=[])
    rec = new_record(plan, runner, opts.now())
    try:
        _run(plan, runner, rec, trial, write_simulated=False)
        kept = rec.status == "ok"
    except MammonError:
        kept = False
    except BaseException:
        rollback()
        raise
    if not kept:
        rollback()
        return None
    try:
        opts.before_send()
        stopped = state.stop_requested(opts.state_dir)
    except BaseException:
        rollback()
        raise
    if stopped:
        rollback()
        return _run(plan, runner, new_record(plan, runner, opts.now()), opts)
    _write_simulated(rec, trial)
    return rec


def _halted(rec: RunRecord, opts: ApplyOptions, exc: BaseException) -> None:
    """A run that stopped without finishing: `refused` (a check before a new send) or `interrupted`
    (the node, the nonce or the user); steps on the wire stay `sent` for the rerun to resolve."""
    message = exc.message if isinstance(exc, MammonError) else exc.__class__.__name__
    rec.status = "refused" if isinstance(exc, PlanError) else "interrupted"
    rec.interrupted, rec.finished_at = message, opts.now()
    try:
        log_event(rec, opts, f"apply_{rec.status}", reason=message[:500])
        _save(rec, opts)
    except (OSError, MammonError):
        pass  # the original error is the one to report; the journal already holds every transition


def execute(plan: Plan, runner: Runner, rec: RunRecord, opts: ApplyOptions, *, recheck: bool = False) -> bool:
    """Walk the DAG: every step not yet done, in order. False when the stop flag halted the run.

    `recheck`: a resumed run whose chain may have moved: before its first new send, the plan is
    checked again (expiry; a preflight of the remaining steps).
    """
    # The stop flag, looked for before each step (a dry run's cannot exist: not looked for). os.access answers
    # without raising and catching FileNotFoundError as Path.exists does: a sixth of the engine's own time per step.
    flag = None if opts.state_dir is _NOWHERE else os.fspath(state.stop_flag(opts.state_dir))
    for step in order(plan):
        srec = rec.step(step.id)
        if srec.status in DONE:
            continue
        if srec.status == "sent" and srec.tx_hash:
            if _resolve(plan, step, srec, rec, runner, opts):
                continue
            recheck = True  # dropped: signed again below, once the plan is checked on the chain as it is now
        if flag is not None and os.access(flag, os.F_OK):
            _stop(rec, plan, step, opts)
            return False
        failed_dep = _failed_dependency(step, rec)
        if failed_dep:
            srec.status, srec.reason = "skipped", f"dependency {failed_dep} did not succeed"
            _save(rec, opts, srec)
            opts.progress(f"skip  {step.id}: {srec.reason}")
            continue
        if recheck:
            _recheck(plan, runner, rec, opts)
            recheck = False
        _run_step(plan, step, srec, rec, runner, opts)
    rec.status = "ok" if all(s.status == "ok" for s in rec.steps) else "failed"
    rec.finished_at = opts.now()
    log_event(rec, opts, "apply_finished", status=rec.status)
    _save(rec, opts)
    return True


def _failed_dependency(step: Step, rec: RunRecord) -> str | None:
    """The first of the step's dependencies that did not end `ok` (a loop: no generator object per step)."""
    for dep in step.depends_on:
        if rec.step(dep).status != "ok":
            return dep
    return None


def _recheck(plan: Plan, runner: Runner, rec: RunRecord, opts: ApplyOptions) -> None:
    """Before the first new send of a resumed run: still valid, and the remaining steps still pass."""
    check_expiry(plan, opts.now())
    problems = preflight(plan, runner, rec)
    if problems:
        raise StalePlanError(problems + ["nothing more was sent; the run record keeps the finished steps"],
                             where="preflight (the remaining steps, tried on a copy of the current state)")


# A dry run writes nothing: its record and audit events stay in memory, and its state directory is a path that
# cannot exist (no stop flag is ever found there, and a write would fail loudly). Creating and removing a
# temporary directory instead cost milliseconds of file-system metadata work per preflight.
_NOWHERE = Path(os.devnull) / "mammon-dry-run"


def dry_run(plan: Plan, runner: Runner, done: RunRecord | None = None) -> RunRecord:
    """Every step through the same path as a real apply, its record kept in memory (nothing is written).

    For a runner on a throw-away copy of the state (`Runner.scratch()`): the preflight before sending,
    and gas measured on a fork of a node (`mammon.compile.node_gas`). `done`: a run record whose
    finished steps are taken as they are (their outputs feed the remaining steps' references).
    """
    with suspended():
        opts = ApplyOptions(record_path=_NOWHERE / "run.json", state_dir=_NOWHERE, audit_buffer=[])
        opts.journal = journal.Journal(None, durable=False)
        rec = new_record(plan, runner, opts.now())
        if done is not None:
            rec.steps = [s.model_copy(deep=True) if s.status in DONE else StepRecord(id=s.id, gas_estimate=s.gas_estimate) for s in done.steps]
        execute(plan, runner, rec, opts)
    return rec


def preflight(plan: Plan, runner: Runner, done: RunRecord | None = None) -> list[str]:
    """What would fail if the plan (its steps not yet done in `done`) ran now: dry-run on a copy of the
    runner's state (references resolved, guards checked), or the runner's own simulation where it cannot copy."""
    scratch = runner.scratch()
    finished = {s.id for s in done.steps if s.status in DONE} if done is not None else set()
    if scratch is None:
        remaining = plan if not finished else plan.model_copy(update={"steps": [s for s in plan.steps if s.id not in finished]})
        return [o.revert_reason or "reverted" for o in runner.preflight(remaining) or [] if o.status != "ok"]
    with scratch as trial:
        killpoint("preflight")
        rec = dry_run(plan, trial, done)
    verbs = {"reverted": "reverts", "failed": "fails"}
    return [f"step {s.id} {verbs.get(s.status, s.status)}: {s.reason}" for s in rec.steps if s.status in verbs and s.id not in finished]


def _stop(rec: RunRecord, plan: Plan, step: Step, opts: ApplyOptions) -> None:
    halted = [s for s in rec.steps if s.status == "pending"]
    for s in halted:
        s.status = "not_run"
    rec.status, rec.stopped_before, rec.finished_at = "stopped", step.id, opts.now()
    log_event(rec, opts, "apply_stopped", before=step.id)
    _save(rec, opts, *halted)
    opts.progress(f"STOP  emergency stop flag set: halted before {step.id}")


def _resolve(plan: Plan, step: Step, srec: StepRecord, rec: RunRecord, runner: Runner, opts: ApplyOptions) -> bool:
    """A step journaled `sent` by an earlier run: find out what became of it. True when it is now
    done; False when it was dropped (the caller signs it again). A node that cannot answer raises
    (the step stays `sent`: outcome unknown, never `failed`)."""
    assert srec.tx_hash is not None
    signed = Signed(tx_hash=srec.tx_hash, raw_tx=srec.raw_tx, nonce=srec.nonce)
    runner.journaled(signed)
    try:
        outcome = runner.lookup(srec.tx_hash)
        if outcome is None:  # journaled but never seen by the chain: rebroadcast the same signed transaction
            opts.progress(f"send  {step.id}: rebroadcasting the journaled {srec.tx_hash[:12]}…")
            runner.broadcast(signed)
            outcome = runner.wait(srec.tx_hash)
    except TxDropped as exc:
        _dropped(srec, rec, opts, exc)
        return False
    _finish(step, srec, outcome, srec.effects, runner, rec, opts)
    return True


def _dropped(srec: StepRecord, rec: RunRecord, opts: ApplyOptions, exc: TxDropped) -> None:
    srec.replaced.append(exc.tx_hash)
    srec.status, srec.conflict_tx, srec.reason = "dropped", exc.conflict, exc.message
    srec.tx_hash, srec.raw_tx, srec.nonce = None, None, None
    log_event(rec, opts, "step_dropped", step=srec.id, tx=exc.tx_hash, conflict=exc.conflict)
    _save(rec, opts, srec)
    opts.progress(f"DROP  {srec.id}: {exc.message}")


def _adopted(srec: StepRecord, rec: RunRecord, opts: ApplyOptions, tx_hash: str) -> None:
    """The step's outcome is `tx_hash`'s, a transaction with its nonce and call: the record names it, the journaled one in `replaced`."""
    log_event(rec, opts, "step_replaced", step=srec.id, tx=srec.tx_hash, by=tx_hash)
    srec.replaced.append(srec.tx_hash or "")
    srec.tx_hash, srec.raw_tx = tx_hash, None
    opts.progress(f"note  {srec.id}: {srec.replaced[-1][:12]}… was replaced by {tx_hash[:12]}… (same call, other fees); its receipt is the step's")


def _run_step(plan: Plan, step: Step, srec: StepRecord, rec: RunRecord, runner: Runner, opts: ApplyOptions) -> None:
    now = opts.now
    watched = watched_balances(step)
    try:
        call, resolved = resolve_call(step, rec)
    except InputError as exc:
        srec.status, srec.reason = "failed", exc.message
        _save(rec, opts, srec)
        opts.progress(f"fail  {step.id}: {exc.message}")
        return
    srec.begin(call.to, call.data, resolved, now())
    before = _balances(runner, [(ta, a) for a, _t, ta, _d in watched])
    srec.effects = [ActualEffect(account=a, token=t, token_address=ta, decimals=d, before=b, after=0) for (a, t, ta, d), b in zip(watched, before)]
    try:
        signed = runner.sign(step.id, call, gas_estimate=step.gas.estimate)
    except PlanError as exc:  # e.g. the node says it would revert: nothing was sent
        real_progress = not runner.simulated and any(s.status in DONE for s in rec.steps)
        kept = "; the run record keeps the finished steps" if real_progress else ""
        srec.status, srec.reason, srec.finished_at = "failed", f"not sent: {exc.message}{kept}", now()
        _save(rec, opts, srec)
        opts.progress(f"fail  {step.id}: {srec.reason}")
        return
    srec.sent(signed.tx_hash, signed.raw_tx, signed.nonce, runner.simulated)
    log_event(rec, opts, "step_sent", step=step.id, tx=signed.tx_hash, nonce=signed.nonce, simulated=runner.simulated)
    killpoint("step_signed")
    _save(rec, opts, srec)  # write-ahead: the hash is durable before the transaction leaves
    killpoint("step_journaled")
    if opts.progress is not no_progress:  # the line is not even formatted for nobody
        opts.progress(f"send  {step.id}: {step.description} ({signed.tx_hash[:12]}…)")
    try:
        runner.broadcast(signed)
        killpoint("step_broadcast")
        outcome = runner.wait(signed.tx_hash)
    except TxDropped as exc:
        _dropped(srec, rec, opts, exc)
        raise TxDropped(exc.tx_hash, exc.nonce, exc.conflict, where=f"step {step.id}") from None
    _finish(step, srec, outcome, srec.effects, runner, rec, opts)


def _balances(runner: Runner, pairs: list[tuple[str, str]]) -> list[int]:
    """`runner.balances(pairs)`, not asked for no balance at all (an approve watches none: a third of a move's steps)."""
    return runner.balances(pairs) if pairs else []


def _finish(step: Step, srec: StepRecord, outcome: Outcome, before: list[ActualEffect], runner: Runner, rec: RunRecord, opts: ApplyOptions) -> None:
    if outcome.tx_hash != srec.tx_hash and srec.tx_hash is not None:  # a same-call replacement (a wallet's "speed up") was mined
        _adopted(srec, rec, opts, outcome.tx_hash)
    after = _balances(runner, [(e.token_address, e.account) for e in before])
    for effect, balance in zip(before, after):  # the step's own effects (the list `_run_step` or the journal made)
        effect.after = balance
    srec.landed(before, outcome.gas_used, outcome.block, outcome.return_data, outcome.fee_wei, outcome.l1_fee_wei, opts.now())
    if outcome.status == "reverted":
        srec.status, srec.reason = "reverted", outcome.revert_reason or "reverted without a reason"
    else:
        failure = _guard_failure(step, outcome, srec.effects, rec.wallet) if step.guards else None
        srec.status, srec.reason = ("failed", failure) if failure else ("ok", None)
    spent: dict[str, str] = {}
    if srec.status == "ok" and (step.outputs or step.pulls):  # what the step's balances moved: its outputs, its spend
        moved = [(e.account.lower(), e.token_address.lower(), e.delta) for e in srec.effects]  # each balance's change, by (account, token)
        for name, out in step.outputs.items():
            account, token = out.account.lower(), out.token_address.lower()
            srec.outputs[name] = sum(delta for a, t, delta in moved if a == account and t == token)
        wallet = rec.wallet.lower()
        for pull in step.pulls:
            token = pull.token_address.lower()
            amount = -sum(delta for a, t, delta in moved if a == wallet and t == token)
            if amount > 0 and not runner.simulated:  # dry runs do not use up the real daily limit
                spent[pull.token] = str(int(spent.get(pull.token, "0")) + amount)
    # One record for the outcome and its spend: the audit log (spends are counted from it, once per tx).
    log_event(rec, opts, "step_done", step=step.id, status=srec.status, tx=srec.tx_hash, simulated=runner.simulated, spent=spent)
    killpoint("step_outcome")
    _save(rec, opts, srec)
    killpoint("step_done")
    if opts.progress is not no_progress:
        word = {"ok": "ok   ", "reverted": "REVERTED", "failed": "FAILED"}[srec.status]
        opts.progress(f"{word} {step.id}: gas {srec.gas_used:,}" + (f" · {srec.reason}" if srec.reason else ""))
