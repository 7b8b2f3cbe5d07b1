"""What every apply shares, whether it sends one transaction per step (`mammon.run.engine`) or the whole
plan as one (`mammon.run.atomic`): the options of a run, its run record (continued or started), its
audit log entries, the replay refusal, and the balances each step watches.

Why a module of its own: both appliers need exactly these rules (a record belongs to one plan and one
runner; the audit log knows every plan that was applied; a step's effects are measured on the same
accounts and tokens), and neither should reach into the other's internals to get them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mammon import clock
from mammon.chains import ChainConfig, chain_for_plan
from mammon.errors import InputError, MammonError, PlanError
from mammon.plan.approvals import Approval
from mammon.plan.model import Plan, Step
from mammon.review import Review
from mammon.run import audit, record as journal
from mammon.run.base import Runner
from mammon.run.policy import Policy
from mammon.run.record import RunRecord

__all__ = ["ApplyOptions", "Progress", "ReplayRefused", "Unfinished", "Verified", "existing_journal", "existing_record", "log_event", "new_record",
           "no_progress", "on_the_wire", "refuse_replay", "registry_chain", "unfinished_runs", "watched_balances"]

Progress = Callable[[str], None]


def no_progress(_line: str) -> None:
    """The default progress: nothing shown."""


@dataclass
class ApplyOptions:
    record_path: Path
    state_dir: Path
    policy: Policy = field(default_factory=Policy)
    chain: ChainConfig | None = None
    progress: Progress = no_progress
    now: Callable[[], datetime] = clock.now
    before_send: Callable[[], None] = lambda: None  # after every check passed: show the review, ask to confirm (may raise)
    approvals: list[Approval] = field(default_factory=list)  # reviewers' signatures (`mammon approve`), for required_approvals
    allow_replay: bool = False  # apply a plan the audit log says was applied already (recorded in the audit)
    # Set by apply_plan: where the record goes (appended for a real run, kept in memory for a simulated
    # one), and for a simulated run the audit events waiting to be written with it.
    journal: journal.Journal | None = field(default=None, repr=False)
    audit_buffer: list[tuple[str, datetime, dict[str, Any]]] | None = field(default=None, repr=False)
    # What `verify` found for this very plan object and `chain`, when the caller verified it just before
    # (apply_file does, before a runner exists): apply_plan then does not compile the plan again.
    verified: Verified | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Verified:
    """A plan that passed `engine.verify` against `chain` (the chain as given: None is the registry's)."""

    plan: Plan
    chain: ChainConfig | None
    review: Review


class ReplayRefused(PlanError):
    """The plan was already applied on this chain by this wallet (the audit log says when, and where its record is)."""


def new_record(plan: Plan, runner: Runner, now: datetime) -> RunRecord:
    """A fresh run record for `plan`: every step pending, with the plan's gas estimate."""
    return RunRecord(plan_hash=plan.content_hash, chain_id=plan.chain.id, wallet=plan.wallet, runner=runner.name,
                     run_id=uuid.uuid4().hex[:16], started_at=now,
                     steps=[{"id": s.id, "gas_estimate": s.gas.estimate} for s in plan.steps])  # validated in one go, as StepRecords


def existing_record(plan: Plan, path: Path, runner_name: str) -> RunRecord | None:
    """The run record at `path` to continue, None when there is none; refuses one of another plan or runner."""
    return existing_journal(plan, path, runner_name)[0]


def existing_journal(plan: Plan, path: Path, runner_name: str) -> tuple[RunRecord | None, bool]:
    """`existing_record`, and whether the file is a journal to append to (2.x), from one read of it."""
    if not path.exists():
        return None, False
    rec, appendable = journal.read(path)
    if rec.plan_hash != plan.content_hash:
        raise InputError(f"this run record belongs to plan {rec.plan_hash[:19]}…, not {plan.content_hash[:19]}…; choose another -o", where=str(path))
    if rec.runner != runner_name:
        raise InputError(f"this run record is from the {rec.runner} runner, not {runner_name}; choose another -o", where=str(path))
    if rec.run_id is None:
        rec.run_id = uuid.uuid4().hex[:16]
    return rec, appendable


def on_the_wire(rec: RunRecord | None) -> bool:
    """Whether any transaction of this record may have left (a hash was journaled)."""
    return rec is not None and any(s.tx_hash or s.replaced for s in rec.steps)


def log_event(rec: RunRecord, opts: ApplyOptions, event: str, **data: Any) -> None:
    """Append to the audit log and keep its anchor in the record (written by the next journal write).
    A simulated run keeps its events until it ends (`engine._write_simulated`)."""
    if opts.audit_buffer is not None:
        opts.audit_buffer.append((event, opts.now(), {"plan": rec.plan_hash, "run": rec.run_id, **data}))
        return
    rec.audit_seq, rec.audit_hash = audit.append(opts.state_dir, event, opts.now(), plan=rec.plan_hash, run=rec.run_id, **data)


def refuse_replay(plan: Plan, opts: ApplyOptions) -> dict[str, Any] | None:
    """Refuse a plan the audit log says was applied already (unless `allow_replay`); the replay note to audit, or None.

    Applied: a real transaction of the plan was sent and not dropped since (a dropped one can never be mined), by
    another run record than this one (this record's own send, logged but killed before it was journaled, never left)."""
    if audit.applied(opts.state_dir, plan.content_hash) is None:
        return None  # the index's answer: nothing real was ever sent for this plan
    here = str(opts.record_path.resolve()) if opts.record_path.exists() else None
    elsewhere = [(time, record) for time, record in _live_sends(opts.state_dir, plan.content_hash) if record is None or record != here]
    if not elsewhere:
        return None
    first_sent, record = elsewhere[0]
    when = first_sent.replace("T", " ").split(".")[0].replace("+00:00", " UTC")
    where = f"run record {record}" if record else "its run record is unknown"
    if not opts.allow_replay:
        raise ReplayRefused(
            f"plan {plan.content_hash[:19]}… was already applied on {plan.chain.name} ({plan.chain.id}) by {plan.wallet} on {when} "
            f"({where}); applying it again would send its transactions again: rerun with that record (-o) to resume it, or pass "
            "--allow-replay if a second execution is really wanted", where="apply")
    return {"replay_of": record, "replay_first_sent": first_sent}


def _audit_events(directory: Path, events: tuple[bytes, ...]) -> Iterator[dict[str, Any]]:
    """The audit log's entries of real runs whose event is one of `events` (lines are filtered on the bytes before
    parsing: the log holds every simulated run's events too, marked `"simulated": true`). Not a check of the log
    (`audit.verify`, and every apply, make that)."""
    try:
        raw = (directory / audit.LOG).read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot read the audit log ({exc.__class__.__name__})", where=str(directory / audit.LOG)) from None
    wanted = tuple(b'"event": "' + e + b'"' for e in events)
    for line in raw.split(b"\n"):
        if any(w in line for w in wanted) and b'"simulated": true' not in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line, or an edited one (verify names it)
            if isinstance(entry, dict):
                yield entry


def _live_sends(directory: Path, plan_hash: str) -> list[tuple[str, str | None]]:
    """(time, run record) of each real transaction the log says was sent for the plan and not dropped since, in log
    order. The record is the one of the sending run's `apply_started`/`apply_resumed`, else of the plan's latest one."""
    runs: dict[str, str | None] = {}
    latest: str | None = None
    sent: dict[str, tuple[str, str | None]] = {}
    for e in _audit_events(directory, (b"apply_started", b"apply_resumed", b"step_sent", b"step_dropped")):
        if e.get("plan") != plan_hash or e.get("simulated"):
            continue
        event, run = e.get("event"), str(e.get("run", ""))
        if event in ("apply_started", "apply_resumed"):
            record = e.get("record") if isinstance(e.get("record"), str) else None
            runs[run] = record
            latest = record if event == "apply_started" else latest
        elif event == "step_sent":
            sent.setdefault(str(e.get("tx", "")).lower(), (str(e.get("time", "")), runs.get(run, latest)))
        else:
            sent.pop(str(e.get("tx", "")).lower(), None)
    return list(sent.values())


@dataclass(frozen=True)
class Unfinished:
    """A real apply of a wallet on a chain that may have sent transactions and did not finish (killed, interrupted)."""

    record: Path
    plan_hash: str
    status: str
    runner: str
    sent: list[str]  # its steps on the wire (outcome unknown)


def unfinished_runs(directory: Path, wallet: str, chain_id: int) -> list[Unfinished]:
    """The run records of `wallet` on `chain_id` that the audit log says sent a real transaction and that are not
    finished: status `running` (the process died) or `interrupted` (the node, the nonce, the user), or a step still
    `sent`. A rerun of `mammon apply` with such a record resolves it; compiling a new plan instead would repeat
    what it did. A record that no longer exists is not reported (nothing can resume it)."""
    wallet = wallet.lower()
    runs: dict[str, tuple[str, bool]] = {}  # run id -> (its record, whether it sent a real transaction)
    for e in _audit_events(directory, (b"apply_started", b"apply_resumed", b"step_sent")):
        run, record = str(e.get("run")), e.get("record")
        if e.get("event") != "step_sent":
            if e.get("chain") == chain_id and str(e.get("wallet", "")).lower() == wallet and isinstance(record, str) and not e.get("simulated"):
                runs[run] = (record, runs.get(run, (record, False))[1])
        elif run in runs and not e.get("simulated"):
            runs[run] = (runs[run][0], True)
    found: dict[str, Unfinished] = {}
    for record, sent in runs.values():
        path = Path(record)
        if not sent or record in found or not path.exists():
            continue
        try:
            rec = journal.load(path)
        except InputError:
            found[record] = Unfinished(path, "", "unreadable", "rpc", [])
            continue
        on_wire = [s.id for s in rec.steps if s.status == "sent"]
        if rec.chain_id == chain_id and rec.wallet.lower() == wallet and (rec.status in ("running", "interrupted") or on_wire):
            found[record] = Unfinished(path, rec.plan_hash, rec.status, rec.runner, on_wire)
    return list(found.values())


def registry_chain(plan: Plan) -> ChainConfig | None:
    """The registry's config of the plan's chain (None for a chain only a --chain-config knows)."""
    try:
        return chain_for_plan(plan.chain.id, plan.chain.name)
    except MammonError:
        return None


def watched_balances(step: Step) -> list[tuple[str, str, str, int]]:
    """(account, token, token address, decimals) of every balance the step's effects and outputs name, once each."""
    seen: dict[tuple[str, str], tuple[str, str, str, int]] = {}
    for e in step.effects:
        seen.setdefault((e.account.lower(), e.token_address.lower()), (e.account, e.token, e.token_address, e.decimals))
    for o in step.outputs.values():
        seen.setdefault((o.account.lower(), o.token_address.lower()), (o.account, o.token, o.token_address, o.decimals))
    return list(seen.values())
