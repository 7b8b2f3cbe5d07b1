"""The runner interface: the narrow part that differs between the simulator and a real chain.

A runner reads state and executes one call (sign, broadcast, wait); everything else (verifying the plan, preconditions,
policy, the DAG walk, step-output references, journaling, the diff) is the shared apply engine's
job and is never copied into a runner. Runners are found through the `mammon.runners` entry-point
group; the built-in `sim` is registered exactly like a third-party runner would be.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from mammon.errors import MammonError
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
    fee_wei: int | None = None  # L2 execution fee paid (gas used x effective gas price)
    l1_fee_wei: int | None = None  # OP-stack L1 data fee, where the chain charges one


class Signed(BaseModel):
    """A transaction ready to broadcast: its hash is known (and journaled) before it leaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tx_hash: str
    raw_tx: str | None = None  # signed bytes for real chains; None where nothing is signed (simulator)
    nonce: int | None = None


class TxDropped(MammonError):
    """The transaction can never be mined: another transaction of the wallet took its nonce.

    `conflict` is that other transaction's hash when the runner found it. The engine marks the step
    `dropped`; a rerun signs it again with the next nonce after re-checking the plan.
    """

    def __init__(self, tx_hash: str, nonce: int | None, conflict: str | None, *, where: str | None = None) -> None:
        self.tx_hash, self.nonce, self.conflict = tx_hash, nonce, conflict
        by = f"transaction {conflict}" if conflict else "another transaction (not found in the recent blocks)"
        super().__init__(f"{tx_hash} can never be mined: nonce {nonce} of the wallet was taken by {by}", where=where)


class NonceHeld(MammonError):
    """A pending transaction that is not this apply's holds the nonce ("replacement underpriced")."""


class Runner(ABC):
    """Executes calls for one wallet on one chain. Construct with `Runner.create(plan, **options)`."""

    name: ClassVar[str]
    simulated: ClassVar[bool] = False
    max_fee_multiple: float | None = None  # [policy] max_fee_multiple, set by the engine for a real apply; a runner that sets fees caps them by it

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

    def balances(self, pairs: list[tuple[str, str]]) -> list[int]:
        """`balance_of` of each (token, owner), in order; a runner on a node reads them in one round trip."""
        return [self.balance_of(token, owner) for token, owner in pairs]

    @abstractmethod
    def allowance(self, token: str, owner: str, spender: str) -> int: ...

    @abstractmethod
    def sign(self, step_id: str, call: Call, *, gas_estimate: int) -> Signed:
        """Prepare one call for sending (nonce, fees, gas limit, signature) without sending it."""

    @abstractmethod
    def broadcast(self, signed: Signed) -> None:
        """Submit a prepared transaction. Re-broadcasting the same signed bytes is harmless."""

    @abstractmethod
    def wait(self, tx_hash: str) -> Outcome:
        """Block until the transaction's outcome is known."""

    def call(self, to: str, data: str) -> bytes:
        """Read-only call (eth_call) on current state; rate preconditions need it."""
        raise NotImplementedError(f"the {self.name} runner cannot make read-only calls")

    def lookup(self, tx_hash: str) -> Outcome | None:
        """Outcome of an earlier transaction if mined (crash recovery); None when the chain never saw it.
        Raises TxDropped when it can never be mined (its nonce was used by another transaction)."""
        return None

    def journaled(self, signed: Signed) -> None:
        """Told, before `lookup`, about a transaction an earlier run journaled (its nonce and bytes)."""

    def scratch(self) -> AbstractContextManager[Runner] | None:
        """A runner on a throw-away copy of the current state (the engine dry-runs the plan there before
        sending anything); None when this runner cannot copy its state."""
        return None

    def checkpoint(self) -> Callable[[], None] | None:
        """A rollback to the state as it is now (chain and runner), for a run the engine may take back
        (`engine._speculate`); None when this runner cannot roll back (a real chain never can)."""
        return None

    def preflight(self, plan: Plan) -> list[Outcome] | None:
        """Where `scratch()` is None: the runner's own simulation of the plan (e.g. eth_simulateV1)."""
        return None

    def close(self) -> None:
        """Release resources (processes, connections)."""
