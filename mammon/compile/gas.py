"""Static gas estimates per venue and action, used when no node is asked (`source: static`).

Where the devnet runs the protocol's real bytecode (Aave V3 from @aave/core-v3, Uniswap V3 from its
npm artifacts, ERC-20 approve), the figure is the median gasUsed measured there by `bench/gas.py`,
rounded up to the next thousand. Moonwell, Morpho and Aerodrome run as small stand-ins on the devnet
(no published bytecode), whose gas says nothing about the real contracts, so their figures stay the
design's starting estimates. `mammon plan --rpc` replaces all of them with the node's own (`source: node`).
"""

from __future__ import annotations

STATIC_GAS: dict[tuple[str, str], int] = {
    ("aave_v3", "withdraw"): 151_000,  # devnet median 150,634
    ("aave_v3", "deposit"): 138_000,  # devnet median 137,536
    ("uniswap_v3", "swap"): 125_000,  # devnet median 124,461 (SwapRouter02.exactInputSingle)
    ("erc20", "approve"): 47_000,  # devnet median 46,216
    ("morpho", "withdraw"): 120_000,
    ("morpho", "deposit"): 100_000,
    ("moonwell", "withdraw"): 140_000,
    ("moonwell", "deposit"): 115_000,
    ("aerodrome", "withdraw"): 110_000,
    ("aerodrome", "deposit"): 95_000,
    ("aerodrome", "swap"): 130_000,
}
DEFAULT_GAS = 150_000


def static_gas(venue: str, action: str) -> int:
    return STATIC_GAS.get((venue, action), DEFAULT_GAS)
