"""Fixtures for the fault-injection suite: a devnet per session (every test between evm_snapshot and
evm_revert), plans compiled against it, a seeded fault proxy in front of it, `mammon apply` as a real
subprocess (so a kill -9 is a real one), and what the chain says afterwards.

Client timeouts and backoff are short here (MAMMON_RPC_TIMEOUT=1, MAMMON_RPC_BACKOFF=0.01) so that a
delay past the timeout costs about a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mammon_test_support import ROOT, require_anvil
from proxy import FaultProxy

if TYPE_CHECKING:
    from mammon.chains import ChainConfig
    from mammon.devnet import DevnetInfo

from chainview import ACCOUNT1, FAST, KEY0, WALLET, Chain

__all__ = ["ACCOUNT1", "FAST", "KEY0", "WALLET", "Chain"]


@pytest.fixture(scope="session")
def devnet(request: pytest.FixtureRequest) -> Iterator["DevnetInfo"]:
    require_anvil("fault-injection tests")
    from mammon.devnet import running

    with running(Path(request.config.cache.mkdir("mammon-devnet"))) as info:
        yield info


@pytest.fixture(scope="session")
def chain(devnet: "DevnetInfo") -> "ChainConfig":
    from mammon.chains import load_chain_file

    return load_chain_file(devnet.chain_config)


@pytest.fixture()
def onchain(devnet: "DevnetInfo") -> Iterator[Chain]:
    """The devnet, with every change the test makes reverted afterwards."""
    c = Chain(devnet.rpc_url)
    snap = c("evm_snapshot")
    try:
        yield c
    finally:
        c("evm_revert", snap)
        c.node.close()


@pytest.fixture()
def compile_plan(devnet: "DevnetInfo", chain: "ChainConfig", onchain: Chain, tmp_path: Path) -> Callable[..., Path]:
    """Compile recommendation(s) on the devnet's current state and write the plan file."""
    from mammon import clock
    from mammon.compile.compiler import compile_plan as compile_
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.plan.planfile import dump
    from mammon.recommend import load_recommendations

    def build(example: str, *, combine: bool = False, name: str = "plan.yaml") -> Path:
        recs = load_recommendations(ROOT / "plans" / "examples" / f"{example}.yaml")
        market = read_market(devnet.rpc_url, chain, WALLET, load_market())
        plan = compile_(recs if combine else recs[0], chain=chain, wallet=WALLET, market=market, now=clock.now())
        path = tmp_path / name
        dump(plan, path)
        return path

    return build


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.code == -9


@pytest.fixture()
def apply_cli(devnet: "DevnetInfo", tmp_path: Path, state_home: Path) -> Callable[..., Result]:
    """`mammon apply PLAN --runner rpc --yes` in a real subprocess (kill -9 hooks, real exit codes)."""

    def run(plan: Path, *args: Any, url: str | None = None, record: Path | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 180) -> Result:
        argv = [sys.executable, "-m", "mammon.cli", "apply", str(plan), "--runner", "rpc", "--yes", "--quiet",
                "--rpc-url", url or devnet.rpc_url, "--chain-config", str(devnet.chain_config),
                "-o", str(record or tmp_path / "run.json"), *map(str, args)]
        full = {k: v for k, v in os.environ.items() if not k.startswith("MAMMON_TEST_")}
        full.update({"MAMMON_PRIVATE_KEY": KEY0, "MAMMON_STATE_DIR": str(state_home), **FAST, **(env or {})})
        proc = subprocess.run(argv, env=full, cwd=cwd or tmp_path, capture_output=True, text=True, timeout=timeout)
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture()
def fast_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)


@pytest.fixture()
def proxy(devnet: "DevnetInfo") -> Iterator[FaultProxy]:
    with FaultProxy(devnet.rpc_url) as p:
        yield p

