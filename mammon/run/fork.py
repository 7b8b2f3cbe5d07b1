"""Anvil forks of a node: simulating a whole plan before sending, and the `--fork-url` dry-run.

A fork is a throw-away anvil started with ``--fork-url <node> --fork-block-number <latest>``, with
mining on demand (``--no-mining``) and block times pinned (each block 12 s after the previous one,
starting from the forked block's time, as on the devnet), so a simulation is repeatable and
deadlines computed from the plan's clock behave as they would on the node. The plan's wallet is
impersonated: no key is needed on a fork.

* `simulate_plan(fork, plan)` executes every step of a plan in DAG order as the wallet, resolving
  step-output references from the balances the fork actually produced (the engine's own
  `resolve_call`), checking the engine's guards (Compound error codes, min-out), and returns one
  `SimStep` per step (outcome, gas used, outputs). The rpc runner's preflight and
  `mammon.compile.node_gas` are built on it.
* `ForkRunner` (the rpc runner with ``fork_url``) applies a plan on a fork: same nonce, fee and gas
  logic as the rpc runner, but the transaction goes into the fork's pool as the impersonated
  wallet at `sign()` (so its hash is known and journaled first) and is mined at `broadcast()`.
  Nothing reaches the real node; the fork dies with the runner.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mammon.errors import DevnetError, InputError
from mammon.plan.model import Call, Plan, Step
from mammon.run.base import Outcome, Runner, Signed
from mammon.node import Node, NodeError, decode_revert, redact
from mammon.run.rpc import DEFAULT_RECEIPT_TIMEOUT, RpcRunner

GAS_TOPUP_WEI = 10**18  # node gas estimates only: a wallet with less ETH gets this much on the fork


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float, source: str) -> None:
    import json
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            detail = tail[0].replace(source, redact(source))[:300] if tail else ""
            raise DevnetError(f"anvil --fork-url {redact(source)} exited with code {proc.returncode}" + (f": {detail}" if detail else ""))
        try:
            req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=1.0) as resp:
                if "result" in json.loads(resp.read()):
                    return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise DevnetError(f"the anvil fork of {redact(source)} did not answer within {timeout:.0f} s")
        time.sleep(0.02)


class Fork:
    """A running anvil fork of `source_url` at `block` (default: the source's latest block)."""

    def __init__(self, source_url: str, *, block: int | None = None, timeout: float = 60.0) -> None:
        from mammon.devnet.anvil import BLOCK_INTERVAL_SECONDS, find_anvil, free_port

        self.source = source_url
        source = Node(source_url, where="fork")
        self.block = block if block is not None else int(source.request("eth_blockNumber"), 16)
        self._dir = tempfile.TemporaryDirectory(prefix="mammon-fork-")
        log = Path(self._dir.name) / "anvil.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(find_anvil()), "--host", "127.0.0.1", "--port", str(self.port),
                "--fork-url", source_url, "--fork-block-number", str(self.block),
                "--no-mining", "--no-storage-caching", "--silent"]
        with open(log, "wb") as fh:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
        try:
            _wait_ready(self._proc, self.url, log, timeout, source_url)
            self.node = Node(self.url, timeout=120.0, where="fork")
            latest = self.node.request("eth_getBlockByNumber", ["latest", False])
            self.node.request("anvil_setTime", [int(latest["timestamp"], 16)])
            self.node.request("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL_SECONDS])
        except BaseException:
            self.close()
            raise
        self.chain_id = self.node.chain_id

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        return self.node.request(method, params)

    def impersonate(self, address: str) -> None:
        self.request("anvil_impersonateAccount", [address])

    def ensure_eth(self, address: str, minimum: int) -> None:
        if int(self.request("eth_getBalance", [address, "latest"]), 16) < minimum:
            self.request("anvil_setBalance", [address, hex(minimum)])

    def mine(self) -> None:
        self.request("evm_mine")

    def snapshot(self) -> str:
        return str(self.request("evm_snapshot"))

    def revert(self, snap: str) -> None:
        self.request("evm_revert", [snap])

    def close(self) -> None:
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._dir.cleanup()

    def __enter__(self) -> Fork:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- simulation


@dataclass
class SimStep:
    """One step as executed on a fork."""

    step_id: str
    status: str  # ok | reverted | failed (guard or unresolvable reference) | skipped
    call: Call | None = None  # with references resolved
    gas_used: int | None = None
    return_data: str = "0x"
    reason: str | None = None
    outputs: dict[str, int] = field(default_factory=dict)

    def outcome(self, tx_hash: str = "0x") -> Outcome:
        return Outcome(status="ok" if self.status == "ok" else "reverted", tx_hash=tx_hash, simulated=True,
                       gas_used=self.gas_used or 0, return_data=self.return_data,
                       revert_reason=None if self.status == "ok" else f"step {self.step_id}: {self.reason}")


def _balance(node: Node, token: str, owner: str) -> int:
    data = "0x70a08231" + owner.lower().removeprefix("0x").rjust(64, "0")
    out = node.request("eth_call", [{"to": token, "data": data}, "latest"])
    return int(out, 16) if out and out != "0x" else 0


def _tx(wallet: str, call: Call) -> dict[str, Any]:
    return {"from": wallet, "to": call.to, "data": call.data, "value": hex(call.value)}


def simulate_plan(fork: Fork, plan: Plan, steps: list[Step] | None = None) -> list[SimStep]:
    """Execute `steps` (default: all of the plan's, in DAG order) on the fork as the plan's wallet.

    The fork's state is changed (callers wanting it back wrap this in snapshot/revert). The wallet
    must be impersonated and hold ETH for gas (a real wallet's balance is kept: lacking gas money
    is a finding too).
    """
    from mammon.run.engine import _guard_failure, _order, _watched, resolve_call
    from mammon.run.record import ActualEffect, RunRecord, StepRecord

    wallet = plan.wallet
    ordered = steps if steps is not None else _order(plan)
    rec = RunRecord(plan_hash=plan.content_hash or "sha256:", chain_id=plan.chain.id, wallet=wallet, runner="fork",
                    started_at=plan.created_at, steps=[StepRecord(id=s.id) for s in plan.steps])
    results: list[SimStep] = []
    for step in ordered:
        srec = rec.step(step.id)
        failed_dep = next((d for d in step.depends_on if rec.step(d).status != "ok"), None)
        if failed_dep:
            srec.status = "skipped"
            results.append(SimStep(step.id, "skipped", reason=f"dependency {failed_dep} did not succeed"))
            continue
        try:
            call, _ = resolve_call(step, rec)
        except InputError as exc:
            srec.status = "failed"
            results.append(SimStep(step.id, "failed", reason=exc.message))
            continue
        watched = _watched(step)
        before = [ActualEffect(account=a, token=t, token_address=ta, decimals=d, before=_balance(fork.node, ta, a), after=0)
                  for a, t, ta, d in watched]
        sim = _execute(fork, wallet, step.id, call)
        if sim.status == "ok":
            effects = [e.model_copy(update={"after": _balance(fork.node, e.token_address, e.account)}) for e in before]
            outcome = sim.outcome()
            failure = _guard_failure(step, outcome, effects, wallet)
            if failure:
                sim.status, sim.reason = "failed", failure
            else:
                for name, out in step.outputs.items():
                    sim.outputs[name] = sum(e.delta for e in effects if e.account.lower() == out.account.lower()
                                            and e.token_address.lower() == out.token_address.lower())
                srec.outputs = dict(sim.outputs)
        srec.status = "ok" if sim.status == "ok" else "failed"
        results.append(sim)
    return results


def _execute(fork: Fork, wallet: str, step_id: str, call: Call) -> SimStep:
    tx = _tx(wallet, call)
    try:
        ret = fork.request("eth_call", [tx, "latest"])
    except NodeError as exc:
        if exc.data is None and "revert" not in exc.node_message.lower():
            return SimStep(step_id, "failed", call=call, reason=f"the fork refused the call: {exc.node_message}")
        return SimStep(step_id, "reverted", call=call, reason=decode_revert(exc.data, exc.node_message))
    try:
        gas = int(fork.request("eth_estimateGas", [tx]), 16)
        tx_hash = fork.request("eth_sendTransaction", [{**tx, "gas": hex(gas * 12 // 10)}])
    except NodeError as exc:  # e.g. insufficient funds for gas
        return SimStep(step_id, "failed", call=call, reason=f"cannot send on the fork: {exc.node_message}")
    fork.mine()
    receipt = fork.request("eth_getTransactionReceipt", [tx_hash])
    if receipt is None:
        return SimStep(step_id, "failed", call=call, reason="the fork did not mine the transaction")
    gas_used = int(receipt["gasUsed"], 16)
    if int(receipt["status"], 16) != 1:
        return SimStep(step_id, "reverted", call=call, gas_used=gas_used, reason="reverted when mined (the call alone did not)")
    return SimStep(step_id, "ok", call=call, gas_used=gas_used, return_data=ret or "0x")


def preflight_on_fork(fork: Fork, plan: Plan) -> list[Outcome]:
    """Simulate the whole plan on the fork and put the fork back as it was; one Outcome per executed step.

    Stops at the first step that does not succeed (its Outcome is `reverted`, the reason names the step).
    """
    snap = fork.snapshot()
    try:
        sims = simulate_plan(fork, plan)
    finally:
        fork.revert(snap)
    outcomes: list[Outcome] = []
    for sim in sims:
        if sim.status == "skipped":
            continue
        outcomes.append(sim.outcome())
        if sim.status != "ok":
            break
    return outcomes


# ----------------------------------------------------------------------------- the dry-run runner


def preflight_calls(fork: Fork, sender: str, calls: list[Call]) -> list[Outcome]:
    """Simulate bare calls in order (no step metadata: no references, no guards); the fork is put back."""
    snap = fork.snapshot()
    outcomes: list[Outcome] = []
    try:
        for n, call in enumerate(calls, start=1):
            sim = _execute(fork, sender, f"#{n}", call)
            outcomes.append(sim.outcome())
            if sim.status != "ok":
                break
    finally:
        fork.revert(snap)
    return outcomes


class ForkRunner(RpcRunner):
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
        super().__init__(plan, fork.node, None, **kwargs)

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

    def preflight(self, calls: list[Call]) -> list[Outcome] | None:
        if self._calls_of_plan(calls):
            return preflight_on_fork(self.fork, self.plan)
        return preflight_calls(self.fork, self._wallet, calls)

    def sign(self, step_id: str, call: Call, *, gas_estimate: int) -> Signed:
        tx = self._prepare(step_id, call, gas_estimate)
        source = tx.pop("_source")
        tx.pop("chainId")
        tx["from"] = self._wallet
        tx_hash = self.node.request("eth_sendTransaction", [_hex(tx)])
        self._nonces[tx_hash] = tx["nonce"]
        self._next_nonce = tx["nonce"] + 1
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


def _hex(tx: dict[str, Any]) -> dict[str, Any]:
    return {k: hex(v) if isinstance(v, int) else v for k, v in tx.items()}


__all__ = ["DEFAULT_RECEIPT_TIMEOUT", "Fork", "ForkRunner", "Node", "NodeError", "SimStep", "preflight_calls",
           "preflight_on_fork", "redact", "simulate_plan"]
