"""Static gas estimates per venue and action, used when no node is asked (`source: static`).

Where the devnet runs the protocol's real bytecode (Aave V3 from @aave/core-v3, Uniswap V3 from its
npm artifacts, ERC-20 approve, the plain OpenZeppelin ERC-4626 vault), the figure is the MAXIMUM gasUsed
measured there by `bench/gas.py` on a live-rate market (borrowers in the Aave market, time elapsed between
interactions so every call updates the indexes; 3 repetitions of every example), rounded up to the next
thousand; the medians and the spread are in the README. Without a node estimate the rpc runner's gas limit
is this figure × 1.2, so it covers the measured maximum with a 20% margin. Moonwell, Morpho and Aerodrome
run as small stand-ins on the devnet (no published bytecode), whose gas says nothing about the real
contracts, so their figures stay the design's estimates (each still covers the stand-in's measured maximum
once × 1.2). `mammon plan --rpc` replaces all of them with the node's own (`source: node`).
"""

from __future__ import annotations

STATIC_GAS: dict[tuple[str, str], int] = {
    ("aave_v3", "withdraw"): 167_000,  # devnet max 166,472 (median 161,307; 161,271–166,472)
    ("aave_v3", "deposit"): 149_000,  # devnet max 148,269 (median 148,209): a supply next to the wallet's position
    # the wallet's first supply into the reserve (no position, or none known): its scaled balance starts from zero and
    # Aave sets the reserve's collateral bit; devnet max 172,586 (empty user configuration), 160,539 next to another reserve
    ("aave_v3", "deposit_first"): 173_000,
    ("uniswap_v3", "swap"): 126_000,  # devnet max 125,297 (median 124,461; SwapRouter02.exactInputSingle)
    ("erc20", "approve"): 47_000,  # devnet max 46,433 (median 46,210)
    # erc4626: the default. The devnet's plain OpenZeppelin vault uses at most 57,690, but a generic vault may run a
    # strategy on every deposit and withdraw: 150,000 is the conservative figure for a vault mammon has not seen.
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
