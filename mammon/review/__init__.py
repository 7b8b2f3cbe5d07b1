"""Stage 3: review. Verify a loaded plan against its own bytes and the chain registry, then render it.

`review()` re-decodes every step's calldata with the ABIs (refusing a plan whose bytes and view
disagree), orders the steps, and collects warnings; `render` turns the result into text, JSON or
Markdown. Nothing here trusts a stored description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mammon.chains import ChainConfig, chain_for_plan
from mammon.compile.inputs import registry_labels
from mammon.errors import ExpiredPlanError, InputError, MammonError, PlanError, TamperedPlanError
from mammon.plan import dag
from mammon.plan.decode import verify
from mammon.plan.model import Decoded, Plan, Step
from mammon.review.derive import derive
from mammon.units import format_amount, parse_amount

EXPIRY_WARNING = timedelta(minutes=1)
CLOCK_SKEW = timedelta(minutes=5)  # how far a plan's created_at may be ahead of this machine's clock


@dataclass
class Review:
    plan: Plan
    steps: list[tuple[Step, Decoded]]
    warnings: list[str] = field(default_factory=list)
    chain: ChainConfig | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    failing: list[str] = field(default_factory=list)  # steps that failed the plan's own dry run (plan --rpc --allow-failing)
    checks: list[str] = field(default_factory=list)  # what was derived from the calldata and checked, for the reader
    spend: dict[str, int] = field(default_factory=dict)  # derived from the calldata: token -> most the wallet spends


def check_structure(plan: Plan, *, where: str = "plan") -> None:
    problems = dag.problems(plan)
    if problems:
        raise TamperedPlanError("invalid step graph: " + "; ".join(problems), where=where)


def check_refs(plan: Plan, decoded: dict[str, Decoded], *, where: str = "plan") -> None:
    """Each reference must reproduce its encoded value and bounds from the outputs it names (the runner's rule)."""
    steps = dag.by_id(plan)
    for step in plan.steps:
        if not step.refs:
            continue
        args = {a.name: a.value for a in decoded[step.id].args}
        for ref in step.refs:
            expected = low = high = 0
            for term in ref.ref.split(" + "):
                src, _, name = term.rpartition(".")
                out = steps[src].outputs[name]
                expected, low, high = expected + out.expected, low + out.min, high + out.max
            rule = (expected * ref.num // ref.den, low * ref.num // ref.den, high * ref.num // ref.den)
            if rule != (ref.expected, ref.min, ref.max) or str(args.get(ref.arg)) != str(ref.expected):
                raise TamperedPlanError(
                    f"argument {ref.arg}: ${{{ref.ref}}} × {ref.num}/{ref.den} gives {rule[0]} in [{rule[1]}, {rule[2]}], "
                    f"but the plan states {ref.expected} in [{ref.min}, {ref.max}] and encodes {args.get(ref.arg)}",
                    where=f"{where}: step {step.id}")


def check_expiry(plan: Plan, now: datetime, *, where: str = "plan") -> None:
    """Refuse a plan past its valid_until, or created later than now (give or take a clock's skew): a post-dated
    created_at would keep it, and the approvals of its hash, valid past the few days a plan may live."""
    if plan.created_at > now + CLOCK_SKEW:
        raise PlanError(f"created_at {plan.created_at.isoformat()} is in the future (now {now.replace(microsecond=0).isoformat()}, "
                        f"allowing {int(CLOCK_SKEW.total_seconds()) // 60} min of clock skew); compile it again", where=f"{where}: created_at")
    if now >= plan.valid_until:
        raise ExpiredPlanError(f"valid_until {plan.valid_until.isoformat()} has passed (now {now.replace(microsecond=0).isoformat()}); compile it again", where=f"{where}: valid_until")


def _chain_for(plan: Plan, chain: ChainConfig | None, warnings: list[str], where: str = "plan") -> ChainConfig | None:
    if chain is not None:
        if chain.chain_id != plan.chain.id:
            raise InputError(f"chain config {chain.name} is chain id {chain.chain_id}, the plan is for {plan.chain.id}", where="--chain-config")
        return chain
    try:
        found = chain_for_plan(plan.chain.id, plan.chain.name, where=where)
    except PlanError:  # the plan names its chain otherwise than the registry: refused, not reviewed without it
        raise
    except MammonError:
        warnings.append(f"chain {plan.chain.name} is not in the registry: targets cannot be checked (pass --chain-config)")
        return None
    if found.chain_id != plan.chain.id:
        raise InputError(f"the plan says chain {plan.chain.name} is id {plan.chain.id}, the registry says {found.chain_id}", where="plan: chain.id")
    return found


def review(plan: Plan, *, chain: ChainConfig | None = None, now: datetime | None = None, where: str = "plan",
           allow_expired: bool = False, max_spend: dict[str, str] | None = None) -> Review:
    """Verify and annotate a plan for a human: raises on tampering, warns on risk."""
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    check_structure(plan, where=where)
    if not allow_expired:
        check_expiry(plan, now, where=where)
    cfg = _chain_for(plan, chain, warnings, where)
    labels = {**(registry_labels(cfg) if cfg else {}), plan.wallet.lower(): "wallet"}
    ordered = []
    for step in dag.order(plan):
        registered = labels.get(step.call.to.lower())
        try:
            fresh = verify(step, labels, contract=f"{step.decoded.contract} [{registered}]" if registered else None)
        except TamperedPlanError as exc:
            raise TamperedPlanError(exc.message, where=f"{where}: {exc.where}") from None
        if not registered and cfg:
            warnings.append(f"step {step.id}: target {step.call.to} is not in the {cfg.name} registry")
        ordered.append((step, fresh))
        if cfg and step.kind == "approve":
            spender = next((str(a.value) for a in fresh.args if a.name == "spender"), "")
            if spender.lower() not in labels:
                warnings.append(f"step {step.id}: approves {spender}, which is not in the {cfg.name} registry")
        if step.kind == "swap" and not any(g.kind == "min_out" and g.value > 0 for g in step.guards):
            warnings.append(f"step {step.id}: swap without a minimum output (any price is accepted)")
        if step.kind == "swap" and any(a.name.lower().endswith(("amountoutminimum", "amountoutmin")) and a.value == "0" for a in fresh.args):
            warnings.append(f"step {step.id}: swap calldata sets no minimum output")
    check_refs(plan, {s.id: d for s, d in ordered}, where=where)
    failing = []
    for step in plan.steps:
        if step.gas.failed_dry_run:
            failing.append(step.id)
            warnings.append(f"step {step.id} FAILED the plan's dry run on the node: {step.gas.failed_dry_run} (written with --allow-failing)")
    if plan.batch is not None and plan.batch.gas.failed_dry_run and not failing:  # no inner call to name: the transaction itself
        failing.append("batch")
        warnings.append(f"the one transaction FAILED the plan's dry run on the node: {plan.batch.gas.failed_dry_run} (written with --allow-failing)")
    derived = derive(plan, ordered, cfg, where=where)
    if plan.batch is not None or plan.execution is not None:
        from mammon.review.batch import verify_batch

        verify_batch(plan, [s for s, _ in ordered], cfg, where=where)
    left = plan.valid_until - now
    if timedelta(0) < left <= EXPIRY_WARNING:
        warnings.append(f"plan expires in {int(left.total_seconds())} s")
    elif left <= timedelta(0):
        warnings.append("plan has EXPIRED: apply will refuse it")
    limits = {**plan.policy.max_spend, **(max_spend or {})}
    decimals = {p.token: p.decimals for s in plan.steps for p in s.effects} if limits else {}
    for token, limit in limits.items():
        spent = derived.spend.get(token, 0)
        if token in decimals and spent > parse_amount(limit, decimals[token], symbol=token, where="policy.max_spend"):
            warnings.append(f"spends {format_amount(spent, decimals[token], token)}, above the policy limit of {limit} {token}")
    return Review(plan=plan, steps=ordered, warnings=warnings, chain=cfg, now=now, failing=failing, checks=derived.checks, spend=derived.spend)


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def usd(value: Decimal) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
