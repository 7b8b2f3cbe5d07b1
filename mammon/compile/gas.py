"""Static gas estimates per venue and action, used when no node is asked (`source: static`).

Starting figures from the design; `mammon plan --rpc` replaces them with the node's estimates.
"""

from __future__ import annotations

STATIC_GAS: dict[tuple[str, str], int] = {
    ("aave_v3", "withdraw"): 150_000,
    ("aave_v3", "deposit"): 120_000,
    ("morpho", "withdraw"): 120_000,
    ("morpho", "deposit"): 100_000,
    ("moonwell", "withdraw"): 140_000,
    ("moonwell", "deposit"): 115_000,
    ("aerodrome", "withdraw"): 110_000,
    ("aerodrome", "deposit"): 95_000,
    ("aerodrome", "swap"): 130_000,
    ("uniswap_v3", "swap"): 130_000,
    ("erc20", "approve"): 50_000,
}
DEFAULT_GAS = 150_000


def static_gas(venue: str, action: str) -> int:
    return STATIC_GAS.get((venue, action), DEFAULT_GAS)
