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

import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mammon.errors import DevnetError
from mammon.node import Node, redact
from mammon.proc import child_env, die_with_parent

_LISTENING = re.compile(r"Listening on (127\.0\.0\.1:[0-9]+)")
RELAY_TIMEOUT = 120.0  # seconds an upstream answer may take (anvil's own fork requests wait as long)


def has_secret(url: str) -> bool:
    """Whether a node URL carries what `redact` hides (credentials, an API key in the path or the query)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL anvil could use either: its own error names it (redacted)
        return False
    return parts.username is not None or parts.path not in ("", "/") or bool(parts.query)


class _Relay:
    """A forwarding proxy on 127.0.0.1, in this process, for a node URL with a secret in it: anvil is given the
    relay's URL, never the node's. A process's argv is readable by every local user (`ps`, /proc/PID/cmdline,
    process accounting), so `--fork-url https://user:pw@host/v2/KEY` would publish the key for the fork's lifetime.
    Each POST body is relayed as it is; the node's path, query and Basic credentials are added here."""

    def __init__(self, source_url: str) -> None:
        import base64
        import http.client
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import unquote

        parts = urlsplit(source_url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "mammon-fork-relay"}
        if parts.username is not None:
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(creds).decode()
        local = threading.local()  # one kept-alive upstream connection per relay thread

        def upstream() -> http.client.HTTPConnection:
            conn: http.client.HTTPConnection | None = getattr(local, "conn", None)
            if conn is None:
                if parts.scheme == "https":
                    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=RELAY_TIMEOUT, context=ssl.create_default_context())
                else:
                    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=RELAY_TIMEOUT)
                local.conn = conn
            return conn

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # anvil keeps its connection alive

            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    conn = upstream()
                    conn.request("POST", path, body=body, headers=headers)
                    resp = conn.getresponse()
                    status, payload = resp.status, resp.read()
                except (OSError, http.client.HTTPException) as exc:
                    local.conn = None
                    status, payload = 502, f"node unreachable ({exc.__class__.__name__})".encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: nothing of the node's URL is printed
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="mammon-fork-relay", daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
GAS_TOPUP_WEI = 10**18  # node gas estimates only: a wallet with less ETH gets this much on the fork


def _listening_url(log: Path) -> str | None:
    """The URL anvil printed once it bound its port ("Listening on 127.0.0.1:PORT"), or None before that."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    found = _LISTENING.search(text)
    return f"http://{found.group(1)}" if found else None


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, timeout: float, source: str) -> str:
    """Wait until the fork answers; its URL. anvil picks its own port (``--port 0``) and prints it, so two
    forks started at once (two lanes, two mammon processes) can never be handed the same port."""
    import json
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            detail = tail[0].replace(source, redact(source))[:300] if tail else ""
            raise DevnetError(f"anvil --fork-url {redact(source)} exited with code {proc.returncode}" + (f": {detail}" if detail else ""))
        url = _listening_url(log)
        if url is not None:
            try:
                req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=1.0) as resp:
                    if "result" in json.loads(resp.read()):
                        return url
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
        from mammon.devnet.anvil import find_anvil

        self.source = source_url
        self._timeout = timeout
        self._ready = False
        self.block = block if block is not None else int(Node(source_url, where="fork").request("eth_blockNumber"), 16)
        self._dir = tempfile.TemporaryDirectory(prefix="mammon-fork-")
        self._log = Path(self._dir.name) / "anvil.log"
        self.url = ""  # known once anvil has bound its port (`ready`)
        anvil = str(find_anvil())
        self._relay = _Relay(source_url) if has_secret(source_url) else None  # no secret on anvil's argv
        args = [anvil, "--host", "127.0.0.1", "--port", "0",
                "--fork-url", self._relay.url if self._relay else source_url, "--fork-block-number", str(self.block),
                "--no-mining", "--no-storage-caching", "--accounts", "0"]
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            with open(self._log, "wb") as fh:
                self._proc = subprocess.Popen(
                    args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env(NO_COLOR="1"),
                    preexec_fn=die_with_parent())  # a kill -9 of mammon must not leave the fork running
        except BaseException:
            self.close()
            raise
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
            self.url = _wait_ready(self._proc, self._log, self._timeout, self.source)
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
        relay, self._relay = getattr(self, "_relay", None), None
        if relay is not None:
            relay.close()
        self._dir.cleanup()

    def __enter__(self) -> Fork:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


__all__ = ["GAS_TOPUP_WEI", "Fork"]
