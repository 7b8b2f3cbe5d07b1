"""Policy: spending limits per plan and per rolling day, allowed contracts, maximum slippage.

Read from `--policy FILE` or `mammon.toml` in the working directory (table `[policy]`). A plan that
breaches it is refused before anything is sent, naming the limit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictFloat, StrictInt, model_validator

from mammon.chains import ChainConfig
from mammon.errors import FeeCeilingError, InputError, PolicyError, UnknownNameError
from mammon.files import parse_model, read_toml
from mammon.plan.model import Plan
from mammon.run import state
from mammon.types import Address
from mammon.units import format_amount, parse_amount

DEFAULT_POLICY_FILE = Path("mammon.toml")
DEFAULT_MAX_FEE_MULTIPLE = 3  # maxFeePerGas at most 3x the gas price the plan was reviewed at (market.gas_price_gwei)
TABLES = ("policy", "chains")  # the tables of mammon.toml ([chains] is read by mammon.chains)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_spend_per_plan: dict[str, str] = Field(default_factory=dict, description="token -> limit in token units")
    max_spend_per_day: dict[str, str] = Field(default_factory=dict, description="rolling 24 h, across applies")
    allowed_contracts: list[Address] = Field(default_factory=list, description="targets allowed beyond the chain registry")
    # strict: a TOML value has its own type, so "no" or 50.0 is a mistake to name, not a value to coerce
    registry_only: StrictBool = True
    max_slippage_bps: StrictInt = Field(100, ge=0, le=10_000)
    required_approvals: StrictInt = Field(0, ge=0, description="apply needs this many signatures (`mammon approve`) from `approvers`")
    approvers: list[Address] = Field(default_factory=list, description="reviewers whose approvals count")
    max_fee_multiple: StrictFloat = Field(DEFAULT_MAX_FEE_MULTIPLE, gt=0, le=1000, description=(
        "a transaction's maxFeePerGas is at most this many times the plan's reviewed gas price; above it nothing is signed"))
    _source: str | None = PrivateAttr(None)  # the file it was read from, named in every error about a value in it

    @property
    def origin(self) -> str:
        """Where the policy came from, for messages: `mammon.toml: [policy]`, or `policy` when built in Python."""
        return f"{self._source}: [policy]" if self._source else "policy"

    def where(self, key: str) -> str:
        """Where one of its values is: `mammon.toml: [policy]: max_spend_per_plan.USDC` (`policy.<key>` in Python)."""
        return f"{self.origin}: {key}" if self._source else f"policy.{key}"

    @model_validator(mode="after")
    def _enough_approvers(self) -> Policy:
        if self.required_approvals > len({a.lower() for a in self.approvers}):
            raise ValueError(f"required_approvals is {self.required_approvals} but only {len(self.approvers)} approvers are listed")
        return self


def load_policy(path: str | Path | None = None) -> Policy:
    path = Path(path) if path else DEFAULT_POLICY_FILE
    if not path.exists():
        if path != DEFAULT_POLICY_FILE:
            raise InputError("policy file not found", where=str(path))
        return Policy()
    return parse_policy(read_toml(path), where=str(path))


def parse_policy(data: dict[str, Any], *, where: str) -> Policy:
    """Strict: an unknown table or key is refused naming the nearest known one (a typo must not switch a limit off)."""
    for table in data:
        if table not in TABLES:
            raise UnknownNameError("table", f"[{table}]", [f"[{t}]" for t in TABLES], where=where)
    # unknown keys: the strict model names the nearest known field (mammon.files.parse_model)
    policy = parse_model(Policy, data.get("policy", {}), where=f"{where}: [policy]")
    policy._source = where
    return policy


def _normalised(policy: Policy, limits: dict[str, str], symbols: list[str], field: str) -> dict[str, str]:
    """Token keys matched to the chain's symbols case-insensitively; an unknown token is refused, not ignored."""
    by_lower = {s.lower(): s for s in symbols}
    out: dict[str, str] = {}
    for key, limit in limits.items():
        symbol = by_lower.get(key.lower())
        if symbol is None:
            raise UnknownNameError("token", key, symbols, where=policy.where(field))
        if symbol in out:
            raise InputError(f"token {symbol} is listed twice (as {key!r} too)", where=policy.where(field))
        out[symbol] = limit
    return out


def enforce(policy: Policy, plan: Plan, chain: ChainConfig | None, directory: Path, now: datetime) -> None:
    """Raise PolicyError for the first limit the plan breaches. Spend is derived from the decoded calls and
    the registry (`mammon.review.derive.spend_of`), never read from the plan's stated totals; it is derived
    when a spend limit is set (without one there is nothing to hold it against)."""
    from mammon.compile.inputs import registry_labels
    from mammon.review.derive import spend_of

    limited = bool(policy.max_spend_per_plan or policy.max_spend_per_day)
    derived = spend_of(plan, chain) if limited else {}
    decimals = {e.token: e.decimals for s in plan.steps for e in s.effects} if limited else {}
    if chain is not None and limited:
        decimals.update({t.symbol: t.decimals for t in chain.tokens})
    symbols = [t.symbol for t in chain.tokens] if chain is not None else sorted(decimals)
    per_plan = _normalised(policy, policy.max_spend_per_plan, symbols, "max_spend_per_plan")
    per_day = _normalised(policy, policy.max_spend_per_day, symbols, "max_spend_per_day")
    if plan.policy.slippage_bps > policy.max_slippage_bps:
        raise PolicyError(f"plan slippage {plan.policy.slippage_bps} bps exceeds max_slippage_bps {policy.max_slippage_bps}", where=policy.origin)
    for token, limit in per_plan.items():
        spend = derived.get(token, 0)
        cap = parse_amount(limit, decimals.get(token, 18), symbol=token, where=policy.where(f"max_spend_per_plan.{token}"))
        if spend > cap:
            raise PolicyError(f"plan spends {format_amount(spend, decimals[token], token)}, above max_spend_per_plan {limit} {token}", where=policy.origin)
    spent = state.spent_since(directory, now - state.DAY)
    for token, limit in per_day.items():
        spend = derived.get(token, 0)
        cap = parse_amount(limit, decimals.get(token, 18), symbol=token, where=policy.where(f"max_spend_per_day.{token}"))
        if spend + spent.get(token, 0) > cap:
            places = decimals.get(token, 18)
            raise PolicyError(f"plan spends {format_amount(spend, places, token)} after {format_amount(spent.get(token, 0), places, token)} in the last 24 h, "
                              f"above max_spend_per_day {limit} {token}", where=policy.origin)
    if policy.registry_only:
        allowed = {a.lower() for a in policy.allowed_contracts}
        known = registry_labels(chain) if chain else {}  # the registry's addresses (lower-case), worked out once per config
        for step in plan.steps:
            to = step.call.to.lower()
            if to not in known and to not in allowed:
                raise PolicyError(f"step {step.id} calls {step.call.to}, which is not in the chain registry or allowed_contracts", where=policy.origin)


def _gwei(wei: int | Decimal) -> str:
    return f"{(Decimal(wei) / 10**9).normalize():f}"


def fee_cap(plan: Plan, multiple: float | None) -> int | None:
    """The most a transaction of `plan` may pay per gas (wei): `multiple` x its reviewed gas price; None for no cap."""
    if multiple is None:
        return None
    return int((plan.market.gas_price_gwei * 10**9 * Decimal(str(multiple))).to_integral_value(rounding=ROUND_FLOOR))


def capped_fees(plan: Plan, multiple: float | None, max_fee: int, tip: int, next_base: int) -> tuple[int, int]:
    """(maxFeePerGas, tip) with maxFeePerGas at most `multiple` x the plan's reviewed gas price ([policy]
    max_fee_multiple, default 3, which the engine gives every runner of a real apply): the most a transaction can
    pay per gas is then bounded by what the reviewer saw. Raises FeeCeilingError, before anything is signed, when
    the node's fees now (next base fee + tip) are above the cap. `multiple` None (a dry run on a fork): no cap."""
    cap = fee_cap(plan, multiple)
    if cap is None:
        return max_fee, tip
    factor = Decimal(str(multiple))
    if next_base + tip > cap:
        raise FeeCeilingError(
            f"fees on the node are now {_gwei(next_base + tip)} gwei per gas (next base fee {_gwei(next_base)} + tip {_gwei(tip)}), above "
            f"{factor.normalize():f} x the {plan.market.gas_price_gwei.normalize():f} gwei the plan was reviewed at ({_gwei(cap)} gwei); "
            "nothing was signed or sent: rerun when fees fall, raise [policy] max_fee_multiple, or compile the plan again "
            "(`mammon plan --rpc` records the node's gas price)", where="max_fee_multiple")
    return min(max_fee, cap), tip
