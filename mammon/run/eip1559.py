"""EIP-1559 (type 2) transactions signed with eth-keys and rlp alone, without importing eth-account.

Why: eth-account imports eth-keyfile, which builds py_ecc's BLS12-381 pairing tables at import time
(about a third of a second, plus its share of interpreter shutdown). The rpc runner signs nothing but
plain type-2 transactions, so it encodes them here; every other kind (access lists, EIP-7702
authorizations, messages, keystores, seed phrases) still goes through eth-account (`mammon.run.keys`).

The bytes are the ones eth-account produces: the same RLP layout (EIP-2718/1559), and the same
deterministic (RFC 6979) signature from the same eth-keys backend; `tests/rpc/test_eip1559.py`
compares both.

    signing hash = keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList]))
    raw          = 0x02 || rlp([... the same nine fields ..., yParity, r, s]);  tx hash = keccak256(raw)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rlp
from eth_keys.datatypes import PrivateKey
from eth_utils import is_checksum_address, keccak

TYPE = 2
FIELDS = ("chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to", "value", "data")
INT_FIELDS = ("chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "value")
_ACCEPTED = frozenset({"type", *FIELDS, "accessList"})


def is_plain(tx: Mapping[str, Any]) -> bool:
    """Whether `tx` is a type-2 transaction this module encodes: the eight fields (all present: integers,
    a checksummed `to`, hex `data`), no access list entries, nothing else. Anything else, including what
    eth-account would refuse, is left to eth-account."""
    if tx.get("type") not in (2, "0x2", "0x02") or not set(tx) <= _ACCEPTED or not all(f in tx for f in FIELDS):
        return False
    if tx.get("accessList") not in (None, [], ()):
        return False
    if not all(isinstance(tx[f], int) and not isinstance(tx[f], bool) and tx[f] >= 0 for f in INT_FIELDS):
        return False
    to, data = tx["to"], tx["data"]
    return is_checksum_address(to) and (isinstance(data, str) and len(data) % 2 == 0 and _is_hex(data))


def _is_hex(text: str) -> bool:
    if text[:2] not in ("0x", "0X"):
        return False
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        return False
    return True


def _fields(tx: Mapping[str, Any]) -> list[Any]:
    return [tx["chainId"], tx["nonce"], tx["maxPriorityFeePerGas"], tx["maxFeePerGas"], tx["gas"],
            bytes.fromhex(tx["to"][2:]), tx["value"], bytes.fromhex(tx["data"][2:]), []]


def sign(key: PrivateKey, tx: Mapping[str, Any]) -> tuple[str, str]:
    """(tx hash, raw signed tx), both 0x-hex, of a transaction `is_plain` accepts."""
    if not is_plain(tx):
        raise ValueError("not a plain EIP-1559 transaction")
    fields = _fields(tx)
    signature = key.sign_msg_hash(keccak(bytes([TYPE]) + rlp.encode(fields)))
    raw = bytes([TYPE]) + rlp.encode([*fields, signature.v, signature.r, signature.s])
    return "0x" + keccak(raw).hex(), "0x" + raw.hex()


def nonce_of(raw_tx: str) -> int | None:
    """The nonce of signed transaction bytes (as journaled): typed (EIP-2718, the nonce follows the chain
    id) or legacy (the nonce comes first); None when the bytes are not a transaction."""
    try:
        raw = bytes.fromhex(raw_tx.removeprefix("0x"))
        typed = bool(raw) and raw[0] < 0x7F
        items = rlp.decode(raw[1:] if typed else raw)
        nonce = items[1 if typed else 0] if isinstance(items, list) and len(items) >= 9 else None
        return int.from_bytes(nonce, "big") if isinstance(nonce, bytes) else None
    except Exception:  # not RLP, or not a transaction's shape
        return None


__all__ = ["is_plain", "nonce_of", "sign"]
