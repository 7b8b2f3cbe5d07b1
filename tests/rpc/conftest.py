"""Fixtures for the rpc runner tests: one devnet per session, every test between evm_snapshot/evm_revert.

The devnet (anvil + the real Aave V3 / Uniswap V3 / ERC-4626 bytecode + Moonwell/Aerodrome
stand-ins) boots from the snapshot cached in .pytest_cache (shared with tests/devnet) in ~0.1 s.
Without node_modules/anvil these tests skip with a message, unless MAMMON_REQUIRE_ANVIL=1 (CI),
which turns the missing anvil into a failure.

The clock stays pinned by the top-level conftest (MAMMON_NOW=2026-01-01): the devnet's blocks are
dated June 2025 (fixed genesis, 12 s per block), so every deadline the compiler derives from the
pinned clock lies in the chain's future and no plan is expired relative to either clock.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from web3 import Web3

from mammon_test_support import require_anvil, reverting
from rpchelp import KEY0, WALLET

if TYPE_CHECKING:
    from mammon.chains import ChainConfig
    from mammon.devnet import DevnetInfo
    from mammon.plan.model import Plan
    from mammon.recommend import Recommendation



def _require_anvil() -> None:
    require_anvil("rpc runner tests")


@pytest.fixture(scope="session")
def rpc_devnet(request: pytest.FixtureRequest) -> Iterator["DevnetInfo"]:
    _require_anvil()
    from mammon.devnet import running

    with running(Path(request.config.cache.mkdir("mammon-devnet"))) as info:
        yield info


@pytest.fixture(scope="session")
def chain(rpc_devnet: "DevnetInfo") -> "ChainConfig":
    from mammon.chains import load_chain_file

    return load_chain_file(rpc_devnet.chain_config)


@pytest.fixture(scope="session")
def w3_session(rpc_devnet: "DevnetInfo") -> Web3:
    return Web3(Web3.HTTPProvider(rpc_devnet.rpc_url, exception_retry_configuration=None))


@pytest.fixture()
def w3(w3_session: Web3) -> Iterator[Web3]:
    """The devnet, with every chain change the test makes reverted afterwards."""
    yield from reverting(w3_session)


@pytest.fixture()
def key0(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    monkeypatch.delenv("MAMMON_KEYSTORE_PASSWORD", raising=False)
    return KEY0


@pytest.fixture()
def compile_on_devnet(rpc_devnet: "DevnetInfo", chain: "ChainConfig", w3: Web3) -> Callable[..., "Plan"]:
    """Compile recommendations against the devnet's current state (read_market), at the pinned clock."""
    from mammon import clock
    from mammon.compile.compiler import compile_plan
    from mammon.market import load_market
    from mammon.market_rpc import read_market

    def build(recs: "Recommendation | list[Recommendation]", wallet: str = WALLET) -> "Plan":
        market = read_market(rpc_devnet.rpc_url, chain, wallet, load_market())
        return compile_plan(recs, chain=chain, wallet=wallet, market=market, now=clock.now())

    return build


@dataclass
class Applied:
    record: Any
    record_path: Path
    state_dir: Path


@pytest.fixture()
def apply_rpc(rpc_devnet: "DevnetInfo", chain: "ChainConfig", tmp_path: Path) -> Callable[..., Applied]:
    """Apply a plan through the shared engine with an rpc runner (or the runner given)."""
    from mammon import clock
    from mammon.run.engine import ApplyOptions, apply_plan
    from mammon.run.rpc import RpcRunner

    def run(plan: "Plan", runner: Any = None, *, record: Path | None = None, state_dir: Path | None = None, **options: Any) -> Applied:
        runner = runner or RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url, **options)
        record = record or Path(tempfile.mkdtemp(dir=tmp_path)) / "run.json"
        state_dir = state_dir or tmp_path / "state"
        state_dir.mkdir(exist_ok=True)
        try:
            rec = apply_plan(plan, runner, ApplyOptions(record_path=record, state_dir=state_dir, chain=chain, now=clock.now))
        finally:
            runner.close()
        return Applied(rec, record, state_dir)

    return run
