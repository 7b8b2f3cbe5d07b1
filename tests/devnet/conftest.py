"""Fixtures for the devnet tests: one anvil per session, booted from a cached snapshot.

Why: deploying takes ~1 s plus a one-off solc-js compile; booting from the dumped state
takes ~0.1 s. The snapshot lives in pytest's cache dir (.pytest_cache, ignored by git)
and is rebuilt whenever the contract sources, npm versions or deploy code change. Each
test runs between evm_snapshot/evm_revert, so tests do not see each other's changes.

Without node_modules/anvil the tests skip, unless MAMMON_REQUIRE_ANVIL=1 (then they fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest
from web3 import Web3

from mammon_test_support import require_anvil, reverting

if TYPE_CHECKING:
    from mammon.devnet import DevnetInfo


def _require_anvil() -> None:
    require_anvil("devnet tests")


@pytest.fixture(scope="session")
def devnet_cache(request: pytest.FixtureRequest) -> Path:
    _require_anvil()
    return Path(request.config.cache.mkdir("mammon-devnet"))


@pytest.fixture(scope="session")
def devnet(devnet_cache: Path) -> Iterator["DevnetInfo"]:
    from mammon.devnet import running

    with running(devnet_cache) as info:
        yield info


@pytest.fixture(scope="session")
def w3_session(devnet: "DevnetInfo") -> Web3:
    return Web3(Web3.HTTPProvider(devnet.rpc_url, exception_retry_configuration=None))


@pytest.fixture()
def w3(w3_session: Web3) -> Iterator[Web3]:
    """The session's Web3, with every chain change of the test reverted afterwards."""
    yield from reverting(w3_session)
