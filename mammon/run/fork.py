"""The fork runner: a plan applied on an anvil fork of a node (`mammon.fork`), and the preflight's runner.

The plan's wallet is impersonated on the fork: no key is needed.

* A `ForkRunner` on a fork is what the engine dry-runs a plan on (`mammon.run.engine.dry_run`):
  the rpc runner's preflight (`RpcRunner.scratch()`) and gas measured on a node
  (`mammon.compile.node_gas`) go through the same steps as a real apply.
* `ForkRunner` (`--runner fork`, or the rpc runner with ``fork_url``) applies a plan on a fork: the
  same nonce, fee, gas and receipt logic as the rpc runner (`mammon.run.node_runner`), but the
  transaction goes into the fork's pool as the impersonated wallet at `sign()` (so its hash is
  known and journaled first) and is mined at `broadcast()`. Nothing reaches the real node; the
  fork dies with the runner, and with the mammon process itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mammon.errors import InputError
from mammon.fork import GAS_TOPUP_WEI, Fork
from mammon.plan.model import Call, Plan
from mammon.run.base import Runner, Signed
from mammon.run.node_runner import NodeRunner, hex_tx


class ForkRunner(NodeRunner):
    """`apply --fork-url URL`: the plan applied on an anvil fork of URL as the impersonated wallet.

    Same preflight, nonce, fee, gas-limit and receipt logic as the rpc runner; no key is needed. At
    `sign()` the transaction enters the fork's pool (mining is on demand), so its hash exists before
    the engine journals it; `broadcast()` mines it. Records say `runner: fork` and mark the hashes as
    simulated: they exist only on the fork, which is stopped by `close()`.
    """

    name = "fork"
    simulated = True

    def __init__(self, plan: Plan, fork: Fork, **kwargs: Any) -> None:
        self.fork = fork
        self._wallet = plan.wallet
        super().__init__(plan, fork.node, **kwargs)

    @classmethod
    def create(cls, plan: Plan, *, fork_url: str | None = None, rpc_url: str | None = None,
               receipt_timeout: float | None = None, **_: Any) -> Runner:
        url = fork_url or rpc_url
        if not url:
            raise InputError("the fork dry-run needs a node to fork: pass --fork-url URL", where="apply")
        fork = Fork(url)
        try:
            fork.impersonate(plan.wallet)
            return cls(plan, fork, confirmations=1,
                       receipt_timeout=60.0 if receipt_timeout is None else receipt_timeout)
        except BaseException:
            fork.close()
            raise

    def account(self) -> str:
        return self._wallet

    @contextmanager
    def _fork_of_node(self) -> Iterator[Runner]:
        """The dry-run copy of a fork is the same fork between evm_snapshot and evm_revert."""
        snap = self.fork.snapshot()
        try:
            yield ForkRunner(self.plan, self.fork, confirmations=1, receipt_timeout=60.0)
        finally:
            self.fork.revert(snap)

    def sign(self, step_id: str, call: Call, *, gas_estimate: int) -> Signed:
        tx = self._prepare(step_id, call, gas_estimate)
        source = tx.pop("_source")
        tx.pop("chainId")
        tx["from"] = self._wallet
        tx_hash = self.node.request("eth_sendTransaction", [hex_tx(tx)])
        self._sent(tx_hash, tx)
        self.gas_limits[tx_hash] = (tx["gas"], source)
        return Signed(tx_hash=tx_hash, raw_tx=None)

    def broadcast(self, signed: Signed) -> None:
        pending = self.node.request("eth_getTransactionByHash", [signed.tx_hash])
        if pending is None:
            raise InputError(f"{signed.tx_hash} is not on this fork (a fork does not survive its run)", where="fork")
        if pending.get("blockNumber") is None:
            self.fork.mine()

    def close(self) -> None:
        self.fork.close()


__all__ = ["GAS_TOPUP_WEI", "Fork", "ForkRunner"]  # Fork and GAS_TOPUP_WEI live in mammon.fork; named here for the runners that fork
