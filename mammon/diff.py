"""Stage 5: expected vs actual. Compares a plan's effects and gas with a run record, per step and in total.

Tolerances come from the plan: `exact`, `wei` (±value), `bps` (±value basis points of the expected
delta), `min_out` (at least value). A step that did not succeed is outside tolerance by definition.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from mammon.errors import InputError
from mammon.plan.model import Effect, Plan, Tolerance
from mammon.run.policy import DEFAULT_MAX_FEE_MULTIPLE
from mammon.run.record import ActualEffect, RunRecord
from mammon.safetext import printable
from mammon.units import format_amount


@dataclass(frozen=True)
class EffectDiff:
    step: str
    account_label: str
    account: str
    token: str
    decimals: int
    expected: int
    actual: int | None
    tolerance: str
    within: bool

    @property
    def error(self) -> int | None:
        return None if self.actual is None else self.actual - self.expected


@dataclass(frozen=True)
class GasDiff:
    step: str
    estimate: int
    used: int | None
    fee_wei: int | None = None
    l1_fee_wei: int | None = None

    @property
    def error_pct(self) -> float | None:
        return None if self.used is None or self.estimate == 0 else 100.0 * (self.used - self.estimate) / self.estimate


@dataclass(frozen=True)
class Fees:
    """What the run paid for gas beside what the plan was reviewed at (`totals.cost_eth`, `market.gas_price_gwei`)."""

    l2_wei: int
    l1_wei: int
    gas_used: int
    planned_wei: int
    planned_price_wei: int

    @property
    def price_multiple(self) -> Decimal | None:
        """The average gas price paid (L2) over the plan's reviewed price."""
        if not self.gas_used or not self.planned_price_wei:
            return None
        return Decimal(self.l2_wei) / self.gas_used / self.planned_price_wei


@dataclass
class _Total:
    """Running sums of one (account, token) over the steps; `actual` is None once any step has no measurement."""

    decimals: int
    expected: int = 0
    actual: int | None = 0
    within: bool = True


@dataclass
class Diff:
    plan_hash: str
    status: str
    steps: list[tuple[str, str, str | None]] = field(default_factory=list)  # id, status, reason
    effects: list[EffectDiff] = field(default_factory=list)
    gas: list[GasDiff] = field(default_factory=list)
    totals: list[EffectDiff] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # what the record holds that the plan does not (a step, a target, calldata)
    fees: Fees | None = None  # fees paid beside the plan's totals (None: the runner paid none, e.g. the simulator)

    @property
    def ok(self) -> bool:
        return (self.status == "ok" and all(e.within for e in self.effects) and all(s == "ok" for _, s, _ in self.steps)
                and not self.mismatches)


def within(tolerance: Tolerance, expected: int, actual: int) -> bool:
    if tolerance.kind == "exact":
        return actual == expected
    if tolerance.kind == "wei":
        return abs(actual - expected) <= tolerance.value
    if tolerance.kind == "bps":
        return abs(actual - expected) * 10_000 <= abs(expected) * tolerance.value + 10_000
    return actual >= tolerance.value


def describe(tolerance: Tolerance, decimals: int, token: str) -> str:
    if tolerance.kind == "wei" and tolerance.reason:
        return f"±{format_amount(tolerance.value, decimals, token)}: {tolerance.reason}"
    return {"exact": "exact", "wei": f"±{tolerance.value} wei", "bps": f"±{tolerance.value} bps"}.get(
        tolerance.kind, f">= {format_amount(tolerance.value, decimals, token)}")


def _actual(effect: Effect, rec_effects: list[ActualEffect]) -> int | None:
    for e in rec_effects:
        if e.account.lower() == effect.account.lower() and e.token_address.lower() == effect.token_address.lower():
            return e.delta
    return None


def _mismatches(plan: Plan, record: RunRecord) -> list[str]:
    """Record steps the plan does not have, and steps sent to another target or with other calldata than the plan's
    (a step whose amounts come from earlier outputs may differ in its arguments, never in its function)."""
    planned = {s.id: s for s in plan.steps}
    found = []
    for srec in record.steps:
        step = planned.get(srec.id)
        if step is None:
            sent = "".join(f", {k} {v}" for k, v in (("tx", srec.tx_hash), ("to", srec.to)) if v)
            found.append(f"step {srec.id} is in the run record ({srec.status}{sent}) but not in the plan")
            continue
        if srec.to is not None and srec.to.lower() != step.call.to.lower():
            found.append(f"step {srec.id} was sent to {srec.to}, the plan calls {step.call.to}")
        elif srec.data is not None and (srec.data[:10] if step.refs else srec.data).lower() != (step.call.data[:10] if step.refs else step.call.data).lower():
            found.append(f"step {srec.id} was sent with other calldata than the plan's ({step.decoded.function})")
    return found


def diff(plan: Plan, record: RunRecord, *, max_fee_multiple: float = DEFAULT_MAX_FEE_MULTIPLE) -> Diff:
    """Compare every expected effect and gas estimate of `plan` with what `record` measured; fees paid above
    `max_fee_multiple` x the plan's reviewed gas price (the apply's [policy] ceiling) are a mismatch."""
    recorded = {s.id for s in record.steps}
    missing = [s.id for s in plan.steps if s.id not in recorded]
    if missing or len(recorded) != len(record.steps):
        what = f"has no step {missing[0]!r} of the plan" if missing else "lists a step twice"
        raise InputError(f"the run record {what}: it is not this plan's record", where="run record")
    result = Diff(plan_hash=plan.content_hash, status=record.status, mismatches=_mismatches(plan, record))
    totals: dict[tuple[str, str], _Total] = {}
    for step in plan.steps:
        srec = record.step(step.id)
        result.steps.append((step.id, srec.status, srec.reason))
        result.gas.append(GasDiff(step.id, step.gas.estimate, srec.gas_used, srec.fee_wei, srec.l1_fee_wei))
        for effect in step.effects:
            measured = srec.status in ("ok", "failed", "reverted") and srec.finished_at is not None
            actual = _actual(effect, srec.effects) if measured else None
            ok = srec.status == "ok" and actual is not None and within(effect.tolerance, effect.delta, actual)
            result.effects.append(EffectDiff(step.id, effect.account_label, effect.account, effect.token, effect.decimals, effect.delta, actual,
                                             describe(effect.tolerance, effect.decimals, effect.token), ok))
    for e in result.effects:
        total = totals.setdefault((e.account_label, e.token), _Total(e.decimals))
        total.expected += e.expected
        total.actual = None if e.actual is None or total.actual is None else total.actual + e.actual
        total.within = total.within and e.within
    result.totals = [EffectDiff("total", label, "", token, t.decimals, t.expected, t.actual, "per step", t.within)
                     for (label, token), t in totals.items()]
    result.fees = _fees(plan, record)
    multiple = result.fees.price_multiple if result.fees else None
    if result.fees and multiple is not None and multiple > Decimal(str(max_fee_multiple)):
        which = "the default fee ceiling" if max_fee_multiple == DEFAULT_MAX_FEE_MULTIPLE else "the policy's fee ceiling"
        result.mismatches.append(f"paid {multiple:.1f} x the gas price the plan was reviewed at ({plan.market.gas_price_gwei.normalize():f} gwei), "
                                 f"above {which} of {max_fee_multiple:g} x ([policy] max_fee_multiple)")
    return result


def _fees(plan: Plan, record: RunRecord) -> Fees | None:
    paid = [s for s in record.steps if s.fee_wei is not None]
    if not paid:
        return None
    return Fees(l2_wei=sum(s.fee_wei or 0 for s in paid), l1_wei=sum(s.l1_fee_wei or 0 for s in paid), gas_used=sum(s.gas_used or 0 for s in paid),
                planned_wei=int(plan.totals.cost_eth * 10**18), planned_price_wei=int(plan.market.gas_price_gwei * 10**9))


def _fmt(value: int | None, decimals: int, token: str, signed: bool = True) -> str:
    if value is None:
        return "not run"
    text = format_amount(value, decimals, token)
    return f"+{text}" if signed and value > 0 else text


def render_text(d: Diff, *, fees: bool = True) -> str:
    """The diff for people. `fees=False` leaves out fees paid, which follow the chain's base fee (snapshots)."""
    lines = [f"diff for plan {d.plan_hash[:19]}… · run {d.status}"]
    for step_id, status, reason in d.steps:
        lines.append(f"step {step_id}: {status}" + (f" ({reason})" if reason else ""))
        for e in (x for x in d.effects if x.step == step_id):
            mark = "=" if e.within and e.error == 0 else ("~" if e.within else "!")
            err = "" if e.error in (None, 0) else f" (off by {format_amount(e.error, e.decimals)})"
            lines.append(f"  {mark} {e.account_label:<28} {e.token:<10} expected {_fmt(e.expected, e.decimals, e.token):>26}  "
                         f"actual {_fmt(e.actual, e.decimals, e.token):>26}  [{e.tolerance}]{err}")
    lines.append("totals")
    for e in d.totals:
        mark = "=" if e.within and e.error == 0 else ("~" if e.within else "!")
        lines.append(f"  {mark} {e.account_label:<28} {e.token:<10} expected {_fmt(e.expected, e.decimals, e.token):>26}  actual {_fmt(e.actual, e.decimals, e.token):>26}")
    lines.append("gas")
    for g in d.gas:
        pct = "" if g.error_pct is None else f" ({g.error_pct:+.1f}%)"
        used = "not run" if g.used is None else f"{g.used:,}"
        paid = "" if g.fee_wei is None or not fees else f" · L2 fee {format_amount(g.fee_wei, 18, 'ETH')}"
        paid += "" if g.l1_fee_wei is None or not fees else f" · L1 data fee {format_amount(g.l1_fee_wei, 18, 'ETH')}"
        lines.append(f"  {g.step:<28} estimated {g.estimate:>9,}  used {used:>9}{pct}{paid}")
    est = sum(g.estimate for g in d.gas)
    used_total = sum(g.used or 0 for g in d.gas)
    lines.append(f"  {'total':<28} estimated {est:>9,}  used {used_total:>9,}" + (f" ({100.0 * (used_total - est) / est:+.1f}%)" if est else ""))
    if d.fees is not None and fees:
        f, multiple = d.fees, d.fees.price_multiple
        l1 = f" + L1 data fee {format_amount(f.l1_wei, 18, 'ETH')}" if f.l1_wei else ""
        price = f" · {multiple:.2f} x its gas price per gas" if multiple is not None else ""
        lines.append(f"fees      paid L2 {format_amount(f.l2_wei, 18, 'ETH')}{l1} · the plan's totals: {format_amount(f.planned_wei, 18, 'ETH')} "
                     f"(L2){price}")
    lines += [f"MISMATCH {m}" for m in d.mismatches]
    lines.append("result: " + ("all effects within tolerance" if d.ok else "the run record does not match the plan (MISMATCH above)" if d.mismatches
                               else "OUTSIDE TOLERANCE or steps not run"))
    return "\n".join(printable(line) for line in lines) + "\n"  # a revert reason or step id cannot add a line


def render_json(d: Diff) -> str:
    data = {
        "plan_hash": d.plan_hash, "status": d.status, "ok": d.ok, **({"mismatches": d.mismatches} if d.mismatches else {}),
        "steps": [{"id": i, "status": s, "reason": r} for i, s, r in d.steps],
        "effects": [{**asdict(e), "expected": str(e.expected), "actual": None if e.actual is None else str(e.actual)} for e in d.effects],
        "totals": [{**asdict(e), "expected": str(e.expected), "actual": None if e.actual is None else str(e.actual)} for e in d.totals],
        **({"fees": {"l2_wei": str(d.fees.l2_wei), "l1_wei": str(d.fees.l1_wei), "planned_wei": str(d.fees.planned_wei),
                     "price_multiple": None if d.fees.price_multiple is None else float(round(d.fees.price_multiple, 4))}} if d.fees else {}),
        "gas": [{**asdict(g), "fee_wei": None if g.fee_wei is None else str(g.fee_wei), "l1_fee_wei": None if g.l1_fee_wei is None else str(g.l1_fee_wei),
                 "error_pct": None if g.error_pct is None else round(g.error_pct, 2)} for g in d.gas],
    }
    return json.dumps(data, indent=2) + "\n"
