"""What the rpc and fork runners share: a runner whose chain is a JSON-RPC node.

Both runners are this class plus how a transaction gets in: `mammon.run.rpc` signs with the key and
broadcasts the bytes; `mammon.run.fork` sends as the impersonated wallet on an anvil fork. Neither
imports the other for what is here (the rpc runner imports the fork runner for its preflight only).

* **Reads**: `eth_call` (balanceOf, allowance, rate preconditions) at the latest block.
* **Nonce**: explicit, from the node's `pending` count; the run refuses when that count moved since
  the runner was created other than by this run's own transactions (someone else is using the
  wallet), naming the rival transaction when it is found.
* **Fees**: EIP-1559 from `eth_feeHistory`: maxPriorityFeePerGas = median of the last 10 blocks'
  50th-percentile tips (else `eth_maxPriorityFeePerGas`), maxFeePerGas = 2 × next base fee + tip.
* **Gas limit**: node estimate × GAS_LIMIT_MARGIN (1.2: headroom for state that moves between
  estimate and inclusion, e.g. interest accrual or a pool's tick); if the node cannot estimate (an
  RPC error other than a revert), the plan's estimate × the same margin. A step the node says would
  revert is refused before signing (`WouldRevertError`), never sent to fail.
* **Wait**: the receipt (polled after 5 ms, then at doubling intervals up to 0.1 s), then
  `confirmations` blocks (the receipt's block counts as the first; the receipt is re-read
  afterwards and a changed block hash, i.e. a reorg, restarts the wait). While there is no receipt,
  a transaction the node no longer knows (asked once a second) is rebroadcast while its nonce is
  free; once the nonce is used, the transaction that used it decides (`_settle`): this one (mined,
  the node lagged), a replacement with the very same call (a wallet's "speed up": adopted, its
  receipt is the step's outcome), or a different call (`TxDropped`, at once, not after the receipt
  timeout). A used nonce whose transaction the node cannot show is an unknown outcome
  (`NonceUserUnknown`: the step stays `sent`), never a reason to sign again. A runner that signs
  replaces a transaction pooled for REPRICE_AFTER seconds whose fee cap the base fee has passed
  (`_reprice`: same call, same nonce, current fees).
  Return data and revert reasons come from replaying the call with `eth_call` at the parent
  block; reasons are decoded (`Error(string)`, `Panic(uint256)`, known custom errors).
* **Lookup** (crash recovery): the outcome if mined, waits if the node has it pending, the same
  settling as the wait when its nonce was used, None if the node has never seen the hash and the
  nonce is free (the engine then rebroadcasts the journaled bytes). The journaled bytes also give
  the call for the replay, so a node without `eth_getTransactionByHash` still yields return data.
* **Cost**: L2 fee = gasUsed × effectiveGasPrice, plus the L1 data fee where the receipt carries
  `l1Fee` (OP-stack chains) or the runner estimated one (`l1_fees`). Kept per hash in `costs`.
"""

from __future__ import annotations

import statistics
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import rlp
from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address

from mammon.errors import InputError, MammonError, PlanError
from mammon.node import Node, NodeError, decode_revert
from mammon.plan.model import Call, Plan
from mammon.run import eip1559
from mammon.run.base import Outcome, Runner, Signed, TxDropped
from mammon.run.killpoints import killpoint
from mammon.run.policy import capped_fees

GAS_LIMIT_MARGIN = (12, 10)  # gas limit = estimate * 12 // 10
FEE_HISTORY_BLOCKS = 10
DEFAULT_RECEIPT_TIMEOUT = 300.0
# Receipt polling: again after 5 ms (a node mining on demand has it within milliseconds), doubling up to
# 0.1 s, the interval web3.py's wait_for_transaction_receipt keeps: a receipt is seen within 0.1 s of its
# block. While there is none, whether the node still knows the transaction is asked once a second.
POLL_FIRST = 0.005
POLL_MAX = 0.1
KNOWN_CHECK_SECONDS = 1.0
REPRICE_AFTER = 3.0  # seconds a transaction stays pooled before its fee cap is compared with the base fee (`_reprice`)
CONFLICT_SEARCH_BLOCKS = 256  # how far back a dropped transaction's rival is looked for


FEE_HISTORY = [hex(FEE_HISTORY_BLOCKS), "latest", [50]]  # eth_feeHistory params: the blocks' 50th-percentile tips
_BALANCE_OF = "0x70a08231"


def with_margin(gas: int) -> int:
    return gas * GAS_LIMIT_MARGIN[0] // GAS_LIMIT_MARGIN[1]


def _raise_error(answer: Any) -> Any:
    """A batched answer as a separate request would have given it: the result, or its NodeError raised."""
    if isinstance(answer, NodeError):
        raise answer
    return answer


def _succeeded(receipt: dict[str, Any]) -> bool:
    return int(receipt.get("status", "0x1"), 16) == 1


def _uint(out: bytes) -> int:
    return int.from_bytes(out[:32], "big") if out else 0


# ----------------------------------------------------------------------------- errors


class WouldRevertError(PlanError):
    """The node says the step would revert now; it was not signed or sent."""


class NonceMovedError(MammonError):
    """The wallet's nonce changed under the run: another sender is using the wallet."""


class ReceiptTimeout(MammonError):
    """No receipt in time; the step stays `sent` in the record and a rerun looks it up again."""


class NonceUserUnknown(MammonError):
    """The wallet's nonce of a journaled transaction was used, but the node shows no transaction with it (a backend
    that lags, a block it answers null): the outcome is unknown, so the step stays `sent` and a rerun looks again.
    Signing again on "not found" could execute the step twice."""

    def __init__(self, tx_hash: str, nonce: int, sender: str, *, where: str | None = None) -> None:
        super().__init__(
            f"nonce {nonce} of {sender} was used, but the node shows neither {tx_hash} nor another transaction with that nonce "
            "(a node that lags behind, or does not serve the block that holds it); the outcome is unknown, so nothing was signed "
            "again: the step stays 'sent': rerun apply to look it up again (it is never sent twice)", where=where)


def decoded_call(raw_tx: str) -> dict[str, Any] | None:
    """to, data, value, gas (0x-hex) and fees (maxFeePerGas, maxPriorityFeePerGas) of signed type-2 bytes as journaled;
    None for anything else. Why: a rerun compares a replacement with the step's own call, replays it and re-signs it
    for a refused fee without asking the node for the transaction."""
    try:
        raw = bytes.fromhex(raw_tx.removeprefix("0x"))
        items = rlp.decode(raw[1:]) if raw[:1] == b"\x02" else None
    except Exception:  # not RLP: no call to compare with
        return None
    if not isinstance(items, list) or len(items) < 8 or not all(isinstance(i, bytes) for i in items[:8]) or len(items[5]) != 20:
        return None
    return {"to": to_checksum_address(items[5]), "data": "0x" + items[7].hex(), "value": hex(int.from_bytes(items[6], "big")),
            "gas": hex(int.from_bytes(items[4], "big")), "fees": (int.from_bytes(items[3], "big"), int.from_bytes(items[2], "big"))}


# ----------------------------------------------------------------------------- the shared runner


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


def hex_tx(tx: dict[str, Any]) -> dict[str, Any]:
    return {k: hex(v) if isinstance(v, int) else v for k, v in tx.items()}

class NodeRunner(Runner):
    """A runner on a JSON-RPC node: reads, nonces, fees, gas limits, receipts and outcomes. Subclasses say
    who sends (`account`), how a transaction is signed and broadcast, and what copy of the chain the
    preflight runs on (`_fork_of_node`)."""

    def __init__(self, plan: Plan, node: Node, *, confirmations: int = 1, receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT,
                 poll_max: float = POLL_MAX) -> None:
        self.plan = plan
        self.node = node
        self.confirmations = max(1, int(confirmations))
        self.receipt_timeout = receipt_timeout
        self.poll_max = poll_max
        self.costs: dict[str, TxCost] = {}
        self.l1_fees: dict[str, int] = {}  # tx hash -> L1 data fee in wei (OP-stack chains only)
        self.gas_limits: dict[str, tuple[int, str]] = {}  # tx hash -> (gas limit, "node" | "plan")
        self._nonces: dict[str, int] = {}
        self._raw: dict[str, str] = {}
        self._calls: dict[str, dict[str, Any]] = {}  # tx hash -> the call this runner sent (its replay needs no lookup)
        self._adopted: dict[str, str] = {}  # tx hash -> the same-call replacement mined with its nonce (a wallet's "speed up")
        self._next_nonce = self._pending_nonce()

    def _fork_of_node(self) -> AbstractContextManager[Runner]:
        """A fork runner on a throw-away copy of this runner's chain, for the preflight."""
        raise NotImplementedError

    # --------------------------------------------------------------- reads

    def chain_id(self) -> int:
        return self.node.chain_id

    def _sender(self) -> str:
        return self.account()

    def call(self, to: str, data: str) -> bytes:
        return self.node.call(to, data)

    def balance_of(self, token: str, owner: str) -> int:
        return _uint(self.node.call(token, _BALANCE_OF + abi_encode(["address"], [owner]).hex()))

    def balances(self, pairs: list[tuple[str, str]]) -> list[int]:
        """balanceOf for each (token, owner), in one round trip."""
        answers = self.node.batch([("eth_call", [{"to": token, "data": _BALANCE_OF + abi_encode(["address"], [owner]).hex()}, "latest"])
                                   for token, owner in pairs])
        return [_uint(self.node.hex_bytes("eth_call", _raise_error(a))) for a in answers]

    def allowance(self, token: str, owner: str, spender: str) -> int:
        out = self.node.call(token, "0xdd62ed3e" + abi_encode(["address", "address"], [owner, spender]).hex())
        return int.from_bytes(out[:32], "big") if out else 0

    # --------------------------------------------------------------- preflight

    def scratch(self) -> AbstractContextManager[Runner] | None:
        """A fork runner on a copy of the chain (`_fork_of_node`; the wallet impersonated): the engine dry-runs
        the whole plan there before the first transaction. None where anvil is not installed."""
        from mammon.devnet.anvil import find_anvil
        from mammon.errors import DevnetError

        try:
            find_anvil()
        except DevnetError:
            return None
        return self._fork_of_node()

    # --------------------------------------------------------------- sending

    def _pending_nonce(self) -> int:
        return int(self.node.request("eth_getTransactionCount", [self._sender(), "pending"]), 16)

    def _take_nonce(self, step_id: str, pending: int | None = None) -> int:
        """The nonce to sign with: the node's pending count (`pending` when already read), refused when it moved."""
        if pending is None:
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

    def _fees(self, history: Any = None) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas) in wei. `history`: the eth_feeHistory answer (or its NodeError) when already read."""
        try:
            hist = self.node.request("eth_feeHistory", FEE_HISTORY) if history is None else _raise_error(history)
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
        return capped_fees(self.plan, self.max_fee_multiple, 2 * next_base + tip, tip, next_base)  # the policy's fee ceiling

    def _gas_limit(self, step_id: str, estimate: Any, plan_estimate: int) -> tuple[int, str]:
        """The gas limit from the node's eth_estimateGas answer (a NodeError when it gave none)."""
        try:
            return with_margin(int(_raise_error(estimate), 16)), "node"
        except NodeError as exc:
            if exc.data is not None or "revert" in exc.node_message.lower():
                raise WouldRevertError(
                    f"the node says this call would revert now: {decode_revert(exc.data, exc.node_message)}; nothing was signed or sent "
                    "for it (the chain changed since the preflight)", where=f"step {step_id}") from None
            return with_margin(plan_estimate), "plan"

    def _prepare(self, step_id: str, call: Call, gas_estimate: int) -> dict[str, Any]:
        """Nonce, gas limit and fees, read in one round trip and judged in that order (nonce first)."""
        sender = self._sender()
        base_tx = {"from": sender, "to": call.to, "value": call.value, "data": call.data}
        pending, estimate, history = self.node.batch([("eth_getTransactionCount", [sender, "pending"]), ("eth_estimateGas", [hex_tx(base_tx)]),
                                                      ("eth_feeHistory", FEE_HISTORY)])
        nonce = self._take_nonce(step_id, int(_raise_error(pending), 16))
        gas, source = self._gas_limit(step_id, estimate, gas_estimate)
        max_fee, tip = self._fees(history)
        return {"type": 2, "chainId": self.node.chain_id, "nonce": nonce, "to": to_checksum_address(call.to), "value": call.value,
                "data": call.data, "gas": gas, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip, "_source": source}

    def _sent(self, tx_hash: str, tx: dict[str, Any]) -> None:
        """Remember a transaction this runner signed or sent: its nonce, gas limit source and call (for the replay)."""
        self._nonces[tx_hash] = tx["nonce"]
        self._next_nonce = tx["nonce"] + 1
        self._calls[tx_hash] = {"from": self._sender(), "to": tx["to"], "data": tx["data"], "value": hex(tx["value"]), "gas": hex(tx["gas"])}

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
        tags: list[str] = ["pending"] if pending else []
        head = int(self.node.request("eth_blockNumber"), 16)
        tags += [hex(n) for n in range(head, max(-1, head - CONFLICT_SEARCH_BLOCKS), -1)]
        for tag in tags:
            tx = self._user_in_block(tag, nonce)
            if tx is not None:
                return str(tx.get("hash"))
        return None

    def _user_in_block(self, tag: str, nonce: int) -> dict[str, Any] | None:
        """The wallet's transaction with `nonce` in block `tag`; None when absent or the node gave no block."""
        sender = self._sender().lower()
        try:
            block = self.node.request("eth_getBlockByNumber", [tag, True])
        except NodeError:
            return None
        txs = block.get("transactions") if isinstance(block, dict) else None
        for tx in txs or []:
            if isinstance(tx, dict) and str(tx.get("from", "")).lower() == sender and int(tx.get("nonce", "0x0"), 16) == nonce:
                return tx
        return None

    def _mined_nonce_user(self, nonce: int) -> dict[str, Any] | None:
        """The mined transaction of the wallet with `nonce`: read from the block where the wallet's count passed it
        (eth_getTransactionCount at a block, galloping then bisecting: no window to fall out of), else looked for in
        the recent blocks (a head that does not show the nonce used yet). None when the node shows none."""
        block = self._block_using_nonce(nonce)
        if block is not None:
            return self._user_in_block(hex(block), nonce)
        head = int(self.node.request("eth_blockNumber"), 16)
        for n in range(head, max(-1, head - CONFLICT_SEARCH_BLOCKS), -1):
            tx = self._user_in_block(hex(n), nonce)
            if tx is not None:
                return tx
        return None

    def _block_using_nonce(self, nonce: int) -> int | None:
        """The block whose transactions took the wallet's count past `nonce`: galloping back from the head, then
        bisecting (recent blocks first: a node without old state still answers for them). A block the node has no
        state for counts as "not yet": the answer is only a block to look in, and only a transaction found there
        settles anything. None when the head does not show the nonce used."""
        sender = self._sender()

        def used(block: int) -> bool:  # the count after `block`; before the genesis block it is 0
            if block < 0:
                return False
            try:
                return int(self.node.request("eth_getTransactionCount", [sender, hex(block)]), 16) > nonce
            except (NodeError, ValueError, TypeError):
                return False

        try:
            hi = int(self.node.request("eth_blockNumber"), 16)
            if not used(hi):
                return None
            lo, step = hi - 1, 1
            while used(lo):
                hi, step = lo, step * 2
                lo = max(-1, lo - step)
            while hi - lo > 1:  # used(hi), not used(lo)
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if used(mid) else (mid, hi)
        except (NodeError, ValueError, TypeError):
            return None
        return hi

    def _settle(self, tx_hash: str) -> str | None:
        """What became of `tx_hash` by its nonce: None while the nonce is free; the hash to take the outcome of once it
        was used (this one, mined; or a replacement with the very same call, adopted). TxDropped only when a
        transaction with a different call is found at that nonce; NonceUserUnknown when none is found (unknown)."""
        nonce = self._nonces.get(tx_hash)
        if nonce is None or self._latest_nonce() <= nonce:
            return None
        rival = self._mined_nonce_user(nonce)
        if rival is None:
            raise NonceUserUnknown(tx_hash, nonce, self._sender(), where="rpc")
        rival_hash = str(rival.get("hash"))
        if rival_hash.lower() == tx_hash.lower():
            return tx_hash  # mined after all (the receipt read raced the block, or the node lagged)
        if self._same_call(tx_hash, rival):
            self._adopt(tx_hash, rival_hash, nonce)
            return rival_hash
        raise TxDropped(tx_hash, nonce, rival_hash, where="rpc")

    def _same_call(self, tx_hash: str, rival: dict[str, Any]) -> bool:
        """Whether `rival` (same sender and nonce) makes the call `tx_hash` makes: to, data and value (fees and gas aside)."""
        own = self._calls.get(tx_hash)
        if own is None:
            return False
        try:
            return (str(rival.get("to") or "").lower() == str(own["to"]).lower()
                    and str(rival.get("input") or rival.get("data") or "0x").lower() == str(own["data"]).lower()
                    and int(str(rival.get("value") or "0x0"), 16) == int(str(own["value"]), 16))
        except ValueError:
            return False

    def _reprice(self, tx_hash: str) -> str | None:
        """A runner that signs replaces a pooled transaction the base fee has priced out (the new hash); here: None."""
        return None

    def pending_replacement(self, tx_hash: str, nonce: int | None) -> str | None:
        """A pending transaction at `nonce` with `tx_hash`'s very call (a wallet's "speed up" not yet mined), adopted
        (`wait` follows it); None when the pending block shows none."""
        if nonce is None:
            return None
        rival = self._user_in_block("pending", nonce)
        held = str((rival or {}).get("hash", "")).lower()
        if rival is None or held == tx_hash.lower() or held in self._adopted or not self._same_call(tx_hash, rival):
            return None  # none, this one, or one this runner replaced (a replacement must not follow what it replaces)
        self._adopt(tx_hash, str(rival.get("hash")), nonce)
        return str(rival.get("hash"))

    def _adopt(self, tx_hash: str, rival: str, nonce: int) -> None:
        """Follow `rival` for `tx_hash`'s outcome: its nonce and call are the step's (the replay needs no lookup)."""
        self._adopted[tx_hash] = rival
        self._nonces[rival] = nonce
        call = self._calls[tx_hash]
        self._calls[rival] = {k: v for k, v in call.items() if k != "gas"}

    @staticmethod
    def _raw_nonce(raw_tx: str) -> int | None:
        return eip1559.nonce_of(raw_tx)

    # --------------------------------------------------------------- outcomes

    def wait(self, tx_hash: str) -> Outcome:
        """The outcome of `tx_hash`, or of the same-call replacement adopted for it (its `tx_hash` says which)."""
        tx_hash = self._adopted.get(tx_hash, tx_hash)
        deadline = time.monotonic() + self.receipt_timeout
        next_check = time.monotonic() + KNOWN_CHECK_SECONDS
        reprice_at = time.monotonic() + REPRICE_AFTER
        delay = POLL_FIRST
        while True:
            killpoint("receipt_wait")
            receipt = self.node.request("eth_getTransactionReceipt", [tx_hash])
            if receipt and receipt.get("blockNumber"):
                block = int(receipt["blockNumber"], 16)
                # the head, the receipt again (a changed block hash is a reorg) and, when one confirmation
                # is all it takes and the call is known, its replay for the return data: one round trip
                known = self._replay_call(tx_hash, _succeeded(receipt)) if self.confirmations == 1 else None
                reads = [("eth_blockNumber", []), ("eth_getTransactionReceipt", [tx_hash])]
                answers = self.node.batch(reads + ([("eth_call", [known, hex(max(block - 1, 0))])] if known else []))
                head, again = int(_raise_error(answers[0]), 16), _raise_error(answers[1])
                if (head - block + 1 >= self.confirmations and again and again.get("blockHash") == receipt.get("blockHash")
                        and _succeeded(again) == _succeeded(receipt)):
                    return self._outcome(again, answers[2] if known else None)
            elif time.monotonic() >= next_check:
                if self._known(tx_hash):
                    used = self._reprice(tx_hash) if time.monotonic() >= reprice_at else None
                else:
                    used = self._gone(tx_hash)
                used = self._adopted.get(tx_hash, used)  # the rebroadcast may have found (or signed) a replacement
                if used is not None and used != tx_hash:
                    return self.wait(used)  # a same-call replacement holds its nonce
                next_check = time.monotonic() + KNOWN_CHECK_SECONDS
            if time.monotonic() > deadline:
                raise ReceiptTimeout(
                    f"no receipt with {self.confirmations} confirmation(s) for {tx_hash} after {self.receipt_timeout:.0f} s; "
                    "the step stays 'sent' in the run record: rerun apply to look it up again (it is never sent twice)",
                    where="rpc wait")
            time.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def _gone(self, tx_hash: str) -> str | None:
        """No receipt and the node does not show the transaction: settled by its nonce (`_settle`: the hash to
        follow), or, while the nonce is free, evicted from the pool (the same bytes rebroadcast; None)."""
        used = self._settle(tx_hash)
        if used is None:
            raw = self._raw.get(tx_hash)
            if raw is not None:
                self.broadcast(Signed(tx_hash=tx_hash, raw_tx=raw, nonce=self._nonces.get(tx_hash)))
        return used

    def lookup(self, tx_hash: str) -> Outcome | None:
        receipt = self.node.request("eth_getTransactionReceipt", [tx_hash])
        if receipt and receipt.get("blockNumber"):
            return self.wait(tx_hash)
        if self._known(tx_hash):  # in the node's pool: it will be mined, wait for it
            return self.wait(tx_hash)
        used = self._settle(tx_hash)
        return None if used is None else self.wait(used)

    def _outcome(self, receipt: dict[str, Any], replayed: Any = None) -> Outcome:
        """The outcome of a mined receipt; `replayed`: the replay's answer (or NodeError) when already read."""
        tx_hash = receipt["transactionHash"]
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        ok = _succeeded(receipt)
        price = int(receipt.get("effectiveGasPrice") or "0x0", 16)
        l1 = receipt.get("l1Fee")
        if l1 is not None:
            self.l1_fees[tx_hash] = int(l1, 16)
        l1_fee = self.l1_fees.get(tx_hash)
        self.costs[tx_hash] = TxCost(gas_used=gas_used, effective_gas_price=price, l2_fee_wei=gas_used * price,
                                     l1_fee_wei=l1_fee, l1_fee_source=None if l1_fee is None else ("receipt" if l1 is not None else "oracle"))
        return_data, reason = self._replay(tx_hash, block, ok, replayed)
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
        tx = self._transaction(tx_hash)
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

    def _transaction(self, tx_hash: str) -> dict[str, Any]:
        """The node's eth_getTransactionByHash, {} when it gives none (a gateway without the method): the replay
        and the out-of-gas check then lack only detail, the outcome stands."""
        try:
            tx = self.node.request("eth_getTransactionByHash", [tx_hash])
        except NodeError:
            return {}
        return tx if isinstance(tx, dict) else {}

    def _replay_call(self, tx_hash: str, ok: bool) -> dict[str, Any] | None:
        """The call to replay, from what this runner sent (None when it did not send it). A transaction that
        succeeded is replayed with the node's default call gas: at the parent block it can cost more than it
        did (an earlier transaction in its block already paid a Moonwell accrual or warmed a slot), and its own
        limit would make the replay run out of gas. A failed one keeps its limit, so an out-of-gas replays as one."""
        sent = self._calls.get(tx_hash)
        if sent is None:
            return None
        return {k: v for k, v in sent.items() if not (ok and k == "gas")}

    def _replay(self, tx_hash: str, block: int, ok: bool, replayed: Any = None) -> tuple[str, str | None]:
        """(return data, revert reason) by re-running the call at the parent block (receipts carry neither).
        The call is the one this runner sent (else read back from the node, see `_replay_call` for its gas);
        `replayed`: its answer when already read."""
        if replayed is None:
            call = self._replay_call(tx_hash, ok)
            if call is None:
                tx = self._transaction(tx_hash)
                call = {"from": tx.get("from"), "to": tx.get("to"), "data": tx.get("input") or tx.get("data") or "0x",
                        "value": tx.get("value", "0x0"), "gas": None if ok else tx.get("gas")}
                call = {k: v for k, v in call.items() if v is not None}
            try:
                replayed = self.node.request("eth_call", [call, hex(max(block - 1, 0))])
            except NodeError as exc:
                replayed = exc
        try:
            out = _raise_error(replayed)
        except NodeError as exc:
            if ok:
                return "0x", None
            return "0x", decode_revert(exc.data, exc.node_message)
        if ok:
            return out or "0x", None
        return "0x", "reverted on chain (replaying it at the parent block succeeds: it depended on earlier transactions in its block, or ran out of gas)"

    def close(self) -> None:
        self.node.close()


__all__ = ["DEFAULT_RECEIPT_TIMEOUT", "GAS_LIMIT_MARGIN", "NodeRunner", "NonceMovedError", "NonceUserUnknown", "ReceiptTimeout", "TxCost",
           "WouldRevertError", "decoded_call", "with_margin"]
