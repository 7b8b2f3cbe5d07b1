"""The L1 data fee an OP-stack chain (Base) charges a signed transaction, to compare execution modes.

Since Fjord (on Base since 2024) the fee follows the compressed size of the signed transaction
(docs.base.org, "Fjord: L2 Execution Engine", "L1-Cost fees"):

    l1FeeScaled         = baseFeeScalar * l1BaseFee * 16 + blobBaseFeeScalar * l1BlobBaseFee
    estimatedSizeScaled = max(minTransactionSize * 1e6, intercept + fastlzCoef * fastlzSize)
    l1Fee               = estimatedSizeScaled * l1FeeScaled / 1e12

with intercept -42,585,600, fastlzCoef 836,500, minTransactionSize 100, and fastlzSize the FastLZ-
compressed length of the signed transaction (`flz_compress_len`, op-geth's `FlzCompressLen`).

The four inputs come from the node's GasPriceOracle predeploy (0x420…0F: `baseFeeScalar()`,
`blobBaseFeeScalar()`, `l1BaseFee()`, `blobBaseFee()`) when it has one (`params_from_node`). A node
without it (the devnet, a plain anvil) gets `BASE_FALLBACK`: Base's scalars as its L1 SystemConfig
holds them (basefeeScalar 2,269, blobbasefeeScalar 1,055,762: set when Base's SystemConfig was
re-initialised, ethereum-optimism/superchain-ops PR #484, task eth/029, January 2025; Base's operators
can change them, so a node's oracle always wins) and assumed L1 prices (1 gwei, 1 wei per blob gas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_utils import function_signature_to_4byte_selector

if TYPE_CHECKING:
    from mammon.node import Node

__all__ = ["BASE_FALLBACK", "GAS_PRICE_ORACLE", "L1FeeParams", "flz_compress_len", "l1_fee", "params_from_node"]

GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F"
FJORD_INTERCEPT, FJORD_FASTLZ_COEF, FJORD_MIN_TX_SIZE = -42_585_600, 836_500, 100


@dataclass(frozen=True)
class L1FeeParams:
    """What the L1 data fee of a transaction depends on besides its bytes, and where the values came from."""

    base_fee_scalar: int
    blob_base_fee_scalar: int
    l1_base_fee: int
    blob_base_fee: int
    source: str


BASE_FALLBACK = L1FeeParams(2_269, 1_055_762, 10**9, 1, "Base's SystemConfig scalars (superchain-ops #484), assumed L1 prices 1 gwei / 1 wei")


def params_from_node(node: Node) -> L1FeeParams | None:
    """The GasPriceOracle's current scalars and L1 prices, None when the node has no oracle (not an OP-stack chain)."""
    code = node.request("eth_getCode", [GAS_PRICE_ORACLE, "latest"]) or "0x"
    if len(code) <= 2:
        return None
    def read(name: str) -> int:
        return int.from_bytes(node.call(GAS_PRICE_ORACLE, "0x" + function_signature_to_4byte_selector(f"{name}()").hex())[:32], "big")

    return L1FeeParams(base_fee_scalar=read("baseFeeScalar"), blob_base_fee_scalar=read("blobBaseFeeScalar"), l1_base_fee=read("l1BaseFee"),
                       blob_base_fee=read("blobBaseFee"), source=f"the node's GasPriceOracle ({GAS_PRICE_ORACLE})")


def l1_fee(signed_tx: bytes, params: L1FeeParams) -> int:
    """The Fjord L1 data fee of one signed transaction, in wei."""
    scaled_fee = params.base_fee_scalar * params.l1_base_fee * 16 + params.blob_base_fee_scalar * params.blob_base_fee
    size_scaled = max(FJORD_MIN_TX_SIZE * 10**6, FJORD_INTERCEPT + FJORD_FASTLZ_COEF * flz_compress_len(signed_tx))
    return size_scaled * scaled_fee // 10**12


def flz_compress_len(data: bytes) -> int:
    """The length of `data` compressed with FastLZ (level 1), as op-geth's FlzCompressLen computes it (after Solady's
    LibZip.flzCompress); checked against op-geth's reference vectors in tests/test_l1fee.py."""
    n = 0
    table = [0] * 8192

    def u24(i: int) -> int:
        return data[i] | (data[i + 1] << 8) | (data[i + 2] << 16)

    def hash24(v: int) -> int:
        return (((2654435769 * v) & 0xFFFFFFFF) >> 19) & 0x1FFF

    def literals(r: int) -> int:
        return 0x21 * (r // 0x20) + (r % 0x20 + 1 if r % 0x20 else 0)

    def match(length: int) -> int:
        length -= 1
        return 3 * (length // 262) + (3 if length % 262 >= 6 else 2)

    anchor = 0
    limit = len(data) - 13 if len(data) >= 13 else 0
    ip = anchor + 2
    while ip < limit:
        while True:
            s = u24(ip)
            h = hash24(s)
            ref, table[h] = table[h], ip
            distance = ip - ref
            if ip >= limit:
                break
            ip += 1
            if distance <= 0x1FFF and s == u24(ref):
                break
        if ip >= limit:
            break
        ip -= 1
        if ip > anchor:
            n += literals(ip - anchor)
        length, end = 0, limit + 9 - (ip + 3)
        while length < end:  # the match's length: bytes equal from ref+3 and ip+3, up to limit+9
            if data[ref + 3 + length] != data[ip + 3 + length]:
                end = 0
            length += 1
        n += match(length)
        ip += length
        for _ in range(2):  # hash the two positions after the match
            table[hash24(u24(ip))] = ip
            ip += 1
        anchor = ip
    return n + literals(len(data) - anchor)
