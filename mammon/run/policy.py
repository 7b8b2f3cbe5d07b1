"""Policy: spending limits per plan and per rolling day, allowed contracts, maximum slippage.

Read from `--policy FILE` or `mammon.toml` in the working directory (table `[policy]`). A plan that
breaches it is refused before anything is sent, naming the limit.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mammon.chains import ChainConfig
from mammon.errors import InputError, PolicyError
from mammon.files import parse_model, read_toml
from mammon.plan.model import Plan
from mammon.run import state
from mammon.types import Address
from mammon.units import format_amount, parse_amount

DEFAULT_POLICY_FILE = Path("mammon.toml")


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_spend_per_plan: dict[str, str] = Field(default_factory=dict, description="token -> limit in token units")
    max_spend_per_day: dict[str, str] = Field(default_factory=dict, description="rolling 24 h, across applies")
    allowed_contracts: list[Address] = Field(default_factory=list, description="targets allowed beyond the chain registry")
    registry_only: bool = True
    max_slippage_bps: int = Field(100, ge=0, le=10_000)


def load_policy(path: str | Path | None = None) -> Policy:
    path = Path(path) if path else DEFAULT_POLICY_FILE
    if not path.exists():
        if path != DEFAULT_POLICY_FILE:
            raise InputError("policy file not found", where=str(path))
        return Policy()
    data = read_toml(path)
    return parse_model(Policy, data.get("policy", {}), where=f"{path}: [policy]")


def enforce(policy: Policy, plan: Plan, chain: ChainConfig | None, directory: Path, now: datetime) -> None:
    """Raise PolicyError for the first limit the plan breaches. Spend is derived from the decoded calls and
    the registry (`mammon.review.derive.spend_of`), never read from the plan's stated totals."""
    from mammon.review.derive import spend_of

    derived = spend_of(plan, chain)
    decimals = {e.token: e.decimals for s in plan.steps for e in s.effects}
    if chain is not None:
        decimals.update({t.symbol: t.decimals for t in chain.tokens})
    if plan.policy.slippage_bps > policy.max_slippage_bps:
        raise PolicyError(f"plan slippage {plan.policy.slippage_bps} bps exceeds max_slippage_bps {policy.max_slippage_bps}", where="policy")
    for token, limit in policy.max_spend_per_plan.items():
        spend = derived.get(token, 0)
        cap = parse_amount(limit, decimals.get(token, 18), symbol=token, where=f"policy.max_spend_per_plan.{token}")
        if spend > cap:
            raise PolicyError(f"plan spends {format_amount(spend, decimals[token], token)}, above max_spend_per_plan {limit} {token}", where="policy")
    spent = state.spent_since(directory, now - state.DAY)
    for token, limit in policy.max_spend_per_day.items():
        spend = derived.get(token, 0)
        cap = parse_amount(limit, decimals.get(token, 18), symbol=token, where=f"policy.max_spend_per_day.{token}")
        if spend + spent.get(token, 0) > cap:
            places = decimals.get(token, 18)
            raise PolicyError(f"plan spends {format_amount(spend, places, token)} after {format_amount(spent.get(token, 0), places, token)} in the last 24 h, "
                              f"above max_spend_per_day {limit} {token}", where="policy")
    allowed = {a.lower() for a in policy.allowed_contracts}
    if policy.registry_only:
        known = set(chain.known_addresses()) if chain else set()
        for step in plan.steps:
            if step.call.to.lower() not in known and step.call.to.lower() not in allowed:
                raise PolicyError(f"step {step.id} calls {step.call.to}, which is not in the chain registry or allowed_contracts", where="policy")
