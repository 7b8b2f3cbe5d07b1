"""The `sim` runner: applies a plan on an in-memory `SimChain` built from a world file.

The simulator impersonates the plan's wallet (no key): `sign` fixes the transaction and its hash
(the wallet's next nonce) without executing, `broadcast` executes it in the next block and keeps
its outcome, `wait`/`lookup` return it. `preflight` runs calls on a throw-away copy of the state. Transaction hashes are deterministic and start with `0x5111`
("SIM"), so a simulated hash is never mistaken for a real one; every Outcome says `simulated=True`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from datetime import datetime
from pathlib import Path
from typing import Any

from mammon import clock
from mammon.chains import ChainConfig, chain_for_plan, load_chain_file
from mammon.errors import RunFailed
from mammon.market import Market, load_market
from mammon.plan.model import Call, Plan
from mammon.run.base import Outcome, Runner, Signed
from mammon.sim import SimChain, SimReceipt, SimTx


class SimRunner(Runner):
    name = "sim"
    simulated = True

    def __init__(self, plan: Plan, chain: SimChain, *, enforce_gas_estimate: bool = False) -> None:
        self.plan = plan
        self.chain = chain
        self.enforce_gas_estimate = enforce_gas_estimate
        self.receipts: dict[str, SimReceipt] = {}
        self.pending: dict[str, SimTx] = {}
        self.steps: dict[str, str] = {}  # step id -> tx hash of its latest send

    @classmethod
    def create(cls, plan: Plan, *, world: str | Path | Market | None = None, chain_config: str | Path | ChainConfig | None = None,
               now: datetime | None = None, enforce_gas_estimate: bool = False, **_: Any) -> SimRunner:
        """World: a world file (default plans/worlds/default.yaml) or a Market; chain: the plan's, or the file given."""
        market = world if isinstance(world, Market) else load_market(world)
        if isinstance(chain_config, ChainConfig):
            config = chain_config
        elif chain_config:
            config = load_chain_file(chain_config)
        else:
            config = chain_for_plan(plan.chain.id, plan.chain.name)
        moment = now or clock.now()
        chain = SimChain(market, config, wallets=[plan.wallet], timestamp=int(moment.timestamp()))
        return cls(plan, chain, enforce_gas_estimate=enforce_gas_estimate)

    def chain_id(self) -> int:
        return self.chain.chain_id

    def account(self) -> str:
        return self.plan.wallet

    def call(self, to: str, data: str) -> bytes:
        return self.chain.call(to, data)

    def balance_of(self, token: str, owner: str) -> int:
        return self.chain.balance_of(token, owner)

    def balances(self, pairs: list[tuple[str, str]]) -> list[int]:
        return self.chain.balances(pairs)

    def allowance(self, token: str, owner: str, spender: str) -> int:
        return self.chain.allowance(token, owner, spender)

    def native_balance(self, account: str) -> int:
        return self.chain.native_balance(account)

    def sign(self, step_id: str, call: Call, *, gas_estimate: int) -> Signed:
        """Fix the transaction (the wallet's next nonce) and its hash; nothing executes yet.

        The gas limit is not taken from the plan's static estimate (a real runner re-estimates with
        its node; the simulator measures), unless the runner was created with enforce_gas_estimate=True.
        """
        tx = self.chain.sign(self.plan.wallet, call.to, call.data, call.value,
                             gas_limit=gas_estimate if self.enforce_gas_estimate else None)
        self.pending[tx.tx_hash] = tx
        self.steps[step_id] = tx.tx_hash
        return Signed(tx_hash=tx.tx_hash, raw_tx=None)

    def broadcast(self, signed: Signed) -> None:
        """Execute the signed transaction now; broadcasting it again is harmless."""
        if signed.tx_hash in self.receipts:
            return
        tx = self.pending.pop(signed.tx_hash, None)
        if tx is None:
            raise RunFailed(f"transaction {signed.tx_hash} was not signed by this simulator (a simulated run cannot be resumed "
                            "in another process)", where="sim runner")
        self.receipts[tx.tx_hash] = self.chain.broadcast(tx)

    def send(self, step_id: str, call: Call, *, gas_limit: int | None = None) -> str:
        """sign + broadcast in one go (for scripts and tests); returns the transaction hash."""
        tx = self.chain.sign(self.plan.wallet, call.to, call.data, call.value, gas_limit=gas_limit)
        self.steps[step_id] = tx.tx_hash
        self.receipts[tx.tx_hash] = self.chain.broadcast(tx)
        return tx.tx_hash

    def scratch(self) -> AbstractContextManager[Runner]:
        """This runner, its chain and receipts restored afterwards (`SimChain.snapshot`/`revert_to`): the dry run
        leaves no trace, without deep-copying the whole simulated world."""
        return self._trial()

    @contextmanager
    def _trial(self) -> Iterator[Runner]:
        rollback = self.checkpoint()
        try:
            yield self
        finally:
            rollback()

    def checkpoint(self) -> Callable[[], None]:
        """A rollback of the chain (`SimChain.snapshot`/`revert_to`) and of this runner's receipts, signed
        transactions and step hashes to what they are now."""
        snap = self.chain.snapshot()
        saved = dict(self.receipts), dict(self.pending), dict(self.steps)

        def rollback() -> None:
            self.chain.revert_to(snap)
            self.receipts, self.pending, self.steps = dict(saved[0]), dict(saved[1]), dict(saved[2])

        return rollback

    def wait(self, tx_hash: str) -> Outcome:
        outcome = self.lookup(tx_hash)
        if outcome is None:
            raise RunFailed(f"transaction {tx_hash} was never sent through this simulator", where="sim runner")
        return outcome

    def lookup(self, tx_hash: str) -> Outcome | None:
        receipt = self.receipts.get(tx_hash.lower())
        return None if receipt is None else self._outcome(receipt)

    @staticmethod
    def _outcome(receipt: SimReceipt) -> Outcome:
        return Outcome(status=receipt.status, tx_hash=receipt.tx_hash, simulated=True, gas_used=receipt.gas_used,
                       return_data=receipt.return_data, revert_reason=receipt.revert_reason, block=receipt.block)

    def receipt(self, tx_hash: str) -> SimReceipt | None:
        """The full simulated receipt (logs, decoded return values) behind an Outcome."""
        return self.receipts.get(tx_hash.lower())
