"""The rpc runner: real signed transactions to a JSON-RPC node (`mammon apply --runner rpc`).

The shared engine decides what runs; this runner only reads state and executes one call at a time:

* **Key**: signed locally with eth-account (`mammon.run.keys`): an encrypted keystore or
  MAMMON_PRIVATE_KEY. The key never leaves the `Signer` (not in messages, records or logs).
* **Preflight**: before the first transaction the whole plan (every step, step-output references
  resolved from what the simulation produced, guards checked) runs on an anvil fork of the node
  as the wallet (`mammon.run.fork`), so a plan that would revert is refused with nothing sent.
  Where anvil is not installed, the node's `eth_simulateV1` runs the steps without references.
* **Sign**: explicit nonce from the node's `pending` count; the run refuses when that count moved
  since the runner was created other than by this run's own transactions (someone else is using
  the wallet). EIP-1559 fees from `eth_feeHistory`: maxPriorityFeePerGas = median of the last 10
  blocks' 50th-percentile tips (else `eth_maxPriorityFeePerGas`), maxFeePerGas = 2 × next base
  fee + tip. Gas limit = node estimate × GAS_LIMIT_MARGIN (1.2: headroom for state that moves
  between estimate and inclusion, e.g. interest accrual or a pool's tick); if the node cannot
  estimate (an RPC error other than a revert), the plan's estimate × the same margin. A step the
  node says would revert is refused before signing (`WouldRevertError`), never sent to fail.
* **Broadcast**: `eth_sendRawTransaction` of the bytes the engine journaled first, never retried
  blindly: after a transport failure the hash is looked up, and only a node that has not seen it
  gets the same bytes again (which cannot make a second transaction: same nonce). Any error for a
  hash the node already knows (in its pool or mined: "already known", "nonce too low" on a
  rebroadcast) counts as success; "nonce too low" for a hash the node does not know means another
  transaction took the nonce (`TxDropped`, naming it when found in the recent blocks);
  "replacement underpriced" means someone else's pending transaction holds it (`NonceHeld`).
* **Wait**: the receipt, then `confirmations` blocks (the receipt's block counts as the first; the
  receipt is re-read afterwards and a changed block hash, i.e. a reorg, restarts the wait). While
  there is no receipt, a transaction the node no longer knows is rebroadcast, or, when its nonce
  has been used meanwhile, reported as `TxDropped` at once (not after the receipt timeout).
  Return data and revert reasons come from replaying the call with `eth_call` at the parent
  block; reasons are decoded (`Error(string)`, `Panic(uint256)`, known custom errors).
* **Lookup** (crash recovery): the outcome if mined, waits if the node has it pending, `TxDropped`
  if its nonce was used by another transaction, None if the node has never seen the hash and the
  nonce is free (the engine then rebroadcasts the journaled bytes).
* **Cost**: L2 fee = gasUsed × effectiveGasPrice; on OP-stack chains (Base) the L1 data fee is read
  from the receipt's `l1Fee`, else estimated at signing from the GasPriceOracle predeploy
  (`getL1Fee(bytes)` with the signed transaction). Kept per hash in `runner.costs`.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from mammon.errors import InputError, MammonError, PlanError
from mammon.node import Node, NodeError, NodeUnavailable, decode_revert
from mammon.plan.model import Call, Plan
from mammon.run.base import NonceHeld, Outcome, Runner, Signed, TxDropped
from mammon.run.killpoints import killpoint
from mammon.run.keys import Signer, load_signer

if TYPE_CHECKING:
    from mammon.run.fork import Fork

GAS_LIMIT_MARGIN = (12, 10)  # gas limit = estimate * 12 // 10
FEE_HISTORY_BLOCKS = 10
DEFAULT_RECEIPT_TIMEOUT = 300.0
CONFLICT_SEARCH_BLOCKS = 256  # how far back a dropped transaction's rival is looked for
BROADCAST_ATTEMPTS = 3
GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"  # OP-stack predeploy (Base, Optimism)
_GET_L1_FEE = function_signature_to_4byte_selector("getL1Fee(bytes)")


def with_margin(gas: int) -> int:
    return gas * GAS_LIMIT_MARGIN[0] // GAS_LIMIT_MARGIN[1]


# ----------------------------------------------------------------------------- errors


class WouldRevertError(PlanError):
    """The node says the step would revert now; it was not signed or sent."""


class NonceMovedError(MammonError):
    """The wallet's nonce changed under the run: another sender is using the wallet."""


class ReceiptTimeout(MammonError):
    """No receipt in time; the step stays `sent` in the record and a rerun looks it up again."""


# ----------------------------------------------------------------------------- the runner


@dataclass
class TxCost:
    """What one transaction cost: L2 execution plus, on OP-stack chains, the L1 data fee (wei)."""

    gas_used: int
    effective_gas_price: int
    l2_fee_wei: int
    l1_fee_wei: int | None = None  # None: not an OP-stack chain (no GasPriceOracle code)
    l1_fee_source: str | None = None  # "receipt" (actual) or "oracle" (estimated at signing)

    @property
    def total_wei(self) -> int:
        return self.l2_fee_wei + (self.l1_fee_wei or 0)


def _hex_tx(tx: dict[str, Any]) -> dict[str, Any]:
    return {k: hex(v) if isinstance(v, int) else v for k, v in tx.items()}


class RpcRunner(Runner):
    """Sends the plan's calls as EIP-1559 transactions signed locally. Options: see `create`."""

    name: ClassVar[str] = "rpc"
    simulated: ClassVar[bool] = False

    def __init__(self, plan: Plan, node: Node, signer: Signer | None, *, confirmations: int = 1,
                 receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT, poll_max: float = 2.0) -> None:
        self._early_fork: Fork | None = None  # first: close() must work on a runner whose construction failed
        self.plan = plan
        self.node = node
        self._signer = signer
        self.confirmations = max(1, int(confirmations))
        self.receipt_timeout = receipt_timeout
        self.poll_max = poll_max
        self.costs: dict[str, TxCost] = {}
        self.l1_fees: dict[str, int] = {}  # tx hash -> L1 data fee in wei (OP-stack chains only)
        self.gas_limits: dict[str, tuple[int, str]] = {}  # tx hash -> (gas limit, "node" | "plan")
        self._nonces: dict[str, int] = {}
        self._raw: dict[str, str] = {}
        self._op_stack = len(bytes.fromhex((self.node.request("eth_getCode", [GAS_PRICE_ORACLE, "latest"]) or "0x")[2:])) > 0
        self._next_nonce = self._pending_nonce()

    # --------------------------------------------------------------- construction

    @classmethod
    def create(cls, plan: Plan, *, rpc_url: str | None = None, keystore: str | None = None, fork_url: str | None = None,
               confirmations: int = 1, chain_config: str | None = None, receipt_timeout: float | None = None,
               account_index: int | None = None, derivation_path: str | None = None, **_: Any) -> Runner:
        """rpc_url (else ETH_RPC_URL), keystore (else MAMMON_PRIVATE_KEY, else MAMMON_MNEMONIC at account_index or
        derivation_path); fork_url switches to the fork dry-run."""
        if fork_url:
            from mammon.run.fork import ForkRunner

            return ForkRunner.create(plan, fork_url=fork_url)
        url = rpc_url or os.environ.get("ETH_RPC_URL")
        if not url:
            raise InputError("the rpc runner needs a node: pass --rpc-url URL or set ETH_RPC_URL", where="apply")
        signer = load_signer(keystore, account_index=account_index, derivation_path=derivation_path, wallet=plan.wallet)
        return cls(plan, Node(url), signer, confirmations=confirmations,
                   receipt_timeout=DEFAULT_RECEIPT_TIMEOUT if receipt_timeout is None else receipt_timeout)

    # --------------------------------------------------------------- reads

    def chain_id(self) -> int:
        return self.node.chain_id

    def account(self) -> str:
        assert self._signer is not None
        return self._signer.address

    def _sender(self) -> str:
        return self.account()

    def call(self, to: str, data: str) -> bytes:
        return self.node.call(to, data)

    def balance_of(self, token: str, owner: str) -> int:
        out = self.node.call(token, "0x70a08231" + abi_encode(["address"], [owner]).hex())
        return int.from_bytes(out[:32], "big") if out else 0

    def allowance(self, token: str, owner: str, spender: str) -> int:
        out = self.node.call(token, "0xdd62ed3e" + abi_encode(["address", "address"], [owner, spender]).hex())
        return int.from_bytes(out[:32], "big") if out else 0

    # --------------------------------------------------------------- preflight

    def scratch(self) -> AbstractContextManager[Runner] | None:
        """A fork runner on an anvil fork of the node (the wallet impersonated): the engine dry-runs the
        whole plan there before the first transaction. None where anvil is not installed."""
        from mammon.devnet.anvil import find_anvil
        from mammon.errors import DevnetError

        try:
            find_anvil()
        except DevnetError:
            return None
        return self._fork_of_node()

    def start_preflight_fork(self) -> None:
        """Spawn the preflight's fork now (anvil boots while the plan is checked against the node); the
        first preflight uses it, later ones (a resumed run's re-checks) fork the chain as it is then.
        `mammon apply` calls it right after creating the runner; `close()` stops a fork never used."""
        from mammon.devnet.anvil import find_anvil
        from mammon.errors import DevnetError
        from mammon.run.fork import Fork

        if self._early_fork is not None or self.simulated:  # a fork runner dry-runs on its own fork
            return
        try:
            find_anvil()
            self._early_fork = Fork.start(self.node.url)
        except DevnetError:
            self._early_fork = None  # no anvil here, or it would not start: the preflight says so, when it runs

    @contextmanager
    def _fork_of_node(self) -> Iterator[Runner]:
        from mammon.run.fork import Fork, ForkRunner

        early, self._early_fork = self._early_fork, None
        with early or Fork(self.node.url) as fork:
            fork.ready().impersonate(self._sender())
            yield ForkRunner(self.plan, fork, confirmations=1, receipt_timeout=60.0)

    def preflight(self, plan: Plan) -> list[Outcome] | None:
        """Without anvil: the node's own eth_simulateV1 over the steps without references."""
        return self.simulate_calls([s.call for s in plan.steps if not s.refs], "anvil is not installed")

    def simulate_calls(self, calls: list[Call], no_anvil: str = "anvil is not installed") -> list[Outcome]:
        """Without anvil: the node's own eth_simulateV1 over `calls` in one block (steps with references are
        not included: their amounts are only known once earlier steps ran)."""
        from mammon.errors import DevnetError

        sender = self._sender()
        batch = [{"from": sender, "to": c.to, "data": c.data, "value": hex(c.value)} for c in calls]
        try:
            blocks = self.node.request("eth_simulateV1", [{"blockStateCalls": [{"calls": batch}], "validation": False}, "latest"])
        except NodeError as exc:
            raise DevnetError(f"cannot simulate the plan before sending: no anvil for a fork ({no_anvil}) and the node has no "
                              f"eth_simulateV1 ({exc.node_message})") from None
        outcomes = []
        for n, result in enumerate(blocks[0]["calls"] if blocks else []):
            ok = int(result.get("status", "0x0"), 16) == 1
            data = result.get("returnData") or "0x"
            reason = None if ok else f"call #{n + 1} to {calls[n].to}: " + decode_revert(bytes.fromhex(data[2:]), (result.get("error") or {}).get("message", ""))
            outcomes.append(Outcome(status="ok" if ok else "reverted", tx_hash="0x", simulated=True,
                                    gas_used=int(result.get("gasUsed", "0x0"), 16), return_data=data if ok else "0x", revert_reason=reason))
            if not ok:
                break
        return outcomes

    # --------------------------------------------------------------- sending

    def _pending_nonce(self) -> int:
        return int(self.node.request("eth_getTransactionCount", [self._sender(), "pending"]), 16)

    def _take_nonce(self, step_id: str) -> int:
        pending = self._pending_nonce()
        expected = self._next_nonce
        if pending > expected:
            rival = self.find_nonce_user(expected, pending=True)
            by = f" (nonce {expected} went to {rival})" if rival else ""
            raise NonceMovedError(
                f"the wallet {self._sender()} sent {pending - expected} transaction(s) that are not part of this apply since it started "
                f"(its next nonce should be {expected}, the node says {pending}){by}; refusing to sign step {step_id}: "
                "find out who else uses this wallet, then rerun (a rerun re-checks the plan before signing)", where=f"step {step_id}")
        if pending < expected:
            raise NonceMovedError(
                f"the node's pending nonce for {self._sender()} went back to {pending} (this run has used up to {expected - 1}): "
                "an earlier transaction of this apply was dropped from the node's pool; rerun to rebroadcast it from the run record",
                where=f"step {step_id}")
        return pending

    def _fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas) in wei."""
        try:
            hist = self.node.request("eth_feeHistory", [hex(FEE_HISTORY_BLOCKS), "latest", [50]])
            next_base = int(hist["baseFeePerGas"][-1], 16)
            tips = [int(r[0], 16) for r in (hist.get("reward") or []) if r]
        except (NodeError, KeyError, IndexError, TypeError):
            block = self.node.request("eth_getBlockByNumber", ["latest", False])
            if "baseFeePerGas" not in block:
                raise InputError("the node's chain has no EIP-1559 base fee; the rpc runner sends only type-2 transactions", where="rpc") from None
            next_base, tips = int(block["baseFeePerGas"], 16), []
        tips = [t for t in tips if t > 0]
        if tips:
            tip = int(statistics.median(tips))
        else:
            try:
                tip = int(self.node.request("eth_maxPriorityFeePerGas"), 16)
            except NodeError:
                tip = 0
        return 2 * next_base + tip, tip

    def _gas_limit(self, step_id: str, tx: dict[str, Any], plan_estimate: int) -> tuple[int, str]:
        try:
            return with_margin(int(self.node.request("eth_estimateGas", [_hex_tx(tx)]), 16)), "node"
        except NodeError as exc:
            if exc.data is not None or "revert" in exc.node_message.lower():
                raise WouldRevertError(
                    f"the node says this call would revert now: {decode_revert(exc.data, exc.node_message)}; nothing was signed or sent "
                    "for it (the chain changed since the preflight)", where=f"step {step_id}") from None
            return with_margin(plan_estimate), "plan"

    def _prepare(self, step_id: str, call: Call, gas_estimate: int) -> dict[str, Any]:
        nonce = self._take_nonce(step_id)
        base_tx = {"from": self._sender(), "to": call.to, "value": call.value, "data": call.data}
        gas, source = self._gas_limit(step_id, base_tx, gas_estimate)
        max_fee, tip = self._fees()
        return {"type": 2, "chainId": self.node.chain_id, "nonce": nonce, "to": to_checksum_address(call.to), "value": call.value,
                "data": call.data, "gas": gas, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip, "_source": source}

    def sign(self, step_id: str, call: Call, *, gas_estimate: int) -> Signed:
        tx = self._prepare(step_id, call, gas_estimate)
        source = tx.pop("_source")
        assert self._signer is not None
        tx_hash, raw = self._signer.sign_transaction(tx)
        self._nonces[tx_hash] = tx["nonce"]
        self._raw[tx_hash] = raw
        self._next_nonce = tx["nonce"] + 1
        self.gas_limits[tx_hash] = (tx["gas"], source)
        if self._op_stack:
            fee = self._oracle_l1_fee(raw)
            if fee is not None:
                self.l1_fees[tx_hash] = fee
        return Signed(tx_hash=tx_hash, raw_tx=raw, nonce=tx["nonce"])

    def journaled(self, signed: Signed) -> None:
        nonce = signed.nonce if signed.nonce is not None else (self._raw_nonce(signed.raw_tx) if signed.raw_tx else None)
        if nonce is not None:
            self._nonces[signed.tx_hash] = nonce
        if signed.raw_tx:
            self._raw[signed.tx_hash] = signed.raw_tx

    def _oracle_l1_fee(self, raw_tx: str) -> int | None:
        try:
            out = self.node.call(GAS_PRICE_ORACLE, _GET_L1_FEE + abi_encode(["bytes"], [bytes.fromhex(raw_tx[2:])]))
        except NodeError:
            return None
        return int.from_bytes(out[:32], "big") if len(out) >= 32 else None

    def _known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction (pooled or mined). Transport trouble propagates: an
        unreachable node does not mean an unknown transaction."""
        try:
            return self.node.request("eth_getTransactionByHash", [tx_hash]) is not None
        except NodeError:
            return False

    def _latest_nonce(self) -> int:
        return int(self.node.request("eth_getTransactionCount", [self._sender(), "latest"]), 16)

    def find_nonce_user(self, nonce: int, *, pending: bool = False) -> str | None:
        """The hash of the wallet's transaction with `nonce` in the pending block or the last
        CONFLICT_SEARCH_BLOCKS blocks, None when not found there."""
        sender = self._sender().lower()
        tags: list[str] = ["pending"] if pending else []
        head = int(self.node.request("eth_blockNumber"), 16)
        tags += [hex(n) for n in range(head, max(-1, head - CONFLICT_SEARCH_BLOCKS), -1)]
        for tag in tags:
            try:
                block = self.node.request("eth_getBlockByNumber", [tag, True])
            except NodeError:
                continue
            for tx in (block or {}).get("transactions") or []:
                if isinstance(tx, dict) and str(tx.get("from", "")).lower() == sender and int(tx.get("nonce", "0x0"), 16) == nonce:
                    return str(tx.get("hash"))
        return None

    def _dropped(self, tx_hash: str) -> TxDropped | None:
        """TxDropped when the wallet's mined nonce has passed this transaction's nonce (it can never be mined)."""
        nonce = self._nonces.get(tx_hash)
        if nonce is None or self._latest_nonce() <= nonce:
            return None
        rival = self.find_nonce_user(nonce)
        if rival is not None and rival.lower() == tx_hash.lower():
            return None  # mined after all (the receipt read raced the block)
        return TxDropped(tx_hash, nonce, rival, where="rpc")

    @staticmethod
    def _raw_nonce(raw_tx: str) -> int | None:
        try:
            from eth_account.typed_transactions import TypedTransaction
            from hexbytes import HexBytes

            return int(TypedTransaction.from_bytes(HexBytes(raw_tx)).as_dict()["nonce"])
        except Exception:
            return None

    def broadcast(self, signed: Signed) -> None:
        self._discard_early_fork()
        if signed.raw_tx is None:
            raise InputError(f"{signed.tx_hash} has no signed bytes to broadcast", where="rpc runner")
        nonce = self._nonces.get(signed.tx_hash, signed.nonce if signed.nonce is not None else self._raw_nonce(signed.raw_tx))
        if nonce is not None:
            self._nonces[signed.tx_hash] = nonce
        self._raw[signed.tx_hash] = signed.raw_tx
        for attempt in range(1, BROADCAST_ATTEMPTS + 1):
            try:
                self._send_raw(signed, nonce)
                break
            except NodeUnavailable:
                # The node may or may not have taken it: ask before sending the same bytes again.
                if self._known(signed.tx_hash):
                    break
                if attempt == BROADCAST_ATTEMPTS:
                    raise
                time.sleep(self.node.backoff * 2 ** (attempt - 1))
        if nonce is not None and nonce >= self._next_nonce:
            self._next_nonce = nonce + 1

    def _send_raw(self, signed: Signed, nonce: int | None) -> None:
        try:
            returned = self.node.request("eth_sendRawTransaction", [signed.raw_tx])
        except NodeError as exc:
            if self._known(signed.tx_hash):  # "already known"/"nonce too low" for our own hash are fine
                return
            text = exc.node_message.lower()
            if "underpriced" in text or "already known" in text or "already imported" in text:
                raise NonceHeld(
                    f"a pending transaction that is not this apply's holds nonce {nonce} of {self._sender()} ({exc.node_message}), so "
                    f"{signed.tx_hash} was not accepted; the step stays 'sent': rerun once that transaction is mined or dropped",
                    where="rpc broadcast") from None
            if "nonce" in text:
                dropped = self._dropped(signed.tx_hash)
                if dropped is not None:
                    raise dropped from None
                raise NonceHeld(f"the node refused {signed.tx_hash} with nonce {nonce}: {exc.node_message}; the step stays 'sent': rerun "
                                "to look it up again", where="rpc broadcast") from None
            raise MammonError(f"the node rejected {signed.tx_hash}: {exc.node_message}", where="rpc broadcast") from None
        if isinstance(returned, str) and returned.lower() != signed.tx_hash.lower():
            raise MammonError(f"the node returned hash {returned} for transaction {signed.tx_hash}", where="rpc broadcast")

    # --------------------------------------------------------------- outcomes

    def wait(self, tx_hash: str) -> Outcome:
        deadline = time.monotonic() + self.receipt_timeout
        delay = 0.01
        polls = 0
        while True:
            killpoint("receipt_wait")
            receipt = self.node.request("eth_getTransactionReceipt", [tx_hash])
            polls += 1
            if receipt and receipt.get("blockNumber"):
                block = int(receipt["blockNumber"], 16)
                head = int(self.node.request("eth_blockNumber"), 16)
                if head - block + 1 >= self.confirmations:
                    again = self.node.request("eth_getTransactionReceipt", [tx_hash])
                    if again and again.get("blockHash") == receipt.get("blockHash"):
                        return self._outcome(again)
            elif polls % 5 == 0 and not self._known(tx_hash):
                self._gone(tx_hash)
            if time.monotonic() > deadline:
                raise ReceiptTimeout(
                    f"no receipt with {self.confirmations} confirmation(s) for {tx_hash} after {self.receipt_timeout:.0f} s; "
                    "the step stays 'sent' in the run record: rerun apply to look it up again (it is never sent twice)",
                    where="rpc wait")
            time.sleep(delay)
            delay = min(delay * 1.5, self.poll_max)

    def _gone(self, tx_hash: str) -> None:
        """No receipt and the node no longer knows the transaction: dropped for good (its nonce was
        used), or evicted from the pool (rebroadcast the same bytes)."""
        dropped = self._dropped(tx_hash)
        if dropped is not None:
            raise dropped
        raw = self._raw.get(tx_hash)
        if raw is not None:
            self.broadcast(Signed(tx_hash=tx_hash, raw_tx=raw, nonce=self._nonces.get(tx_hash)))

    def lookup(self, tx_hash: str) -> Outcome | None:
        self._discard_early_fork()
        receipt = self.node.request("eth_getTransactionReceipt", [tx_hash])
        if receipt and receipt.get("blockNumber"):
            return self.wait(tx_hash)
        if self._known(tx_hash):  # in the node's pool: it will be mined, wait for it
            return self.wait(tx_hash)
        dropped = self._dropped(tx_hash)
        if dropped is not None:
            raise dropped
        return None

    def _outcome(self, receipt: dict[str, Any]) -> Outcome:
        tx_hash = receipt["transactionHash"]
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        ok = int(receipt.get("status", "0x1"), 16) == 1
        price = int(receipt.get("effectiveGasPrice") or "0x0", 16)
        l1 = receipt.get("l1Fee")
        if l1 is not None:
            self.l1_fees[tx_hash] = int(l1, 16)
        l1_fee = self.l1_fees.get(tx_hash)
        self.costs[tx_hash] = TxCost(gas_used=gas_used, effective_gas_price=price, l2_fee_wei=gas_used * price,
                                     l1_fee_wei=l1_fee, l1_fee_source=None if l1_fee is None else ("receipt" if l1 is not None else "oracle"))
        return_data, reason = self._replay(tx_hash, block, ok)
        if not ok:
            reason = self._out_of_gas(tx_hash, gas_used) or reason
        return Outcome(status="ok" if ok else "reverted", tx_hash=tx_hash, simulated=self.simulated, gas_used=gas_used,
                       return_data=return_data, revert_reason=reason, block=block, fee_wei=gas_used * price, l1_fee_wei=l1_fee)

    def _out_of_gas(self, tx_hash: str, gas_used: int) -> str | None:
        """A failed receipt that used (nearly) its whole gas limit, and whose call succeeds at the parent block when
        given more gas, ran out of gas: not a revert of the contract's rules.

        "Nearly": when a call made by the contract runs out, each calling frame kept 1/64 of its gas back
        (EIP-150) and reverts with it, so gasUsed can be a few percent below the limit (Aave's Pool: ~98%).
        """
        tx = self.node.request("eth_getTransactionByHash", [tx_hash]) or {}
        limit = int(tx.get("gas") or "0x0", 16)
        if not limit or gas_used * 10 < limit * 9 or not tx.get("blockNumber"):
            return None
        call = {"from": tx.get("from"), "to": tx.get("to"), "data": tx.get("input") or tx.get("data") or "0x", "value": tx.get("value", "0x0")}
        try:  # the node's default call gas (the block's limit or more)
            self.node.request("eth_call", [call, hex(max(int(tx["blockNumber"], 16) - 1, 0))])
        except NodeError:
            return None  # it fails with any gas: a real revert, whose reason the replay decoded
        source = self.gas_limits.get(tx_hash, (limit, "node"))[1]
        basis = "the plan's estimate × 1.2: the node gave no estimate" if source == "plan" else "the node's estimate × 1.2"
        return f"ran out of gas: used {gas_used:,} of its {limit:,} gas limit ({basis})"

    def _replay(self, tx_hash: str, block: int, ok: bool) -> tuple[str, str | None]:
        """(return data, revert reason) by re-running the call at the parent block (receipts carry neither).

        A transaction that succeeded is replayed with the node's default call gas: at the parent block it can cost
        more than it did (an earlier transaction in its block already paid a Moonwell accrual or warmed a slot), and
        its own limit would make the replay run out of gas. A failed one keeps its limit, so an out-of-gas replays as one.
        """
        tx = self.node.request("eth_getTransactionByHash", [tx_hash]) or {}
        call = {"from": tx.get("from"), "to": tx.get("to"), "data": tx.get("input") or tx.get("data") or "0x",
                "value": tx.get("value", "0x0"), "gas": None if ok else tx.get("gas")}
        call = {k: v for k, v in call.items() if v is not None}
        try:
            out = self.node.request("eth_call", [call, hex(max(block - 1, 0))])
        except NodeError as exc:
            if ok:
                return "0x", None
            return "0x", decode_revert(exc.data, exc.node_message)
        if ok:
            return out or "0x", None
        return "0x", "reverted on chain (replaying it at the parent block succeeds: it depended on earlier transactions in its block, or ran out of gas)"

    def close(self) -> None:
        self._discard_early_fork()
        self.node.close()

    def _discard_early_fork(self) -> None:
        """The early fork shows the chain as it was before this runner sent or looked anything up: once
        it does, a later preflight (a resumed run's re-check) must fork the chain as it is then."""
        early, self._early_fork = getattr(self, "_early_fork", None), None
        if early is not None:
            early.close()
