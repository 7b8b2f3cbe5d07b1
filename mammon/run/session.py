"""What every apply shares, whether it sends one transaction per step (`mammon.run.engine`) or the whole
plan as one (`mammon.run.atomic`): the options of a run, its run record (continued or started), its
audit log entries, the replay refusal, and the balances each step watches.

Why a module of its own: both appliers need exactly these rules (a record belongs to one plan and one
runner; the audit log knows every plan that was applied; a step's effects are measured on the same
accounts and tokens), and neither should reach into the other's internals to get them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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

__all__ = ["ApplyOptions", "Progress", "ReplayRefused", "Verified", "existing_journal", "existing_record", "log_event", "new_record", "no_progress",
           "on_the_wire", "refuse_replay", "registry_chain", "watched_balances"]

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
    """Refuse a plan the audit log says was applied already (unless `allow_replay`); the replay note to audit, or None."""
    prior = audit.applied(opts.state_dir, plan.content_hash)
    if prior is None:
        return None
    if prior.record == str(opts.record_path.resolve()) and opts.record_path.exists():
        return None  # the same run, killed after logging a signature it never journaled or broadcast: resume it
    when = prior.time.replace("T", " ").split(".")[0].replace("+00:00", " UTC")
    where = f"run record {prior.record}" if prior.record else "its run record is unknown"
    if not opts.allow_replay:
        raise ReplayRefused(
            f"plan {plan.content_hash[:19]}… was already applied on {plan.chain.name} ({plan.chain.id}) by {plan.wallet} on {when} "
            f"({where}); applying it again would send its transactions again: rerun with that record (-o) to resume it, or pass "
            "--allow-replay if a second execution is really wanted", where="apply")
    return {"replay_of": prior.record, "replay_first_sent": prior.time}


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
