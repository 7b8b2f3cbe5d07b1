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
from dataclasses import dataclass
from typing import Any, ClassVar

from mammon.chains import ChainConfig
from mammon.errors import InputError, MammonError, StalePlanError, WrongChainError
from mammon.plan.model import Plan
from mammon.run import record as journal, state
from mammon.run.base import Outcome, Runner, Signed, TxDropped
from mammon.review import check_expiry
from mammon.compile.recompile import check_recompiles
from mammon.plan.approvals import require as require_approvals
from mammon.run.engine import check_preconditions, reviewed
from mammon.run.session import ApplyOptions, existing_record, log_event, new_record, refuse_replay, registry_chain, watched_balances
from mammon.run.policy import enforce
from mammon.run.record import ActualEffect, RunRecord, StepRecord
from mammon.run.rpc import RpcRunner, with_margin

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@dataclass(frozen=True)
class Trial:
    """The one transaction of an atomic plan, run on a fork: the gas it used, or why it reverts.

    When the call trace shows which inner call failed, `step` and `position` (1-based) name it and
    `reason` is that call's own decoded revert reason (a Safe or a batch only says that one failed)."""

    gas_used: int | None
    failure: str | None = None
    step: str | None = None
    position: int | None = None
    reason: str | None = None

    @property
    def refusal(self) -> str:
        """The runner's one-line refusal for a failed trial."""
        return f"the whole transaction reverts: {self.failure}; nothing was signed or sent"


def send_on_fork(fork: Any, plan: Plan, sender: str, to: str, data: str, gas: int) -> Trial:
    """Send the plan's one transaction on `fork` (an impersonated `sender`, `gas` doubled: the trial must not run out) and
    mine it; a revert is explained by the first inner call that failed in the transaction's call trace, else by the outer call."""
    from mammon.node import decode_revert

    tx = {"from": sender, "to": to, "data": data, "gas": hex(max(gas * 2, 1_000_000))}
    tx_hash = fork.request("eth_sendTransaction", [tx])
    receipt = fork.request("eth_getTransactionReceipt", [tx_hash])
    if receipt is None:
        fork.mine()
        receipt = fork.request("eth_getTransactionReceipt", [tx_hash])
    if receipt and int(receipt.get("status", "0x0"), 16) == 1:
        return Trial(gas_used=int(receipt["gasUsed"], 16))
    inner = _failed_inner_call(fork, tx_hash) if receipt else None
    if inner is not None and inner[0] < len(plan.steps):
        n, reason = inner
        step = plan.steps[n].id
        return Trial(None, failure=f"inner call {n + 1} (step {step}) reverts with {reason}", step=step, position=n + 1, reason=reason)
    try:
        fork.request("eth_call", [tx, hex(int(receipt["blockNumber"], 16) - 1)] if receipt else [tx, "latest"])
        reason = "reverted (out of gas, or depended on the block)"
    except Exception as exc:  # NodeError carries the revert data
        reason = decode_revert(getattr(exc, "data", None), getattr(exc, "node_message", str(exc)))
    return Trial(None, failure=reason)


def tried_on_fork(rpc_url: str, attempt: Callable[[Any], Trial]) -> str | None:
    """`attempt` on an anvil fork of `rpc_url` (stopped after); the runner's refusal when it fails, or None."""
    from mammon.fork import Fork

    with Fork(rpc_url) as fork:
        tried = attempt(fork)
    return tried.refusal if tried.failure else None


def _failed_inner_call(fork: Any, tx_hash: str) -> tuple[int, str] | None:
    """(index, decoded reason) of the first inner call whose frame failed, from the fork's call trace; None without a trace."""
    from mammon.node import decode_revert

    try:
        trace = fork.request("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])
    except MammonError:
        return None
    for n, frame in enumerate(_inner_frames(trace or {})):
        if frame.get("error"):
            out = str(frame.get("output") or "0x")
            data = bytes.fromhex(out[2:]) if len(out) > 2 else None
            return n, decode_revert(data, str(frame.get("revertReason") or frame.get("error") or ""))
    return None


class AtomicRunner(RpcRunner):
    """A runner that sends a whole atomic plan as one transaction (`batch`, `safe`)."""

    mode: str = ""

    @classmethod
    def create(cls, plan: Plan, **options: Any) -> Runner:
        """The rpc runner's node and key (`RpcRunner.create` builds this class); no `fork_url`: the one
        transaction is always tried on a fork of the node by `trial`."""
        return super().create(plan, **{k: v for k, v in options.items() if k != "fork_url"})

    def start_preflight_fork(self) -> None:
        """No early fork: `trial` forks the chain itself, to set the delegation or the owners' approvals first."""

    def sign_batch(self, plan: Plan) -> Signed:
        """Sign the one transaction (nothing is sent): `batch_call`'s target and calldata at the next nonce, EIP-1559 fees
        and the plan's gas with the margin, plus what `authorize` adds; its nonce and bytes are kept for `broadcast`."""
        assert self._signer is not None and plan.batch is not None
        to, data = self.batch_call(plan)
        nonce = self._take_nonce("batch")
        max_fee, tip = self._fees()
        tx: dict[str, Any] = {"type": 2, "chainId": self.node.chain_id, "nonce": nonce, "to": to, "value": 0, "data": data,
                              "gas": with_margin(plan.batch.gas.estimate), "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}
        used = 1 + self.authorize(plan, tx)
        tx_hash, raw = self._signer.sign_transaction(tx)
        self._nonces[tx_hash], self._raw[tx_hash] = nonce, raw
        self._next_nonce = nonce + used
        return Signed(tx_hash=tx_hash, raw_tx=raw, nonce=nonce)

    @abstractmethod
    def batch_call(self, plan: Plan) -> tuple[str, str]:
        """(to, calldata) of the one transaction; checks what the mode needs (e.g. the owners' signatures)."""

    def authorize(self, plan: Plan, tx: dict[str, Any]) -> int:
        """Add what the mode's transaction carries beyond a type-2 call; the nonces of the sender it uses besides its own."""
        return 0

    #: The trial's refusal when anvil is missing, before ": <why>".
    untried: ClassVar[str] = "cannot try the transaction before signing"

    def trial(self, plan: Plan) -> str | None:
        """Run the one transaction on an anvil fork of the node (`try_on_fork`); the reason it fails, or None.

        The call is built before the fork starts: building it checks what the mode needs (the Safe's signatures
        file), and a bad one is refused without starting anvil."""
        from mammon.devnet.anvil import find_anvil
        from mammon.errors import DevnetError

        try:
            find_anvil()
        except DevnetError as exc:
            return f"{self.untried}: {exc.message}"
        call = self.batch_call(plan)
        return tried_on_fork(self.node.url, lambda fork: self.try_on_fork(fork, plan, call))

    @abstractmethod
    def try_on_fork(self, fork: Any, plan: Plan, call: tuple[str, str]) -> Trial:
        """The one transaction on `fork`, as this runner will send it (the gas it uses, or why it reverts);
        `call` is `batch_call`'s (to, calldata), built before the fork."""

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
    """Run an atomic plan through `runner` (one transaction), journaling to options.record_path.

    A record whose transaction is on the wire is resumed (looked up, or the same bytes rebroadcast); one whose
    transaction was dropped (another transaction took its nonce: it can never be mined) is checked again like a
    fresh plan and signed again at the wallet's next nonce, as the step engine does for a dropped step."""
    opts = options
    chain: ChainConfig | None = opts.chain or registry_chain(plan)
    rv, verified = reviewed(plan, opts, chain)
    if plan.batch is None or plan.batch.mode != runner.mode:
        raise InputError(f"the plan's execution is {plan.execution or 'sequential'}; the {runner.name} runner applies only "
                         f"--execution {runner.mode} plans", where="--runner")
    if runner.chain_id() != plan.chain.id:
        raise WrongChainError(f"the {runner.name} runner is on chain {runner.chain_id()}, the plan is for {plan.chain.name} ({plan.chain.id})",
                              where="plan: chain.id")
    if not verified:
        check_recompiles(plan, rv.chain)
    require_approvals(plan, opts.approvals, opts.policy.required_approvals, opts.policy.approvers)
    with state.wallet_lock(opts.state_dir, plan.wallet, plan.chain.id):
        rec = existing_record(plan, opts.record_path, runner.name)
        if rec is None or not any(s.tx_hash for s in rec.steps):  # nothing on the wire: never sent, or dropped
            rec, signed = _send_fresh(plan, runner, opts, chain, rec)
            outcome = _settled(rec, opts, lambda: _broadcast_and_wait(runner, signed))
        else:
            sent = rec.steps[0]
            _mark_running(rec)
            log_event(rec, opts, "apply_resumed", runner=runner.name, simulated=False, chain=plan.chain.id, wallet=plan.wallet,
                 record=str(opts.record_path.resolve()))
            outcome = _settled(rec, opts, lambda: _resume(runner, sent, opts.progress))
        _finish(plan, rec, outcome, runner, opts.now, opts.progress)
        # One record for the transaction's outcome and what it spent (the audit log counts spends once per tx).
        log_event(rec, opts, "step_done", step=plan.steps[0].id, status=rec.status, tx=outcome.tx_hash, simulated=False, spent=_spent(plan, rec))
        log_event(rec, opts, "apply_finished", status=rec.status)
        journal.write(rec, opts.record_path)
        return rec


def _send_fresh(plan: Plan, runner: AtomicRunner, opts: ApplyOptions, chain: ChainConfig | None,
                rec: RunRecord | None) -> tuple[RunRecord, Signed]:
    """Every check a plan passes before its transaction (again, after a dropped one), then sign it and journal it
    as `sent` (write-ahead: durable before it leaves). `rec`: the record of a dropped transaction, continued."""
    now = opts.now
    runner.sender_check(plan)
    check_expiry(plan, now())
    replay = refuse_replay(plan, opts)
    check_preconditions(plan, runner)
    enforce(opts.policy, plan, chain, opts.state_dir, now())
    failure = runner.trial(plan)
    if failure:
        raise StalePlanError([failure], where="preflight (the whole transaction, tried on a fork of the node before signing)")
    opts.before_send()
    again = rec is not None
    if rec is None:
        rec = new_record(plan, runner, now())
    _mark_running(rec)
    if replay:
        rec.allow_replay = True
        log_event(rec, opts, "replay_allowed", **replay)
    log_event(rec, opts, "apply_resumed" if again else "apply_started", runner=runner.name, simulated=False, chain=plan.chain.id,
              wallet=plan.wallet, record=str(opts.record_path.resolve()))
    watched = {(a.lower(), ta.lower()): (a, t, ta, d) for s in plan.steps for a, t, ta, d in watched_balances(s)}
    before = dict(zip(watched, runner.balances([(ta, a) for a, _t, ta, _d in watched.values()]), strict=True))
    signed = runner.sign_batch(plan)
    for step, srec in zip(plan.steps, rec.steps, strict=True):
        srec.status, srec.tx_hash, srec.nonce, srec.started_at, srec.reason = "sent", signed.tx_hash, signed.nonce, now(), None
        srec.to, srec.data = step.call.to, step.call.data
        srec.effects = [ActualEffect(account=a, token=t, token_address=ta, decimals=d, before=before[(a.lower(), ta.lower())], after=0)
                        for a, t, ta, d in watched_balances(step)]
    rec.steps[0].raw_tx = signed.raw_tx
    log_event(rec, opts, "step_sent", step=plan.steps[0].id, tx=signed.tx_hash, nonce=signed.nonce, simulated=False,
         batch=[s.id for s in plan.steps])
    journal.write(rec, opts.record_path)  # write-ahead: the signed batch is durable before it leaves
    opts.progress(f"send  the whole plan as one transaction ({runner.mode}, {len(plan.steps)} calls): {signed.tx_hash[:12]}…")
    return rec, signed


def _mark_running(rec: RunRecord) -> None:
    rec.status, rec.interrupted, rec.finished_at = "running", None, None


def _broadcast_and_wait(runner: AtomicRunner, signed: Signed) -> Outcome:
    runner.broadcast(signed)
    return runner.wait(signed.tx_hash)


def _resume(runner: AtomicRunner, sent: StepRecord, progress: Callable[[str], None]) -> Outcome:
    """The journaled transaction's outcome: looked up, or the same signed bytes rebroadcast when the node never saw them."""
    found = runner.lookup(sent.tx_hash or "")
    if found is None:
        progress(f"resend the journaled transaction {sent.tx_hash}: the node never saw it (same signed bytes)")
        runner.broadcast(Signed(tx_hash=sent.tx_hash or "", raw_tx=sent.raw_tx, nonce=sent.nonce))
        found = runner.wait(sent.tx_hash or "")
    return found


def _settled(rec: RunRecord, opts: ApplyOptions, attempt: Callable[[], Outcome]) -> Outcome:
    """`attempt()` (the transaction's outcome), with the record kept true when it raises: a dropped transaction marks
    every step `dropped` (a rerun checks and signs again); anything else (the node, the user, a bug) leaves the
    steps `sent` and the run `interrupted` for a rerun to resolve."""
    try:
        return attempt()
    except TxDropped as exc:
        _dropped(rec, opts, exc)
        _interrupted(rec, opts, exc)
        raise
    except (Exception, KeyboardInterrupt) as exc:
        _interrupted(rec, opts, exc)
        raise


def _dropped(rec: RunRecord, opts: ApplyOptions, exc: TxDropped) -> None:
    """The one transaction can never be mined: no call of the plan ran (all or nothing)."""
    for srec in rec.steps:
        if srec.tx_hash and srec.tx_hash not in srec.replaced:
            srec.replaced.append(srec.tx_hash)
        srec.status, srec.conflict_tx, srec.reason = "dropped", exc.conflict, exc.message
        srec.tx_hash, srec.raw_tx, srec.nonce = None, None, None
    log_event(rec, opts, "step_dropped", step=rec.steps[0].id, tx=exc.tx_hash, conflict=exc.conflict)
    opts.progress(f"DROP  the whole plan's transaction: {exc.message}; a rerun checks the plan again and signs it again")


def _interrupted(rec: RunRecord, opts: ApplyOptions, exc: BaseException) -> None:
    """The run stopped without an outcome: `interrupted`, logged and journaled (best effort: the original error is the one reported)."""
    message = exc.message if isinstance(exc, MammonError) else exc.__class__.__name__
    rec.status, rec.interrupted, rec.finished_at = "interrupted", message, opts.now()
    try:
        log_event(rec, opts, "apply_interrupted", reason=message[:500])
        journal.write(rec, opts.record_path)
    except (OSError, MammonError):
        pass


def _spent(plan: Plan, rec: RunRecord) -> dict[str, str]:
    """The wallet's outflow of each pulled token over the whole batch (base units as strings)."""
    spent: dict[str, int] = {}
    for step, srec in zip(plan.steps, rec.steps, strict=True):
        if srec.status != "ok":
            continue
        for pull in step.pulls:
            amount = -sum(e.delta for e in srec.effects if e.account.lower() == rec.wallet.lower() and e.token_address.lower() == pull.token_address.lower())
            if amount > 0:
                spent[pull.token] = spent.get(pull.token, 0) + amount
    return {k: str(v) for k, v in spent.items()}


def _finish(plan: Plan, rec: RunRecord, outcome: Outcome, runner: AtomicRunner, now: Callable[..., Any], progress: Callable[[str], None]) -> None:
    """Effects per inner call. A balance only one call touches gets the whole transaction's change, read from
    the chain (exact, interest included); one several calls touch is split by the Transfer logs inside each
    call's trace frame, and what the logs do not explain (interest an aToken accrued, which its Transfer
    events net out) goes to the first of them. Without a call trace such a balance cannot be split: those
    steps are marked failed rather than guessed."""
    for n, srec in enumerate(rec.steps):
        srec.block, srec.finished_at = outcome.block, now()
        srec.gas_used = outcome.gas_used if n == 0 else 0  # one transaction: its gas is reported once
        srec.fee_wei, srec.l1_fee_wei = (outcome.fee_wei, outcome.l1_fee_wei) if n == 0 else (None, None)
    rec.finished_at = now()
    if outcome.status != "ok":
        for srec in rec.steps:
            srec.status, srec.reason = "reverted", (outcome.revert_reason or "the batch reverted") + " (all or nothing: no call took effect)"
            srec.effects = [e.model_copy(update={"after": e.before}) for e in srec.effects]
        rec.status = "failed"
        progress(f"REVERTED the batch: {outcome.revert_reason or 'no reason'}; nothing took effect")
        return
    touching: dict[tuple[str, str], list[int]] = {}
    first: dict[tuple[str, str], ActualEffect] = {}
    for n, srec in enumerate(rec.steps):
        for e in srec.effects:
            key = (e.account.lower(), e.token_address.lower())
            touching.setdefault(key, []).append(n)
            first.setdefault(key, e)
    after = runner.balances([(e.token_address, e.account) for e in first.values()])
    change = {key: a - e.before for (key, e), a in zip(first.items(), after, strict=True)}
    shared = [key for key, steps in touching.items() if len(steps) > 1]
    # Always ask for the logs (when the node has call traces): a call can move a balance that only another step
    # states, e.g. a vault that lends to the Aave reserve a later call supplies; that balance is split by the logs too.
    logs = runner.inner_deltas(outcome.tx_hash, len(plan.steps))
    if logs is not None:
        shared += [key for key, steps in touching.items() if len(steps) == 1 and any(d.get(key) for m, d in enumerate(logs) if m not in steps)]
    residual = {key: change[key] - sum(d.get(key, 0) for d in logs) for key in shared} if logs is not None else {}
    for n, srec in enumerate(rec.steps):
        effects, unsplit = [], False
        for e in srec.effects:
            key = (e.account.lower(), e.token_address.lower())
            if key not in shared:
                delta = change[key]
            elif logs is not None:
                delta = logs[n].get(key, 0) + (residual[key] if touching[key][0] == n else 0)
            else:
                delta, unsplit = 0, True
            effects.append(e.model_copy(update={"after": e.before + delta}))
        srec.effects = effects
        srec.status = "failed" if unsplit else "ok"
        srec.reason = "effects per call unavailable: the node gives no call trace with logs to split a balance several calls touch" if unsplit else None
    rec.status = "ok" if all(s.status == "ok" for s in rec.steps) else "failed"
    progress(f"ok    one transaction, {len(plan.steps)} calls, gas {outcome.gas_used:,}, block {outcome.block}")
