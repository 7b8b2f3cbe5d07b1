"""A small seeded JSON-RPC fault proxy: sits on 127.0.0.1 in front of a node (anvil) and, per request,
either forwards it or injects a fault drawn from a seeded RNG (or forced by a script).

Faults (what a flaky provider does):

* ``drop``        close the connection without answering (the request never reached the node)
* ``drop_after``  forward to the node, then close without answering (the node acted; the client
                  does not know: the case that matters for ``eth_sendRawTransaction``)
* ``429``         HTTP 429 Too Many Requests with ``Retry-After: 0``
* ``502``         HTTP 502 Bad Gateway
* ``32603``       a JSON-RPC error -32603 "internal error"
* ``delay``       hold the request ``delay`` seconds (past the client's timeout), then forward it
* ``garbage``     HTTP 200 with a body that is not JSON
* ``deep``        HTTP 200 with JSON nested 100,000 levels deep (a parser without a bound crashes)
* ``null``        forward, then answer the faulted method's result as ``null`` (a load-balanced provider
                  whose backend lags: no receipt, no transaction, no block yet)
* ``pending``     forward, then answer the faulted method's result as a pending transaction (geth keeps one whose fee
                  cap the base fee passed in its pool, unmined, where anvil evicts it)
* ``underpriced`` a JSON-RPC error -32000 "transaction underpriced" (geth: a tip below the pool's minimum), not forwarded
* ``32601``       a JSON-RPC error -32601 "the method … does not exist/is not available" (a gateway that
                  does not expose the method)

Scripted faults (`fail`) also only hit the client under test.

A JSON-RPC batch (a list of calls) is one request: the fault drawn for the first of its methods that
draws one hits the whole batch (a -32603 answers every call with it). ``batches = False`` makes the
proxy a node that refuses batches (HTTP 400 with a JSON-RPC -32600 error), as some providers do.

Random faults only hit requests whose User-Agent is ``agent`` (default "mammon": the client under
test, not the anvil fork that forks the node through the same proxy), and never one method more
than ``max_run`` times in a row, so a client with bounded
retries always gets through (a node that is down for good is ``down = True`` or a script). Every
injected fault is counted in ``stats`` by (method, fault).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("drop", "drop_after", "429", "502", "32603", "delay")


def _nulled(payload: bytes, items: list[Any], method: str | None, value: Any = None) -> bytes:
    """The node's answer with the result of every call of `method` replaced by `value` (ids matched in a batch)."""
    try:
        answer: Any = json.loads(payload)
    except ValueError:
        return payload
    ids = {x.get("id") for x in items if isinstance(x, dict) and x.get("method") == method}
    for reply in answer if isinstance(answer, list) else [answer]:
        if isinstance(reply, dict) and reply.get("id") in ids and "result" in reply:
            reply["result"] = value
    return json.dumps(answer).encode()


class FaultProxy:
    """`with FaultProxy(upstream, seed=1, rate=0.2) as proxy:` then point the client at `proxy.url`."""

    def __init__(self, upstream: str, *, seed: int = 0, rate: float = 0.0, faults: tuple[str, ...] = FAULTS,
                 methods: set[str] | None = None, delay: float = 1.5, max_run: int = 2, agent: str | None = "mammon") -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rng = random.Random(seed)
        self.rate, self.faults, self.methods, self.delay, self.max_run, self.agent = rate, faults, methods, delay, max_run, agent
        self.script: list[tuple[str, str, int]] = []  # (method, fault, times): the next `times` calls of method get fault
        self.down = False  # every request dropped
        self.batches = True  # False: a batch is refused with HTTP 400 / -32600
        self.batch_sizes: list[int] = []  # every batch forwarded or refused, by its number of calls
        self.stats: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[str] = Counter()
        self._run: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    parsed: Any = json.loads(body)
                except ValueError:
                    parsed = None
                items = parsed if isinstance(parsed, list) else [parsed]
                methods = [str(x.get("method", "?")) if isinstance(x, dict) else "?" for x in items] or ["?"]
                if isinstance(parsed, list):
                    with proxy._lock:
                        proxy.batch_sizes.append(len(parsed))
                    if not proxy.batches:
                        self._reply(400, json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch requests are not supported"}}).encode())
                        return
                fault, faulted = proxy.choose_method(methods, self.headers.get("User-Agent", ""))
                if fault in ("drop",):
                    self.close_connection = True
                    return
                if fault == "429":
                    self._reply(429, b"rate limited", {"Retry-After": "0"})
                    return
                if fault == "502":
                    self._reply(502, b"bad gateway")
                    return
                if fault in ("32603", "32601", "underpriced"):
                    error = {"32603": {"code": -32603, "message": "internal error"},
                             "32601": {"code": -32601, "message": f"the method {faulted} does not exist/is not available"},
                             "underpriced": {"code": -32000, "message": "transaction underpriced"}}[fault]
                    errors = [{"jsonrpc": "2.0", "id": x.get("id") if isinstance(x, dict) else None, "error": error} for x in items]
                    self._reply(200, json.dumps(errors if isinstance(parsed, list) else errors[0]).encode())
                    return
                if fault == "garbage":
                    self._reply(200, b"<html>upstream hiccup</html>")
                    return
                if fault == "deep":
                    self._reply(200, b"[" * 100_000)
                    return
                if fault == "delay":
                    time.sleep(proxy.delay)
                status, payload = proxy.forward(body)
                if fault == "drop_after":
                    self.close_connection = True
                    return
                if fault in ("null", "pending"):
                    payload = _nulled(payload, items, faulted, None if fault == "null" else {"blockNumber": None})
                self._reply(status, payload)

            def _reply(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the client gave up (timed out) meanwhile

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def choose(self, method: str, agent: str = "mammon") -> str | None:
        with self._lock:
            self.calls[method] += 1
            fault = None
            ours = self.agent is None or agent == self.agent
            if self.down:
                fault = "drop"
            elif ours:
                for n, (m, f, times) in enumerate(self.script):
                    if m == method and times > 0:
                        self.script[n] = (m, f, times - 1)
                        fault = f
                        break
                if fault is None and (self.methods is None or method in self.methods) and self._run[method] < self.max_run:
                    if self.rng.random() < self.rate:
                        fault = self.rng.choice(self.faults)
            if fault is None:
                self._run[method] = 0
                return None
            self._run[method] += 1
            self.stats[(method, fault)] += 1
            return fault

    def choose_any(self, methods: list[str], agent: str = "mammon") -> str | None:
        """The fault for a request carrying `methods` (one, or a batch's): the first one drawn."""
        return self.choose_method(methods, agent)[0]

    def choose_method(self, methods: list[str], agent: str = "mammon") -> tuple[str | None, str | None]:
        """(fault, the method that drew it) for a request carrying `methods`; (None, None) when none is drawn."""
        for method in methods:
            fault = self.choose(method, agent)
            if fault is not None:
                return fault, method
        return None, None

    def forward(self, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def fail(self, method: str, fault: str, times: int = 1) -> None:
        """Force `fault` on the next `times` calls of `method`."""
        with self._lock:
            self.script.append((method, fault, times))

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
