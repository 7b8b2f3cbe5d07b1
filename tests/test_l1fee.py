"""The L1 data fee used to compare execution modes (bench/batch.py): FastLZ length and the Fjord formula."""

from __future__ import annotations

from mammon.l1fee import BASE_FALLBACK, FJORD_MIN_TX_SIZE, L1FeeParams, flz_compress_len, l1_fee

# op-geth core/types/rollup_cost_test.go TestFlzCompressLen: an empty legacy transaction, and a contract call
# (optimistic.etherscan.io/tx/0x8eb9dd4eb6d33f4dc25fb015919e4b1e9f7542f9b0322bf6622e268cd116b594)
EMPTY_TX = bytes.fromhex("dd80808094095e7baea6a6c7c4c2dfeb977efac326af552d878080808080")
CONTRACT_CALL_TX = bytes.fromhex(
    "02f901550a758302df1483be21b88304743f94f80e51afb613d764fa61751affd3313c190a86bb870151bd62fd12adb8"
    "e41ef24f3f000000000000000000000000000000000000000000000000000000000000006e000000000000000000000000af88d065e77c8c"
    "c2239327c5edb3a432268e5831000000000000000000000000000000000000000000000000000000000003c1e50000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a0000000"
    "00000000000000000000000000000000000000000000000000000000148c89ed219d02f1a5be012c689b4f5b731827bebe00000000000000"
    "0000000000c001a033fd89cb37c31b2cba46b6466e040c61fc9b2a3675a7f5f493ebd5ad77c497f8a07cdf65680e238392693019b4092f61"
    "0222e71b7cec06449cb922b93b6a12744e")


def test_fastlz_length_matches_op_geths_reference_vectors() -> None:
    assert flz_compress_len(b"") == 0
    assert flz_compress_len(bytes([1]) * 1000) == 21
    assert flz_compress_len(bytes(1000)) == 21
    assert flz_compress_len(EMPTY_TX) == 31
    assert flz_compress_len(CONTRACT_CALL_TX) == 202


def test_fjord_fee_follows_the_compressed_size_above_the_minimum() -> None:
    params = L1FeeParams(base_fee_scalar=1_000_000, blob_base_fee_scalar=0, l1_base_fee=1, blob_base_fee=0, source="test")
    # a tiny transaction pays for the minimum size: 100 bytes x 16 x the scaled L1 base fee
    assert l1_fee(EMPTY_TX, params) == FJORD_MIN_TX_SIZE * 16
    # the contract call: (-42,585,600 + 836,500 x 202) / 1e6 = 126.387 bytes, x 16
    assert l1_fee(CONTRACT_CALL_TX, params) == (-42_585_600 + 836_500 * 202) * 16 // 10**6
    # repeated bytes compress: a batch's repeated addresses cost less than their raw length
    assert l1_fee(bytes(1000), BASE_FALLBACK) < l1_fee(bytes(range(256)) * 4, BASE_FALLBACK)
