"""What the fault tests check on the chain after an apply: one mined transaction per step (no
duplicates, none missing), and the wallet's balances moved as the plan says, within its tolerances."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from chainview import WALLET, Chain
from mammon.plan.model import Plan
from mammon.plan.planfile import load


@dataclass
class Before:
    block: int
    nonce: int
    balances: dict[str, int]


def tokens(plan: Plan) -> set[str]:
    return {e.token_address for s in plan.steps for e in s.effects if e.account.lower() == WALLET.lower()}


def before(chain: Chain, plan_path: Path) -> Before:
    plan = load(plan_path)
    return Before(block=int(chain("eth_blockNumber"), 16) + 1, nonce=chain.nonce(),
                  balances={t: chain.balance(t) for t in tokens(plan)})


def bounds(plan: Plan) -> dict[str, tuple[Fraction, Fraction | None]]:
    """Per token, the lowest and highest change of the wallet's balance the plan's tolerances allow
    (exact arithmetic: balances are integers far beyond a float's precision; None: no upper bound)."""
    out: dict[str, tuple[Fraction, Fraction | None]] = {}
    for step in plan.steps:
        for e in step.effects:
            if e.account.lower() != WALLET.lower():
                continue
            tol = e.tolerance
            hi: Fraction | None
            if tol.kind == "exact":
                lo = hi = Fraction(e.delta)
            elif tol.kind == "wei":
                lo, hi = Fraction(e.delta - tol.value), Fraction(e.delta + tol.value)
            elif tol.kind == "bps":
                slack = Fraction(abs(e.delta) * tol.value, 10_000)
                lo, hi = e.delta - slack, e.delta + slack
            else:  # min_out: at least the minimum
                lo, hi = Fraction(tol.value), None
            a, b = out.get(e.token_address, (Fraction(0), Fraction(0)))
            out[e.token_address] = (a + lo, None if b is None or hi is None else b + hi)
    return out


def mined_once_per_step(chain: Chain, plan_path: Path, start: Before, record: dict[str, Any] | None = None,
                        others: int = 0) -> list[dict[str, Any]]:
    """Exactly one mined transaction of the wallet per plan step (plus `others` not of the plan), each
    nonce once, the record's hashes among them; returns the wallet's mined transactions."""
    plan = load(plan_path)
    sent = chain.sent_by(WALLET, start.block)
    nonces = [int(tx["nonce"], 16) for tx in sent]
    assert len(nonces) == len(set(nonces)), f"a nonce used twice: {nonces}"
    assert len(sent) == len(plan.steps) + others, f"{len(sent)} transactions mined for {len(plan.steps)} steps (+{others} others)"
    assert chain.nonce() == start.nonce + len(plan.steps) + others
    if record is not None:
        hashes = {tx["hash"] for tx in sent}
        for step in record["steps"]:
            assert step["status"] == "ok", step
            assert step["tx_hash"] in hashes
    return sent


def balances_as_planned(chain: Chain, plan_path: Path, start: Before) -> None:
    plan = load(plan_path)
    for token, (lo, hi) in bounds(plan).items():
        change = chain.balance(token) - start.balances[token]
        assert lo <= change and (hi is None or change <= hi), f"{token}: wallet balance changed by {change}, the plan allows [{lo}, {hi}]"


def right_state(chain: Chain, plan_path: Path, start: Before, record: dict[str, Any] | None = None, others: int = 0) -> None:
    mined_once_per_step(chain, plan_path, start, record, others)
    balances_as_planned(chain, plan_path, start)
