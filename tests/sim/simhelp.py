"""Helpers for the simulator tests: compile a recommendation, execute a plan step by step, check effects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mammon import Recommendation, compile_plan
from mammon.abi import function
from mammon.chains import ChainConfig
from mammon.plan.model import Effect, Plan, Step
from mammon.sim import SimChain, SimReceipt

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
MAX = 2**256 - 1


def compile_rec(**fields: Any) -> Plan:
    return compile_plan(Recommendation(**fields), chain="base", wallet=WALLET, now=NOW)


def within(effect: Effect, actual: int) -> bool:
    tol = effect.tolerance
    if tol.kind == "exact":
        return actual == effect.delta
    if tol.kind == "wei":
        return abs(actual - effect.delta) <= tol.value
    if tol.kind == "bps":
        return abs(actual - effect.delta) * 10_000 <= abs(effect.delta) * tol.value
    return actual >= tol.value  # min_out


@dataclass
class Executed:
    step: Step
    receipt: SimReceipt
    actual: dict[tuple[str, str], int]  # (account, token address) -> balance change in this step

    def change(self, effect: Effect) -> int:
        return self.actual[(effect.account, effect.token_address)]


def execute(chain: SimChain, plan: Plan, *, skip: Iterable[str] = ()) -> list[Executed]:
    """Send every step's stored calldata in plan order, measuring each effect's balance change."""
    done = []
    for step in plan.steps:
        if step.id in skip:
            continue
        watched = {(e.account, e.token_address) for e in step.effects}
        before = {k: chain.balance_of(k[1], k[0]) for k in watched}
        receipt = chain.send(plan.wallet, step.call.to, step.call.data, step.call.value)
        done.append(Executed(step, receipt, {k: chain.balance_of(k[1], k[0]) - v for k, v in before.items()}))
    return done


def encode(abi: str, name: str, **args: Any) -> str:
    return function(abi, name).encode(args)


def token(base: ChainConfig, symbol: str) -> str:
    return base.token(symbol).address
