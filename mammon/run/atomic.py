"""Applying an atomic plan (`execution: batch|safe`): the whole plan as ONE transaction, journaled before broadcast.

The same order of checks as the step engine (`mammon.run.engine`), for one transaction instead of N:
verify (review decodes the outer call and every inner call and compares them with the steps) ->
chain id -> preconditions (for a Safe: its nonce, threshold and owners) -> policy -> the whole
transaction tried on an anvil fork of the node (the EIP-7702 delegation set, or the Safe's owners'
approvals in place of their signatures) -> sign -> journal the signed bytes -> broadcast -> wait ->
effects per inner call, from the Transfer logs inside each inner call's frame of the transaction's
call trace, and for the whole transaction from balances. A rerun finds the journaled transaction
and looks it up (or rebroadcasts the same signed bytes): it is never signed or sent twice.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from mammon.chains import ChainConfig
from mammon.errors import InputError, MammonError, StalePlanError, WrongChainError
from mammon.plan.model import Plan
from mammon.review import review
from mammon.run import audit, record as journal, state
from mammon.run.base import Outcome, Signed
from mammon.run.engine import ApplyOptions, _existing, _new_record, _registry_chain, _watched, check_preconditions
from mammon.run.policy import enforce
from mammon.run.record import ActualEffect, RunRecord
from mammon.run.rpc import RpcRunner

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class AtomicRunner(RpcRunner):
    """A runner that sends a whole atomic plan as one transaction (`batch`, `safe`)."""

    mode: str = ""

    @abstractmethod
    def sign_batch(self, plan: Plan) -> Signed:
        """Check what the mode needs (delegation / signatures) and sign the one transaction; nothing is sent."""

    @abstractmethod
    def trial(self, plan: Plan) -> str | None:
        """Run the one transaction on an anvil fork of the node; the reason it fails, or None."""

    def sender_check(self, plan: Plan) -> None:
        """Refuse before anything else when the key cannot send this plan's transaction."""

    def inner_deltas(self, tx_hash: str, n_calls: int) -> list[dict[tuple[str, str], int]] | None:
        """Per inner call: (account, token) -> balance change, from the Transfer logs inside the call's trace frame."""
        try:
            trace = self.node.request("debug_traceTransaction", [tx_hash, {"tracer": "callTracer", "tracerConfig": {"withLog": True}}])
        except MammonError:
            return None
        frames = _inner_frames(trace)
        if len(frames) != n_calls:
            return None
        return [_transfers(f) for f in frames]


def _inner_frames(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The inner calls' frames: the CALLs of executeBatch (batch: it runs in the wallet's own frame), or of
    multiSend, reached through the DELEGATECALLs proxy -> Safe singleton -> MultiSendCallOnly (safe;
    ecrecover's STATICCALLs on the way are skipped)."""
    node = trace
    while True:
        calls = node.get("calls") or []
        plain = [c for c in calls if c.get("type") == "CALL"]
        delegated = [c for c in calls if c.get("type") == "DELEGATECALL"]
        if not plain and len(delegated) == 1:
            node = delegated[0]
            continue
        return plain


def _transfers(frame: dict[str, Any]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}

    def walk(f: dict[str, Any]) -> None:
        for log in f.get("logs") or []:
            topics = log.get("topics") or []
            if len(topics) == 3 and topics[0].lower() == TRANSFER_TOPIC:
                token = log["address"].lower()
                value = int(log.get("data") or "0x0", 16)
                src, dst = "0x" + topics[1][-40:].lower(), "0x" + topics[2][-40:].lower()
                out[(src, token)] = out.get((src, token), 0) - value
                out[(dst, token)] = out.get((dst, token), 0) + value
        for child in f.get("calls") or []:
            walk(child)

    walk(frame)
    return out


def apply_atomic(plan: Plan, runner: AtomicRunner, options: ApplyOptions) -> RunRecord:
    """Run an atomic plan through `runner` (one transaction), journaling to options.record_path."""
    opts, now = options, options.now
    chain: ChainConfig | None = opts.chain or _registry_chain(plan)
    review(plan, chain=chain, now=now())
    if plan.batch is None or plan.batch.mode != runner.mode:
        raise InputError(f"the plan's execution is {plan.execution or 'sequential'}; the {runner.name} runner applies only "
                         f"--execution {runner.mode} plans", where="--runner")
    if runner.chain_id() != plan.chain.id:
        raise WrongChainError(f"the {runner.name} runner is on chain {runner.chain_id()}, the plan is for {plan.chain.name} ({plan.chain.id})",
                              where="plan: chain.id")
    runner.sender_check(plan)
    directory = opts.state_dir
    with state.wallet_lock(directory, plan.wallet):
        rec = _existing(plan, opts.record_path, runner.name)
        sent = rec.steps[0] if rec is not None and rec.steps and rec.steps[0].tx_hash else None
        if sent is None:
            check_preconditions(plan, runner)
            enforce(opts.policy, plan, chain, directory, now())
            failure = runner.trial(plan)
            if failure:
                raise StalePlanError([failure], where="preflight (the whole transaction, tried on a fork of the node before signing)")
            signed = runner.sign_batch(plan)
            opts.before_send()
            rec = _new_record(plan, runner, now())
            watched = {(a.lower(), ta.lower()): (a, t, ta, d) for s in plan.steps for a, t, ta, d in _watched(s)}
            before = {k: runner.balance_of(v[2], v[0]) for k, v in watched.items()}
            for n, srec in enumerate(rec.steps):
                step = plan.steps[n]
                srec.status, srec.tx_hash, srec.started_at = "sent", signed.tx_hash, now()
                srec.to, srec.data = step.call.to, step.call.data
                srec.effects = [ActualEffect(account=a, token=t, token_address=ta, decimals=d, before=before[(a.lower(), ta.lower())], after=0)
                                for a, t, ta, d in _watched(step)]
            rec.steps[0].raw_tx = signed.raw_tx
            rec.status = "running"
            journal.write(rec, opts.record_path)  # write-ahead: the signed batch is durable before it leaves
            audit.append(directory, "apply_started", now(), plan=plan.content_hash, runner=runner.name)
            audit.append(directory, "step_sent", now(), plan=plan.content_hash, step="batch", tx=signed.tx_hash)
            opts.progress(f"send  the whole plan as one transaction ({runner.mode}, {len(plan.steps)} calls): {signed.tx_hash[:12]}…")
            runner.broadcast(signed)
            outcome = runner.wait(signed.tx_hash)
        else:
            assert rec is not None
            outcome_or_none = runner.lookup(sent.tx_hash or "")
            if outcome_or_none is None:
                opts.progress(f"resend the journaled transaction {sent.tx_hash}: the node never saw it (same signed bytes)")
                runner.broadcast(Signed(tx_hash=sent.tx_hash or "", raw_tx=sent.raw_tx))
                outcome_or_none = runner.wait(sent.tx_hash or "")
            outcome = outcome_or_none
            audit.append(directory, "apply_resumed", now(), plan=plan.content_hash, runner=runner.name)
        _finish(plan, rec, outcome, runner, opts.now, opts.progress)
        journal.write(rec, opts.record_path)
        audit.append(directory, "apply_finished", now(), plan=plan.content_hash, status=rec.status)
        return rec


def _finish(plan: Plan, rec: RunRecord, outcome: Outcome, runner: AtomicRunner, now: Callable[..., Any], progress: Callable[[str], None]) -> None:
    """Per inner call: effects from the Transfer logs in its trace frame; for the whole transaction: those must add
    up to the balance changes the chain shows (a call trace that misses a change fails the run rather than hide it)."""
    deltas = runner.inner_deltas(outcome.tx_hash, len(plan.steps)) if outcome.status == "ok" else None
    for n, srec in enumerate(rec.steps):
        srec.block, srec.finished_at = outcome.block, now()
        srec.gas_used = outcome.gas_used if n == 0 else 0  # one transaction: its gas is reported once
        srec.fee_wei, srec.l1_fee_wei = (outcome.fee_wei, outcome.l1_fee_wei) if n == 0 else (None, None)
        if outcome.status != "ok":
            srec.status, srec.reason = "reverted", (outcome.revert_reason or "the batch reverted") + " (all or nothing: no call took effect)"
            srec.effects = [e.model_copy(update={"after": e.before}) for e in srec.effects]
            continue
        mine = deltas[n] if deltas is not None else {}
        srec.effects = [e.model_copy(update={"after": e.before + mine.get((e.account.lower(), e.token_address.lower()), 0)}) for e in srec.effects]
        srec.status = "ok" if deltas is not None else "failed"
        srec.reason = None if deltas is not None else "effects per call unavailable (the node gives no call trace with logs)"
    rec.finished_at = now()
    if outcome.status != "ok":
        rec.status = "failed"
        progress(f"REVERTED the batch: {outcome.revert_reason or 'no reason'}; nothing took effect")
        return
    logged: dict[tuple[str, str], ActualEffect] = {}
    for srec in rec.steps:
        for e in srec.effects:
            key = (e.account.lower(), e.token_address.lower())
            first = logged.setdefault(key, e.model_copy(update={"after": e.before}))
            logged[key] = first.model_copy(update={"after": first.after + e.delta})
    mismatch = [f"{e.token} of {e.account}: the calls' logs say {e.delta}, the balance changed by {runner.balance_of(e.token_address, e.account) - e.before}"
                for e in logged.values() if abs(runner.balance_of(e.token_address, e.account) - e.after) > 2]  # aTokens round a wei per transfer
    if mismatch:
        rec.steps[-1].status, rec.steps[-1].reason = "failed", "whole transaction: " + "; ".join(mismatch)
    rec.status = "ok" if all(s.status == "ok" for s in rec.steps) else "failed"
    progress(f"ok    one transaction, {len(plan.steps)} calls, gas {outcome.gas_used:,}, block {outcome.block}")
