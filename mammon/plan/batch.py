"""The outer call of an atomic plan, built from and decoded back into the steps' calls.

Two containers, both from the bytes alone (no node, no key):

* **batch** (EIP-7702): the wallet calls itself, delegated to Simple7702Account, with
  `executeBatch((address target, uint256 value, bytes data)[])`; any failing call reverts the whole batch.
* **safe** (Safe 1.4.1): `execTransaction` DELEGATECALLs MultiSendCallOnly's `multiSend(bytes)`, whose
  argument packs each call as `uint8 operation (0) | address to | uint256 value | uint256 length | data`;
  a failing call reverts the whole multiSend. The owners sign the EIP-712 hash of the `SafeTx`,
  computed here with the Safe's own type strings (a test checks it against the deployed Safe's
  `getTransactionHash` and eth-account's EIP-712 encoder).
"""

from __future__ import annotations

from dataclasses import dataclass

from mammon.abi import decode_call, function
from mammon.abiencode import encode as abi_encode
from mammon.errors import TamperedPlanError
from mammon.hashing import keccak256 as keccak
from mammon.plan.model import SafeTx
from mammon.types import checksum_address

DELEGATE_ABI = "eip7702/Simple7702Account"
MULTISEND_ABI = "safe/MultiSendCallOnly"
SAFE_ABI = "safe/Safe"
DOMAIN_TYPEHASH = keccak(b"EIP712Domain(uint256 chainId,address verifyingContract)")
SAFE_TX_TYPEHASH = keccak(b"SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
                               b"uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")


@dataclass(frozen=True)
class InnerCall:
    to: str
    value: int
    data: str


def execute_batch_data(calls: list[InnerCall]) -> str:
    return function(DELEGATE_ABI, "executeBatch").encode({"calls": [{"target": c.to, "value": c.value, "data": bytes.fromhex(c.data[2:])} for c in calls]})


def pack_multisend(calls: list[InnerCall]) -> bytes:
    out = b""
    for c in calls:
        data = bytes.fromhex(c.data[2:])
        out += b"\x00" + bytes.fromhex(c.to[2:]) + c.value.to_bytes(32, "big") + len(data).to_bytes(32, "big") + data
    return out


def multisend_data(calls: list[InnerCall]) -> str:
    return function(MULTISEND_ABI, "multiSend").encode({"transactions": pack_multisend(calls)})


def unpack_multisend(packed: bytes) -> list[InnerCall]:
    """The calls in MultiSendCallOnly's packed format; refuses a DELEGATECALL entry (the contract would revert) or a short entry."""
    calls: list[InnerCall] = []
    i = 0
    while i < len(packed):
        if len(packed) - i < 85:
            raise TamperedPlanError(f"multiSend entry at byte {i} is truncated")
        operation, to = packed[i], checksum_address(packed[i + 1:i + 21])
        value = int.from_bytes(packed[i + 21:i + 53], "big")
        length = int.from_bytes(packed[i + 53:i + 85], "big")
        if operation != 0:
            raise TamperedPlanError(f"multiSend entry {len(calls)} is a DELEGATECALL (operation {operation}); MultiSendCallOnly allows calls only")
        if i + 85 + length > len(packed):
            raise TamperedPlanError(f"multiSend entry {len(calls)} claims {length} bytes of data, more than the payload holds")
        calls.append(InnerCall(to, value, "0x" + packed[i + 85:i + 85 + length].hex()))
        i += 85 + length
    return calls


def decode_batch(mode: str, data: str) -> list[InnerCall]:
    """The inner calls of an outer call's data (executeBatch for batch, multiSend for safe), from the bytes."""
    if mode == "batch":
        fn, args = decode_call(data, DELEGATE_ABI)
        if fn.name != "executeBatch":
            raise TamperedPlanError(f"the batch calls {fn.signature}, not executeBatch((address,uint256,bytes)[])")
        return [InnerCall(checksum_address(c["target"]), int(c["value"]), str(c["data"]).lower()) for c in args["calls"]]
    fn, args = decode_call(data, MULTISEND_ABI)
    packed = args["transactions"]
    return unpack_multisend(bytes.fromhex(packed[2:]) if isinstance(packed, str) else bytes(packed))


def safe_tx_hash(chain_id: int, tx: SafeTx) -> str:
    """EIP-712 hash of a Safe 1.4.1 SafeTx (domain: chainId, verifyingContract = the Safe)."""
    domain = keccak(abi_encode(["bytes32", "uint256", "address"], [DOMAIN_TYPEHASH, chain_id, tx.safe]))
    struct = keccak(abi_encode(
        ["bytes32", "address", "uint256", "bytes32", "uint8", "uint256", "uint256", "uint256", "address", "address", "uint256"],
        [SAFE_TX_TYPEHASH, tx.to, tx.value, keccak(bytes.fromhex(tx.data[2:])), tx.operation, tx.safe_tx_gas, tx.base_gas,
         tx.gas_price, tx.gas_token, tx.refund_receiver, tx.nonce]))
    return "0x" + keccak(b"\x19\x01" + domain + struct).hex()


def exec_transaction_data(tx: SafeTx, signatures: bytes) -> str:
    """`execTransaction` with the owners' signatures (sorted by owner address, as the Safe requires)."""
    return function(SAFE_ABI, "execTransaction").encode({
        "to": tx.to, "value": tx.value, "data": bytes.fromhex(tx.data[2:]), "operation": tx.operation, "safeTxGas": tx.safe_tx_gas,
        "baseGas": tx.base_gas, "gasPrice": tx.gas_price, "gasToken": tx.gas_token, "refundReceiver": tx.refund_receiver,
        "signatures": signatures})
