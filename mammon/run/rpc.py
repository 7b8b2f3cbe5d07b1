"""The rpc runner: real signed transactions to a JSON-RPC node (`mammon apply --runner rpc`).

The shared engine decides what runs; this runner only reads state and executes one call at a time:

* **Key**: signed locally (`mammon.run.keys`): an encrypted keystore, MAMMON_PRIVATE_KEY or
  MAMMON_MNEMONIC. The key never leaves the `Signer` (not in messages, records or logs).
* **Preflight**: before the first transaction the whole plan (every step, step-output references
  resolved from what the simulation produced, guards checked) runs on an anvil fork of the node
  (`mammon.fork`) as the wallet (`mammon.run.fork`), so a plan that would revert is refused with
  nothing sent. `mammon apply` spawns that fork as soon as the runner exists, so anvil boots while
  the plan is checked against the node.
  Where anvil is not installed, the node's `eth_simulateV1` runs the steps without references.
* **Sign**: nonce, EIP-1559 fees and gas limit as every runner on a node sets them
  (`mammon.run.node_runner`, which also waits for receipts, reads outcomes and looks transactions up
  after a crash); a step the node says would revert is refused before signing (`WouldRevertError`).
* **Broadcast**: `eth_sendRawTransaction` of the bytes the engine journaled first, never retried
  blindly: after a transport failure the hash is looked up, and only a node that has not seen it
  gets the same bytes again (which cannot make a second transaction: same nonce). Any error for a
  hash the node already knows (in its pool or mined: "nonce too low" on a rebroadcast) counts as
  success, and so do "already known"/"already imported" (the node's answer for bytes it holds, even
  where it does not show pooled transactions by hash); "nonce too low" for a hash the node does not
  show is settled by who used the nonce (`NodeRunner._settle`: this transaction, a same-call
  replacement, `TxDropped` for a different call, or unknown); "replacement transaction underpriced"
  means another pending transaction holds it: followed when it makes the same call (a wallet's
  "speed up", not mined yet), else `NonceHeld`.
* **Fee too low** ("max fee per gas less than block base fee" after a base-fee spike, geth's
  "transaction underpriced"): the node did not take the bytes, so they are not on the chain; while
  the nonce is still free the same call is signed again at the same nonce with the current fees
  (at least 12.5 % above the old ones, a valid replacement) and sent; `wait` then follows the new
  hash and the record names it, the old one in `replaced`. One nonce for both: never two executions
  (a crash in between is settled by the nonce: the new transaction has the step's call). Rejected
  again: `FeeTooLow`, the step stays `sent` and a rerun signs it anew. A transaction the node keeps
  pending (geth) while the next base fee is above its fee cap is replaced the same way once it has
  waited REPRICE_AFTER seconds (`_reprice`; the replacement not taken: the pooled one is waited for).
* **Cost**: on OP-stack chains (Base) the L1 data fee is read from the receipt's `l1Fee`, else
  estimated at signing from the GasPriceOracle predeploy (`getL1Fee(bytes)` with the signed
  transaction). Kept per hash in `runner.costs` beside the L2 fee.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from mammon.errors import FeeCeilingError, InputError, MammonError
from mammon.fork import Fork
from mammon.l1fee import GAS_PRICE_ORACLE  # OP-stack predeploy (Base, Optimism)
from mammon.node import Node, NodeError, NodeUnavailable, decode_revert
from mammon.plan.model import Call, Plan
from mammon.run.base import NonceHeld, Outcome, Runner, Signed
from mammon.run.fork import ForkRunner
from mammon.run.keys import Signer, load_signer
from mammon.run.node_runner import (DEFAULT_RECEIPT_TIMEOUT, GAS_LIMIT_MARGIN, POLL_MAX, NodeRunner, NonceMovedError, ReceiptTimeout,
                                    TxCost, WouldRevertError, decoded_call, with_margin)
from mammon.run.policy import fee_cap

BROADCAST_ATTEMPTS = 3
FEE_BUMP = (9, 8)  # a re-signed transaction pays at least 12.5 % more than the one it replaces (geth needs 10 %)
# The node's answer for a transaction whose fees are below what it takes now (anvil, geth, erigon/nethermind wording).
_FEE_TOO_LOW = ("less than block base fee", "fee cap less than", "feecap too low", "transaction underpriced", "fee too low")
_GET_L1_FEE = function_signature_to_4byte_selector("getL1Fee(bytes)")


class FeeTooLow(MammonError):
    """The node refused a transaction for its fee, also once signed again with the current fees; it is not on the
    chain and its nonce is free: the step stays `sent` and a rerun signs it again at the same nonce."""


def _fee_too_low(text: str) -> bool:
    return "replacement" not in text and any(m in text for m in _FEE_TOO_LOW)


class RpcRunner(NodeRunner):
    """Sends the plan's calls as EIP-1559 transactions signed locally. Options: see `create`."""

    name: ClassVar[str] = "rpc"
    simulated: ClassVar[bool] = False

    def __init__(self, plan: Plan, node: Node, signer: Signer | None, *, confirmations: int = 1,
                 receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT, poll_max: float = POLL_MAX) -> None:
        self._early_fork: Fork | None = None  # first: close() must work on a runner whose construction failed
        self._resigned: set[str] = set()  # hashes signed again for a fee the node refused (never re-signed themselves)
        self._signer = signer
        super().__init__(plan, node, confirmations=confirmations, receipt_timeout=receipt_timeout, poll_max=poll_max)
        self._op_stack = len(bytes.fromhex((self.node.request("eth_getCode", [GAS_PRICE_ORACLE, "latest"]) or "0x")[2:])) > 0

    # --------------------------------------------------------------- construction

    @classmethod
    def create(cls, plan: Plan, *, rpc_url: str | None = None, keystore: str | None = None, fork_url: str | None = None,
               confirmations: int = 1, chain_config: str | None = None, receipt_timeout: float | None = None,
               account_index: int | None = None, derivation_path: str | None = None, **_: Any) -> Runner:
        """rpc_url (else ETH_RPC_URL), keystore (else MAMMON_PRIVATE_KEY, else MAMMON_MNEMONIC at account_index or
        derivation_path); fork_url switches to the fork dry-run."""
        if fork_url:
            return ForkRunner.create(plan, fork_url=fork_url)
        url = rpc_url or os.environ.get("ETH_RPC_URL")
        if not url:
            raise InputError("the rpc runner needs a node: pass --rpc-url URL or set ETH_RPC_URL", where="apply")
        signer = load_signer(keystore, account_index=account_index, derivation_path=derivation_path, wallet=plan.wallet)
        return cls(plan, Node(url), signer, confirmations=confirmations,
                   receipt_timeout=DEFAULT_RECEIPT_TIMEOUT if receipt_timeout is None else receipt_timeout)

    def account(self) -> str:
        assert self._signer is not None
        return self._signer.address

    # --------------------------------------------------------------- preflight

    def start_preflight_fork(self) -> None:
        """Spawn the preflight's fork now (anvil boots while the plan is checked against the node); the
        first preflight uses it, later ones (a resumed run's re-checks) fork the chain as it is then.
        `mammon apply` calls it right after creating the runner; `close()` stops a fork never used."""
        from mammon.devnet.anvil import find_anvil
        from mammon.errors import DevnetError

        if self._early_fork is not None or self.simulated:  # a fork runner dry-runs on its own fork
            return
        try:
            find_anvil()
            self._early_fork = Fork.start(self.node.url, block=int(self.node.request("eth_blockNumber"), 16))
        except DevnetError:
            self._early_fork = None  # no anvil here, or it would not start: the preflight says so, when it runs

    @contextmanager
    def _fork_of_node(self) -> Iterator[Runner]:
        early, self._early_fork = self._early_fork, None
        with early or Fork(self.node.url, block=int(self.node.request("eth_blockNumber"), 16)) as fork:
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

    def sign(self, step_id: str, call: Call, *, gas_estimate: int) -> Signed:
        tx = self._prepare(step_id, call, gas_estimate)
        source = tx.pop("_source")
        return self._signed(tx, source)

    def _signed(self, tx: dict[str, Any], source: str) -> Signed:
        """Sign `tx` and remember it (nonce, call, bytes, gas limit source, the L1 fee estimate on OP-stack chains)."""
        assert self._signer is not None
        tx_hash, raw = self._signer.sign_transaction(tx)
        self._sent(tx_hash, tx)
        self._raw[tx_hash] = raw
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
            call = decoded_call(signed.raw_tx)  # the journaled call: replayed and compared with a replacement, no lookup needed
            if call is not None and signed.tx_hash not in self._calls:
                self._calls[signed.tx_hash] = {"from": self._sender(), **{k: v for k, v in call.items() if k != "fees"}}

    def _oracle_l1_fee(self, raw_tx: str) -> int | None:
        try:
            out = self.node.call(GAS_PRICE_ORACLE, _GET_L1_FEE + abi_encode(["bytes"], [bytes.fromhex(raw_tx[2:])]))
        except NodeError:
            return None
        return int.from_bytes(out[:32], "big") if len(out) >= 32 else None

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
            if "already known" in text or "already imported" in text:
                return  # the node holds these very bytes (a duplicate hash), though it does not show them by hash
            if _fee_too_low(text):
                self._resign(signed, nonce, exc.node_message)
                return
            if "underpriced" in text:
                if self.pending_replacement(signed.tx_hash, nonce) is not None:
                    return  # a pending "speed up" of this very call holds the nonce: `wait` follows it
                raise NonceHeld(
                    f"a pending transaction that is not this apply's holds nonce {nonce} of {self._sender()} ({exc.node_message}), so "
                    f"{signed.tx_hash} was not accepted; the step stays 'sent': rerun once that transaction is mined or dropped",
                    where="rpc broadcast") from None
            if "nonce" in text:
                if self._settle(signed.tx_hash) is not None:
                    return  # mined: this transaction, or a same-call replacement `wait` follows
                raise NonceHeld(f"the node refused {signed.tx_hash} with nonce {nonce}: {exc.node_message}; the step stays 'sent': rerun "
                                "to look it up again", where="rpc broadcast") from None
            raise MammonError(f"the node rejected {signed.tx_hash}: {exc.node_message}", where="rpc broadcast") from None
        if isinstance(returned, str) and returned.lower() != signed.tx_hash.lower():
            raise MammonError(f"the node returned hash {returned} for transaction {signed.tx_hash}", where="rpc broadcast")

    def _resign(self, signed: Signed, nonce: int | None, refusal: str) -> None:
        """`signed` was refused for its fee: the same call at the same nonce with the current fees, sent in its place
        (`wait` follows it). Not for a transaction that is itself such a replacement, nor once the nonce was used."""
        call = self._calls.get(signed.tx_hash)
        old = decoded_call(signed.raw_tx or "") or {}
        too_low = FeeTooLow(f"the node refused {signed.tx_hash} for its fee ({refusal}) and the same call signed again at nonce {nonce} "
                            "with the current fees was refused too; it is not on the chain: the step stays 'sent': rerun apply to sign it "
                            "again with the fees then (it is never sent twice: same nonce)", where="rpc broadcast")
        if call is None or nonce is None or "fees" not in old or signed.tx_hash in self._resigned:
            raise too_low
        if self._settle(signed.tx_hash) is not None:
            return  # the nonce was used meanwhile: by this step's call (`wait` follows it), else TxDropped was raised
        new = self._repriced(signed.tx_hash, nonce, call, old)
        try:
            self.broadcast(new)
        except FeeTooLow:
            raise too_low from None

    def _repriced(self, tx_hash: str, nonce: int, call: dict[str, Any], old: dict[str, Any]) -> Signed:
        """`call` signed at `nonce` with the current fees, at least FEE_BUMP above `old`'s (a valid replacement of it), and
        followed from `tx_hash` from now on (before it is sent: the old one must not be taken for a speed-up of the new one)."""
        max_fee, tip = self._fees()
        old_max, old_tip = old["fees"]
        bump_max, bump_tip = -(-old_max * FEE_BUMP[0] // FEE_BUMP[1]), -(-old_tip * FEE_BUMP[0] // FEE_BUMP[1])
        tx = {"type": 2, "chainId": self.node.chain_id, "nonce": nonce, "to": to_checksum_address(call["to"]), "value": int(call["value"], 16),
              "data": call["data"], "gas": int(old["gas"], 16), "maxFeePerGas": max(max_fee, bump_max), "maxPriorityFeePerGas": max(tip, bump_tip)}
        tx["maxFeePerGas"] = max(tx["maxFeePerGas"], tx["maxPriorityFeePerGas"])
        cap = fee_cap(self.plan, self.max_fee_multiple)
        if cap is not None and tx["maxFeePerGas"] > cap:  # a valid replacement must outbid the old fees: not beyond the policy's ceiling
            raise FeeCeilingError(
                f"replacing {tx_hash} at nonce {nonce} needs {tx['maxFeePerGas'] / 10**9:f} gwei per gas, above the policy's ceiling of "
                f"{cap / 10**9:f} gwei ({self.max_fee_multiple} x the plan's reviewed gas price); nothing was signed: rerun when fees fall, "
                "or raise [policy] max_fee_multiple", where="max_fee_multiple")
        next_nonce = self._next_nonce
        new = self._signed(tx, self.gas_limits.get(tx_hash, (0, "node"))[1])
        self._next_nonce = max(next_nonce, nonce + 1)
        self._resigned.add(new.tx_hash)
        self._adopted[tx_hash] = new.tx_hash
        return new

    def _reprice(self, tx_hash: str) -> str | None:
        """A pooled transaction whose fee cap the next block's base fee has passed (geth keeps it pending, never mined):
        the same call at the same nonce with the current fees replaces it; its hash, None when it is not priced out
        or the replacement was not taken (the old one is waited for, as before)."""
        raw, nonce, call = self._raw.get(tx_hash), self._nonces.get(tx_hash), self._calls.get(tx_hash)
        old = decoded_call(raw) if raw else None
        if old is None or nonce is None or call is None:
            return None
        try:
            next_base = int(self.node.request("eth_feeHistory", ["0x1", "latest", []])["baseFeePerGas"][-1], 16)
        except (NodeError, KeyError, IndexError, TypeError, ValueError):
            return None
        if old["fees"][0] >= next_base:
            return None
        new = self._repriced(tx_hash, nonce, call, old)
        try:
            self.broadcast(new)
        except MammonError:
            del self._adopted[tx_hash]
            self._adopted.pop(new.tx_hash, None)
            return None  # not taken (underpriced as a replacement, refused): the pooled one stays what is waited for
        return new.tx_hash

    # --------------------------------------------------------------- outcomes

    def lookup(self, tx_hash: str) -> Outcome | None:
        self._discard_early_fork()
        return super().lookup(tx_hash)

    def close(self) -> None:
        self._discard_early_fork()
        self.node.close()

    def _discard_early_fork(self) -> None:
        """The early fork shows the chain as it was before this runner sent or looked anything up: once
        it does, a later preflight (a resumed run's re-check) must fork the chain as it is then."""
        early, self._early_fork = getattr(self, "_early_fork", None), None
        if early is not None:
            early.close()


__all__ = ["BROADCAST_ATTEMPTS", "GAS_LIMIT_MARGIN", "FeeTooLow", "GAS_PRICE_ORACLE", "NonceMovedError", "ReceiptTimeout", "RpcRunner", "TxCost",
           "WouldRevertError", "with_margin"]
