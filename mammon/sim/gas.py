"""The simulator's gas model: deterministic, derived from what a transaction actually does.

    gas_used = 21,000                                   intrinsic cost of any transaction
             + 16 per non-zero / 4 per zero calldata byte   (EIP-2028)
             + per storage slot whose value the transaction changed:
                   22,100 when it went from zero to non-zero  (20,000 SSTORE_SET + 2,100 cold slot)
                    5,000 otherwise                            (2,900 SSTORE_RESET + 2,100 cold slot)
             + 2,600 per cold account touched               (EIP-2929; the sender and the called
                                                              contract are warm from the start)
             + 9,000 per native-ETH transfer made inside the call (CALL with value)
             + a fixed execution cost per function run, top-level or internal (`EXECUTION`)
               covering dispatch, storage reads, events and the protocol's own bookkeeping.

Slots are the simulator's storage keys (one per balance, allowance, total, reserve …), counted once
per transaction with the value at its start compared to its end: slots written and restored cost
nothing, and refunds are ignored. A reverted transaction is charged for the work done up to the revert.
Where the devnet runs the real bytecode (Aave V3, Uniswap V3, ERC-20), the execution costs are
calibrated to its medians from `bench/gas.py` on a live-rate market (borrowers, so every Aave call
updates the indexes): approve ~46k, Aave supply ~148k and withdraw ~161k, a Uniswap V3 swap ~124k. The stand-in venues keep mainnet-like guesses.
"""

from __future__ import annotations

from typing import Any

INTRINSIC = 21_000
CALLDATA_ZERO = 4
CALLDATA_NONZERO = 16
SSTORE_SET = 22_100
SSTORE_RESET = 5_000
COLD_ACCOUNT = 2_600
CALL_VALUE = 9_000

# Fixed execution cost per (contract kind, function) beyond the storage writes and cold accounts
# counted above. Protocol entry points carry their hidden bookkeeping here (Aave's reserve cache and
# rate update, Compound's accrueInterest and Comptroller hooks, MetaMorpho's market allocation).
EXECUTION: dict[tuple[str, str], int] = {
    ("erc20", "approve"): 2_600,
    ("erc20", "transfer"): 3_200,
    ("erc20", "transferFrom"): 4_000,
    ("aave_pool", "supply"): 85_900,  # calibrated: devnet median 148,209 for the whole supply (live market: borrowers, index updates)
    ("aave_pool", "withdraw"): 104_900,  # calibrated: devnet median 161,307 (live market)
    ("atoken", "mint"): 6_000,
    ("atoken", "burn"): 6_000,
    ("mtoken", "mint"): 70_000,
    ("mtoken", "redeem"): 65_000,
    ("mtoken", "redeemUnderlying"): 65_000,
    ("mtoken", "transfer"): 30_000,
    ("mtoken", "transferFrom"): 30_000,
    ("vault", "deposit"): 65_000,
    ("vault", "withdraw"): 65_000,
    ("vault", "redeem"): 65_000,
    ("uniswap_router", "exactInputSingle"): 15_000,  # with the pool's swap, calibrated: devnet median 124,461
    ("uniswap_pool", "swap"): 32_650,
    ("aerodrome_router", "swapExactTokensForTokens"): 25_000,
    ("aerodrome_router", "addLiquidity"): 30_000,
    ("aerodrome_router", "removeLiquidity"): 25_000,
    ("aerodrome_pool", "swap"): 35_000,
    ("aerodrome_pool", "mint"): 30_000,
    ("aerodrome_pool", "burn"): 30_000,
    ("weth", "withdraw"): 6_000,
}
DEFAULT_EXECUTION = 2_000  # views and anything not listed


def execution(kind: str, function: str) -> int:
    cost = EXECUTION.get((kind, function))
    if cost is not None:
        return cost
    # contracts that are also ERC-20s (LP tokens, vault shares, mTokens) reuse the token figures
    return EXECUTION.get(("erc20", function), DEFAULT_EXECUTION)


def calldata_gas(data: bytes) -> int:
    zeros = data.count(0)
    return zeros * CALLDATA_ZERO + (len(data) - zeros) * CALLDATA_NONZERO


def storage_gas(journal: dict[tuple[Any, ...], int], storage: dict[tuple[Any, ...], int]) -> int:
    """`journal` maps each slot the transaction wrote to its value at the transaction's start, `storage` holds the
    values at its end (a slot not there is 0). Native balances (keys `("native", account)`) are not storage slots.
    Read from both as they are: no map of (before, after) pairs is built first (a few per simulated transaction)."""
    total = 0
    for key, before in journal.items():
        if key[0] != "native" and before != storage.get(key, 0):
            total += SSTORE_SET if before == 0 else SSTORE_RESET
    return total
