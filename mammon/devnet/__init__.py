"""mammon.devnet: a local anvil chain running the real protocols' bytecode.

Why: plans must be reviewed and applied against real contracts before they touch a real
chain. ``up()`` starts anvil (from npm), deploys Aave V3 and Uniswap V3 from their npm
artifacts, an OpenZeppelin ERC-4626 vault per token and small Moonwell/Aerodrome
stand-ins compiled offline, funds wallets with a default portfolio and writes a
chain-config YAML in the same shape as ``shared/chains/*.yaml``.

Tests use ``running(cache_dir)``: the chain is deployed once into an anvil state file
(``snapshot()``) and each test session boots from it in a fraction of a second.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from mammon.devnet import anvil as _anvil
from mammon.devnet.artifacts import package_version
from mammon.devnet.solc import sources_hash
from mammon.errors import DevnetError

if TYPE_CHECKING:
    from mammon.devnet.deploy import Deployment


def __getattr__(name: str) -> Any:
    # The deployer needs web3; it is loaded only when a devnet is deployed or booted, so that
    # `mammon.devnet.anvil` (the rpc runner's preflight fork) does not pull web3 in.
    if name == "Deployment":
        from mammon.devnet.deploy import Deployment

        return Deployment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["DevnetError", "DevnetInfo", "Deployment", "down", "running", "snapshot", "up"]

DEFAULT_STATE_DIR = Path(".mammon/devnet")
_NPM_PACKAGES = (
    "@foundry-rs/anvil-linux-amd64",
    "@aave/core-v3",
    "@uniswap/v3-core",
    "@uniswap/v3-periphery",
    "@uniswap/swap-router-contracts",
    "@openzeppelin/contracts",
    "@safe-global/safe-contracts",
    "@account-abstraction/contracts",
    "solc",
)


@dataclass(frozen=True)
class DevnetInfo:
    """A running devnet: where to reach it and what it cost to start."""

    rpc_url: str
    chain_config: Path  # <state_dir>/chain.yaml
    pid: int
    port: int
    state_dir: Path
    deployment: Deployment
    deploy_seconds: float  # time spent deploying in this call; 0.0 when a snapshot was reused
    boot_seconds: float  # anvil start (incl. --load-state) until it answered


def snapshot_key() -> str:
    """Hash of what decides the deployed chain: contract sources, npm versions, deploy code."""
    h = hashlib.sha256(sources_hash().encode())
    for pkg in _NPM_PACKAGES:
        h.update(f"{pkg}@{package_version(pkg)}".encode())
    here = Path(__file__).resolve().parent
    for name in ("deploy.py", "anvil.py", "artifacts.py", "batching.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _snapshot_paths(cache_dir: Path) -> tuple[Path, Path]:
    key = snapshot_key()
    return cache_dir / f"devnet-{key}.state.json", cache_dir / f"devnet-{key}.deployment.json"


def snapshot(cache_dir: Path) -> Path:
    """Deploy once into an anvil state file and return its path (reused while the key matches).

    anvil runs with ``--dump-state`` and writes the file when it gets SIGTERM; later
    ``--load-state`` boots from it in ~0.1 s. A file lock keeps parallel callers from
    deploying twice.
    """
    return _ensure_snapshot(Path(cache_dir))[0]


def _ensure_snapshot(cache_dir: Path) -> tuple[Path, float]:
    """(state file, seconds spent deploying in this call: 0.0 when it was cached)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    state, dep_file = _snapshot_paths(cache_dir)
    with open(cache_dir / "snapshot.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if state.exists() and dep_file.exists():
            return state, 0.0
        tmp = state.with_name(state.name + ".tmp")
        tmp.unlink(missing_ok=True)
        from mammon.devnet import deploy as _deploy

        proc = _anvil.start_anvil(_anvil.free_port(), cache_dir / "build", dump_state=tmp)
        try:
            dep, seconds = _deploy.deploy_all(_deploy.connect(proc.rpc_url), cache_dir)
        except BaseException:
            _anvil.stop_process(proc)
            tmp.unlink(missing_ok=True)
            raise
        finally:
            _anvil.stop_process(proc)
            (cache_dir / "build" / "anvil.pid").unlink(missing_ok=True)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise DevnetError(f"anvil did not write its state to {tmp}")
        dep.deploy_seconds = round(seconds, 3)
        dep_file.write_text(dep.to_json())
        tmp.replace(state)
        for old in cache_dir.glob("devnet-*.json"):  # snapshots of older sources/versions
            if old not in (state, dep_file):
                old.unlink(missing_ok=True)
    return state, seconds


def _boot(
    port: int, run_dir: Path, cache_dir: Path, fund: Sequence[str], detach: bool
) -> tuple[DevnetInfo, _anvil.AnvilProcess]:
    """Start anvil from the snapshot in cache_dir, fund, write run_dir/chain.yaml + devnet.json."""
    from mammon.devnet import deploy as _deploy

    state, deploy_seconds = _ensure_snapshot(cache_dir)
    dep = _deploy.Deployment.from_json(_snapshot_paths(cache_dir)[1].read_text())
    t0 = time.perf_counter()
    proc = _anvil.start_anvil(port, run_dir, load_state=state, detach=detach)
    boot = time.perf_counter() - t0
    try:
        if fund:
            _deploy.fund(_deploy.connect(proc.rpc_url), dep, fund, cache_dir)
        chain_config = run_dir / "chain.yaml"
        chain_config.write_text(_deploy.chain_yaml(dep, proc.rpc_url))
        info = DevnetInfo(
            rpc_url=proc.rpc_url,
            chain_config=chain_config.resolve(),
            pid=proc.pid,
            port=port,
            state_dir=run_dir.resolve(),
            deployment=dep,
            deploy_seconds=round(deploy_seconds, 3),
            boot_seconds=round(boot, 3),
        )
        timings = {
            "deploy_seconds": info.deploy_seconds,
            "deploy_seconds_when_snapshot_was_built": dep.deploy_seconds,
            "deploy_transactions": dep.transactions,
            "boot_seconds": info.boot_seconds,
        }
        meta = {
            "pid": proc.pid,
            "port": port,
            "rpc_url": proc.rpc_url,
            "chain_config": str(info.chain_config),
            "snapshot": str(state.resolve()),
            "timings": timings,
        }
        (run_dir / "devnet.json").write_text(json.dumps(meta, indent=2) + "\n")
    except BaseException:
        _anvil.stop_process(proc)
        raise
    return info, proc


def up(port: int = 8545, state_dir: Path = DEFAULT_STATE_DIR, fund: Sequence[str] = ()) -> DevnetInfo:
    """Start anvil on 127.0.0.1:port with everything deployed; write chain.yaml and devnet.json.

    Deploys into a snapshot in ``state_dir`` the first time (or when sources/versions
    changed), then boots from it. ``fund`` addresses get the default portfolio on top
    (anvil's first account always has it). anvil keeps running after this returns; stop it
    with ``down(state_dir)``.
    """
    state_dir = Path(state_dir)
    if _anvil.pid_file_alive(state_dir):
        raise DevnetError(f"a devnet is already running for {state_dir}; call down() first")
    return _boot(port, state_dir, state_dir, fund, detach=True)[0]


def down(state_dir: Path = DEFAULT_STATE_DIR) -> bool:
    """Stop the anvil started by ``up(state_dir=...)``. True if one was running."""
    return _anvil.stop_from_pid_file(Path(state_dir))


@contextmanager
def running(cache_dir: Path, port: int | None = None) -> Iterator[DevnetInfo]:
    """Boot a devnet from the cached snapshot on a free port; stop it on exit (tests).

    Its chain.yaml and devnet.json live in ``<cache_dir>/run-<port>/``, removed on exit.
    """
    cache_dir = Path(cache_dir)
    port = port or _anvil.free_port()
    run_dir = cache_dir / f"run-{port}"
    info, proc = _boot(port, run_dir, cache_dir, (), detach=False)
    try:
        yield info
    finally:
        _anvil.stop_process(proc)
        shutil.rmtree(run_dir, ignore_errors=True)
