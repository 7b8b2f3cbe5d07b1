"""`apply_file`: the apply command as a library call (load, verify, pick the runner, run, diff)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mammon import clock
from mammon.chains import ChainConfig, load_chain_file
from mammon.diff import Diff, diff
from mammon.errors import InputError
from mammon.files import check_output
from mammon.plan import approvals
from mammon.plan.planfile import load
from mammon.review.render import text as review_text
from mammon.run import state
from mammon.run import record as journal
from mammon.run.engine import ApplyOptions, apply_plan, on_the_wire, verify
from mammon.run.policy import load_policy
from mammon.run.record import RunRecord
from mammon.run.registry import runner_class
from mammon.run.session import no_progress


def default_record_path(plan_path: str | Path, runner: str = "rpc") -> Path:
    """`<plan>.run.json` for real sends; `<plan>.<runner>.run.json` for dry runs, so they never mix."""
    plan_path = Path(plan_path)
    stem = plan_path.name.rsplit(".", 1)[0]
    return plan_path.with_name(f"{stem}.run.json" if runner == "rpc" else f"{stem}.{runner}.run.json")


def apply_file(
    plan_path: str | Path,
    *,
    runner_name: str = "sim",
    record_path: str | Path | None = None,
    policy_file: str | Path | None = None,
    state_dir: str | Path | None = None,
    chain_config: str | Path | None = None,
    runner_options: dict[str, Any] | None = None,
    confirm: Callable[[str], bool] | None = None,
    progress: Callable[[str], None] = no_progress,
    show_review: bool = True,
    allow_replay: bool = False,
    approvals_path: str | Path | None = None,
) -> tuple[RunRecord, Diff]:
    """Apply a plan file; returns the run record and its expected-vs-actual diff. Raises MammonError on refusal.

    The plan is verified here before a runner exists (a runner may ask for a keystore password or
    start a fork); `apply_plan` takes that verification of the same plan object instead of compiling
    the plan again (a library caller that calls apply_plan alone is verified there).
    """
    plan = load(plan_path)
    if (runner_options or {}).get("fork_url") and runner_name in ("sim", "rpc"):
        runner_name = "fork"  # --fork-url is a dry-run on an anvil fork, whatever the default runner
    cls = runner_class(runner_name)
    policy = load_policy(policy_file)
    chain: ChainConfig | None = load_chain_file(chain_config) if chain_config else None
    path = Path(record_path) if record_path else default_record_path(plan_path, cls.name)
    check_output(path, regular=True)  # a record that could not be written is refused before a runner or a fork exists (atomic runners too)
    # An expired plan is refused here, before a runner exists, unless its record has transactions on
    # the wire: resolving those is always allowed (the engine refuses any new send past valid_until).
    verified = verify(plan, chain, now=clock.now(), where=str(plan_path), allow_expired=_on_the_wire(path))
    rv = verified.review
    options = {k: v for k, v in (runner_options or {}).items() if v is not None}
    if chain_config:
        options["chain_config"] = str(chain_config)
    if plan.batch is not None and runner_name not in (plan.batch.mode,):
        raise InputError(f"the plan is --execution {plan.batch.mode} (one transaction): apply it with --runner {plan.batch.mode}", where="--runner")
    if runner_name == "safe":
        from mammon.run.safe import signatures_path

        options.setdefault("signatures", str(signatures_path(plan_path)))
    runner = cls.create(plan, **options)
    start_fork = getattr(runner, "start_preflight_fork", None)
    if start_fork is not None:  # the rpc runner: anvil boots while apply_plan checks the plan against the node
        start_fork()

    def before_send() -> None:
        if show_review:
            progress(review_text(rv))
        if confirm is not None and not runner.simulated and not confirm(f"Send {len(plan.steps)} transactions from {plan.wallet} on {plan.chain.name}?"):
            raise InputError("not confirmed; nothing was sent", where="apply")

    # Every atomic runner is an rpc runner, so its module loaded mammon.run.atomic: looked up, not imported,
    # a simulated apply never loads the signing stack (web3, eth_account, py_ecc: about half a second).
    atomic = sys.modules.get("mammon.run.atomic")
    run = atomic.apply_atomic if atomic is not None and isinstance(runner, atomic.AtomicRunner) else apply_plan
    try:
        record = run(plan, runner, ApplyOptions(
            record_path=Path(record_path) if record_path else default_record_path(plan_path, runner.name),
            state_dir=state.state_dir(state_dir), policy=policy, chain=chain, progress=progress, now=clock.now, before_send=before_send,
            allow_replay=allow_replay,
            approvals=approvals.load(approvals_path or approvals.sidecar(plan_path)), verified=verified,
        ))
    finally:
        runner.close()
    return record, diff(plan, record, max_fee_multiple=policy.max_fee_multiple)


def _on_the_wire(path: Path) -> bool:
    if not path.exists():
        return False
    return on_the_wire(journal.load(path))
