"""Start and stop the anvil binary shipped in the @foundry-rs/anvil-linux-amd64 npm package.

Why: mammon needs a real EVM to run plans against. anvil comes from npm (pinned in
package-lock.json) so nothing is downloaded at run time. The process is tracked by a PID
file so ``down()`` can stop a node started by an earlier ``up()``.

Block timestamps: anvil is started with a fixed genesis timestamp and, once it answers,
``anvil_setBlockTimestampInterval`` makes every block exactly 12 s after the previous one.
Aave skips its index update when two transactions share a timestamp, so wall-clock
timestamps would make gas vary run to run; a fixed interval makes it repeatable. The
interval is not part of anvil's dumped state, so it is set again after every start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mammon.errors import DevnetError
from mammon.proc import child_env, pid_alive
from mammon.devnet.artifacts import INSTALL_HINT, node_modules_dir

CHAIN_ID = 31337
GENESIS_TIMESTAMP = 1_750_000_000  # 2025-06-15; in the past, so wall-clock deadlines pass
BLOCK_INTERVAL_SECONDS = 12
HARDFORK = "prague"  # EIP-7702 (set-code transactions) for --execution batch
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"


@dataclass
class AnvilProcess:
    """A running anvil node."""

    pid: int
    port: int
    rpc_url: str
    popen: subprocess.Popen[bytes] | None = None  # None when only known from a PID file


def find_anvil() -> Path:
    """Path to the anvil binary inside node_modules (env MAMMON_ANVIL overrides)."""
    override = os.environ.get("MAMMON_ANVIL")
    if override:
        path = Path(override)
    else:
        path = node_modules_dir() / ANVIL_PACKAGE / "bin" / "anvil"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise DevnetError(f"anvil binary not found at {path}: {INSTALL_HINT}")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rpc(rpc_url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One raw JSON-RPC call (no retries), returning ``result`` or raising DevnetError."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(rpc_url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise DevnetError(f"{method} failed: {reply['error']}")
    return reply["result"]


def start_anvil(
    port: int,
    state_dir: Path,
    load_state: Path | None = None,
    dump_state: Path | None = None,
    timeout: float = 30.0,
    detach: bool = False,
) -> AnvilProcess:
    """Start anvil on 127.0.0.1:port, write ``<state_dir>/anvil.pid``, wait until it answers.

    ``detach`` puts anvil in its own session so it outlives the caller's terminal (``up``).
    """
    binary = find_anvil()
    state_dir.mkdir(parents=True, exist_ok=True)
    args = [
        str(binary),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(CHAIN_ID),
        "--hardfork", HARDFORK,
        "--silent",
    ]
    if load_state is not None:
        args += ["--load-state", str(load_state)]
    else:
        args += ["--timestamp", str(GENESIS_TIMESTAMP)]
    if dump_state is not None:
        args += ["--dump-state", str(dump_state)]
    log = open(state_dir / "anvil.log", "ab")
    try:
        popen = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=detach, env=child_env()
        )
    finally:
        log.close()
    rpc_url = f"http://127.0.0.1:{port}"
    proc = AnvilProcess(pid=popen.pid, port=port, rpc_url=rpc_url, popen=popen)
    (state_dir / "anvil.pid").write_text(f"{popen.pid}\n")
    try:
        wait_ready(proc, timeout)
        pin_block_times(rpc_url)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def wait_ready(proc: AnvilProcess, timeout: float) -> None:
    """Poll eth_chainId until anvil answers; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.popen is not None and proc.popen.poll() is not None:
            raise DevnetError(f"anvil exited with code {proc.popen.returncode}; see anvil.log in the state dir")
        try:
            if int(rpc(proc.rpc_url, "eth_chainId", timeout=1.0), 16) == CHAIN_ID:
                return
        except (OSError, urllib.error.URLError, DevnetError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise DevnetError(f"anvil did not answer on {proc.rpc_url} within {timeout:.0f} s")
        time.sleep(0.02)


def pin_block_times(rpc_url: str) -> None:
    """Make every next block exactly BLOCK_INTERVAL_SECONDS after the latest one.

    anvil does not restore its clock from --load-state (the next block would jump to wall
    clock time), so the clock is first set back to the latest block's timestamp.
    """
    latest = rpc(rpc_url, "eth_getBlockByNumber", ["latest", False])
    rpc(rpc_url, "anvil_setTime", [int(latest["timestamp"], 16)])
    rpc(rpc_url, "anvil_setBlockTimestampInterval", [BLOCK_INTERVAL_SECONDS])


def stop_process(proc: AnvilProcess, timeout: float = 30.0) -> None:
    """SIGTERM (anvil writes --dump-state then), wait, SIGKILL as a last resort."""
    if proc.popen is not None:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        return
    if not pid_alive(proc.pid):
        return
    os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(proc.pid):
        os.kill(proc.pid, signal.SIGKILL)


def _is_anvil(pid: int) -> bool:
    """Guard against a stale PID file naming some other, reused process."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"anvil" in cmdline.split(b"\0", 1)[0]


def pid_file_alive(state_dir: Path) -> bool:
    """True if ``<state_dir>/anvil.pid`` names a live anvil process."""
    pid_file = state_dir / "anvil.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    return pid_alive(pid) and _is_anvil(pid)


def stop_from_pid_file(state_dir: Path) -> bool:
    """Stop the anvil named in ``<state_dir>/anvil.pid``. True if one was running."""
    pid_file = state_dir / "anvil.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        pid_file.unlink()
        return False
    running = pid_alive(pid) and _is_anvil(pid)
    if running:
        stop_process(AnvilProcess(pid=pid, port=0, rpc_url=""))
    pid_file.unlink(missing_ok=True)
    return running
