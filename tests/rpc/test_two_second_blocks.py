"""Every kind of step applied on 2-second blocks (issue #8: time passes between the reads and the block).

The devnet switches from automine to interval mining (anvil `evm_setIntervalMining`, a block every 2 s of
wall time, block timestamps 2 s apart): a transaction waits in the pool for the next block, so an aToken
balance earns interest between the runner's read before the step and its read after, as on Base. Every
effect must still land within the plan's stated tolerance and the diff must be clean.

A representative subset of the examples runs here (each kind of step and venue: Aave supply and
withdraw-all, Moonwell, both ERC-4626 conventions, Uniswap V3 and Aerodrome swaps, an LP exit); the full
set runs on automine in test_rpc_examples.py. On 2-second blocks each transaction costs ~2 s of wall time,
which is why not all of them run here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mammon.diff import diff, render_text
from mammon.recommend import load_recommendations

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "plans" / "examples"
SUBSET = [
    EXAMPLES_DIR / "moonwell-to-aave.yaml",           # Moonwell redeem, Aave supply on a position that earns
    EXAMPLES_DIR / "aave-withdraw-all.yaml",          # Aave withdraw-all: the amount includes the interest
    EXAMPLES_DIR / "aave-weth-to-morpho-usdc.yaml",   # Aave withdraw, Uniswap V3 swap, MetaMorpho-style deposit
    EXAMPLES_DIR / "aerodrome-lp-to-wallet.yaml",     # Aerodrome LP exit and swap
    EXAMPLES_DIR / "devnet" / "erc4626-to-aave.yaml",  # plain OpenZeppelin vault withdraw, Aave supply
]


@pytest.fixture()
def two_second_blocks(w3: Any) -> Iterator[Any]:
    """Interval mining every 2 s with timestamps 2 s apart; automine and the 12 s timestamps come back after."""
    w3.provider.make_request("anvil_setBlockTimestampInterval", [2])
    w3.provider.make_request("evm_setIntervalMining", [2])
    try:
        yield w3
    finally:
        w3.provider.make_request("evm_setIntervalMining", [0])
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("anvil_setBlockTimestampInterval", [12])


@pytest.mark.parametrize("path", SUBSET, ids=[p.stem for p in SUBSET])
def test_example_applies_on_two_second_blocks(path: Path, compile_on_devnet: Any, apply_rpc: Any, key0: str,
                                              two_second_blocks: Any) -> None:
    w3 = two_second_blocks
    plan = compile_on_devnet(load_recommendations(path)[0])
    applied = apply_rpc(plan)
    record, result = applied.record, diff(plan, applied.record)
    assert record.status == "ok", render_text(result)
    assert result.ok, render_text(result)
    blocks = [w3.eth.get_transaction_receipt(s.tx_hash)["blockNumber"] for s in record.steps]
    assert blocks == sorted(blocks) and len(set(blocks)) == len(blocks)  # one block per step: time passed between them
    earning = [e for e in result.effects if "interest at" in e.tolerance]
    if any(s.venue == "aave_v3" for s in plan.steps):
        assert earning, "an Aave step's aToken effect states its interest tolerance"
