"""Fixtures for the simulator tests: the default world on Base at a fixed time.

Everything is real: plans come from `compile_plan`, each step's stored calldata is executed by
`SimChain`, and balances are read back through the simulated contracts' own `balanceOf`.
Helpers live in `simhelp.py` next to this file.
"""

from __future__ import annotations

import pytest
from simhelp import NOW, WALLET

from mammon.chains import ChainConfig, load_chain
from mammon.market import Market, load_market
from mammon.sim import SimChain


@pytest.fixture(scope="session")
def base() -> ChainConfig:
    return load_chain("base")


@pytest.fixture(scope="session")
def world() -> Market:
    return load_market()


@pytest.fixture
def chain(base: ChainConfig, world: Market) -> SimChain:
    return SimChain(world, base, [WALLET], int(NOW.timestamp()))
