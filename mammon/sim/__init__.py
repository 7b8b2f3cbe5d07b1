"""An in-memory chain that executes a plan's exact calldata with the real protocols' rules.

    from mammon.sim import SimChain
    chain = SimChain(load_market(), load_chain("base"), wallets=[wallet], timestamp=1_735_689_600)
    receipt = chain.send(wallet, step.call.to, step.call.data)      # SimReceipt: status, return data, gas
    chain.balance_of(usdc, wallet)

Calldata is decoded by selector against the ABIs in `abis/` and dispatched to a model of the
contract at the target address (addresses from the chain config): ERC-20 tokens (`tokens`), the Aave
V3 Pool and aTokens (`aave_v3`), Moonwell mTokens (`moonwell`), ERC-4626 Morpho vaults (`morpho`),
Uniswap SwapRouter02 and its pools (`uniswap_v3`), the Aerodrome Router and pools (`aerodrome`).
Each module's docstring states its rules; `gas` documents the gas model. A transaction is atomic,
advances the clock by 2 s and the block number by one; everything is deterministic, and every
transaction hash starts with `0x5111` so a simulated hash never passes for a real one.
"""

from mammon.sim.core import CallReverted, Contract, SimLog, SimReceipt, SimRevert
from mammon.sim.chain import BLOCK_TIME, TX_HASH_PREFIX, SimChain, SimTx
from mammon.sim.world import CASH_UNITS

__all__ = [
    "BLOCK_TIME",
    "CASH_UNITS",
    "TX_HASH_PREFIX",
    "CallReverted",
    "Contract",
    "SimChain",
    "SimLog",
    "SimReceipt",
    "SimRevert",
    "SimTx",
]
