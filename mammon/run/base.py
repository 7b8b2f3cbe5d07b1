"""The runner interface: the narrow part that differs between the simulator and a real chain.

A runner reads state and executes one call; everything else (verifying the plan, preconditions,
policy, the DAG walk, step-output references, journaling, the diff) is the shared apply engine's
job and is never copied into a runner. Runners are found through the `mammon.runners` entry-point
group; the built-in `sim` is registered exactly like a third-party runner would be.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from mammon.plan.model import Call, Plan


class Outcome(BaseModel):
    """What happened to one sent call."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    status: Literal["ok", "reverted"]
    tx_hash: str
    simulated: bool
    gas_used: int
    return_data: str = "0x"
    revert_reason: str | None = None
    block: int | None = None


class Runner(ABC):
    """Executes calls for one wallet on one chain. Construct with `Runner.create(plan, **options)`."""

    name: ClassVar[str]
    simulated: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def create(cls, plan: Plan, **options: Any) -> Runner:
        """Build the runner for this plan; options come from the CLI (world, rpc_url, key …)."""

    @abstractmethod
    def chain_id(self) -> int: ...

    @abstractmethod
    def account(self) -> str:
        """The address that will send (must equal the plan's wallet)."""

    @abstractmethod
    def balance_of(self, token: str, owner: str) -> int:
        """ERC-20 balanceOf(owner) of `token` (a contract address)."""

    @abstractmethod
    def allowance(self, token: str, owner: str, spender: str) -> int: ...

    @abstractmethod
    def send(self, step_id: str, call: Call, *, gas_limit: int | None = None) -> str:
        """Sign (if needed) and submit one call; return its transaction hash."""

    @abstractmethod
    def wait(self, tx_hash: str) -> Outcome:
        """Block until the transaction's outcome is known."""

    def lookup(self, tx_hash: str) -> Outcome | None:
        """Outcome of an earlier transaction if known (crash recovery); None when never seen."""
        return None

    def close(self) -> None:
        """Release resources (processes, connections)."""
