"""A throw-away anvil fork of a JSON-RPC node: where a plan is tried before anything is sent.

A fork is anvil started with ``--fork-url <node> --fork-block-number <latest>``, with mining on
demand (``--no-mining``) and block times pinned (each block 12 s after the previous one, starting
from the forked block's time, as on the devnet), so a simulation is repeatable and deadlines
computed from the plan's clock behave as they would on the node. It has no dev accounts
(``--accounts 0``): every sender on it is impersonated, every balance is the node's (a wallet that
happens to be an anvil dev account keeps its real ETH), and anvil boots in two thirds of the time,
without deriving ten keys. It dies with its owner, and with the mammon process itself (the kernel
kills it when its parent dies: `mammon.proc.die_with_parent`).

Below the runners (`mammon.run.rpc` preflights on one, `mammon.run.fork` applies on one, and the
batch/Safe trials and `mammon.compile.node_gas` use it too), so none of them imports another to get it.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from mammon.errors import DevnetError
from mammon.node import Node, redact
from mammon.proc import child_env, die_with_parent

GAS_TOPUP_WEI = 10**18  # node gas estimates only: a wallet with less ETH gets this much on the fork


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float, source: str) -> None:
    import json
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            detail = tail[0].replace(source, redact(source))[:300] if tail else ""
            raise DevnetError(f"anvil --fork-url {redact(source)} exited with code {proc.returncode}" + (f": {detail}" if detail else ""))
        try:
            req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=1.0) as resp:
                if "result" in json.loads(resp.read()):
                    return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise DevnetError(f"the anvil fork of {redact(source)} did not answer within {timeout:.0f} s")
        time.sleep(0.005)


class Fork:
    """A running anvil fork of `source_url` at `block` (default: the source's latest block).

    `Fork(url)` returns once the fork answers. `Fork.start(url)` returns as soon as anvil is spawned
    and `ready()` waits for it: the rpc runner starts its preflight fork when it is created, so anvil
    boots while the plan is checked against the node (preconditions, policy) instead of after.
    """

    def __init__(self, source_url: str, *, block: int | None = None, timeout: float = 60.0, wait: bool = True) -> None:
        from mammon.devnet.anvil import find_anvil, free_port

        self.source = source_url
        self._timeout = timeout
        self._ready = False
        self.block = block if block is not None else int(Node(source_url, where="fork").request("eth_blockNumber"), 16)
        self._dir = tempfile.TemporaryDirectory(prefix="mammon-fork-")
        self._log = Path(self._dir.name) / "anvil.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(find_anvil()), "--host", "127.0.0.1", "--port", str(self.port),
                "--fork-url", source_url, "--fork-block-number", str(self.block),
                "--no-mining", "--no-storage-caching", "--silent", "--accounts", "0"]
        with open(self._log, "wb") as fh:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env(NO_COLOR="1"),
                preexec_fn=die_with_parent())  # a kill -9 of mammon must not leave the fork running
        if wait:
            self.ready()

    @classmethod
    def start(cls, source_url: str, *, block: int | None = None, timeout: float = 60.0) -> Fork:
        """Spawn the fork and return at once; `ready()` (called by every use) waits for it."""
        return cls(source_url, block=block, timeout=timeout, wait=False)

    def ready(self) -> Fork:
        """Wait until the fork answers and pin its block times (once)."""
        if self._ready:
            return self
        from mammon.devnet.anvil import BLOCK_INTERVAL_SECONDS

        if self._proc is None:
            raise DevnetError(f"the anvil fork of {redact(self.source)} was closed")
        try:
            _wait_ready(self._proc, self.url, self._log, self._timeout, self.source)
            self.node = Node(self.url, timeout=120.0, where="fork")
            latest = self.node.request("eth_getBlockByNumber", ["latest", False])
            self.node.request("anvil_setTime", [int(latest["timestamp"], 16)])
            self.node.request("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL_SECONDS])
        except BaseException:
            self.close()
            raise
        self.chain_id = self.node.chain_id
        self._ready = True
        return self

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        return self.node.request(method, params)

    def impersonate(self, address: str) -> None:
        self.request("anvil_impersonateAccount", [address])

    def ensure_eth(self, address: str, minimum: int) -> None:
        if int(self.request("eth_getBalance", [address, "latest"]), 16) < minimum:
            self.request("anvil_setBalance", [address, hex(minimum)])

    def mine(self) -> None:
        self.request("evm_mine")

    def snapshot(self) -> str:
        return str(self.request("evm_snapshot"))

    def revert(self, snap: str) -> None:
        self.request("evm_revert", [snap])

    def close(self) -> None:
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._dir.cleanup()

    def __enter__(self) -> Fork:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


__all__ = ["GAS_TOPUP_WEI", "Fork"]
