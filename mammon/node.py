"""A JSON-RPC node, as every part of mammon that talks to one needs it: live market reads, gas
estimates on a fork, and the rpc and fork runners.

The transport is the standard library's `http.client` (one kept-alive connection per node), so the
cheap commands never import web3. What can go wrong, as a tree (all `MammonError`, one line each,
naming the method and the node with its path and query redacted)::

    NodeError              the node answered with a JSON-RPC error (code, message, revert data)
    NodeUnavailable        no usable answer; ``kind`` says why
    ├── NodeUnreachable    connection refused / reset / closed, DNS failure
    ├── NodeTimeout        no answer within the client timeout
    ├── NodeRateLimited    HTTP 429 or JSON-RPC -32005 (limit exceeded)
    └── NodeServerError    HTTP 5xx, JSON-RPC -32603 (internal error), a reply that is not JSON-RPC, or a
                           result without the shape its method has (`_result_problem`: a null nonce, a string receipt)

Reads are retried on `NodeUnavailable` with bounded exponential backoff (honouring `Retry-After`);
a method that changes state (``eth_sendRawTransaction``, ``eth_sendTransaction``, ``evm_*``) is sent
once and never retried blindly: its caller looks the transaction up instead (the journal decides).
Tuning (tests set them short): ``MAMMON_RPC_TIMEOUT`` seconds per attempt (default 30, more than 0),
``MAMMON_RPC_RETRIES`` retries of a read (a whole number, default 4), ``MAMMON_RPC_BACKOFF`` first backoff in seconds
(default 0.25, doubling, at most 8 s; a ``Retry-After`` above 60 s is not waited for).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from mammon.errors import InputError, MammonError
from mammon.files import MAX_DEPTH, bracket_depth

# Methods that change state: one attempt only (a retry could repeat what the first attempt did).
UNSAFE_METHODS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction", "evm_mine", "evm_revert", "anvil_mine"})
TRANSIENT_CODES = {-32603: "server", -32005: "rate"}  # internal error; limit exceeded (rate limit)
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
_T = TypeVar("_T")
MAX_REPLY_DEPTH = MAX_DEPTH  # JSON-RPC replies nest a few levels; deeper is garbage (and could exhaust the C stack)


def redact(url: str) -> str:
    """A node URL safe to print: scheme://host[:port] (paths and queries often carry API keys)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<node url>"
    if not parts.scheme or not parts.hostname:
        return "<node url>"
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{parts.hostname}{port}{tail}"


class NodeError(MammonError):
    """A JSON-RPC error answer: `code`, `node_message` and revert `data` (bytes) when the node gave some."""

    def __init__(self, method: str, code: int | None, message: str, data: bytes | None, *, node: str = "node") -> None:
        self.method, self.code, self.node_message, self.data = method, code, message, data
        super().__init__(f"{method}: {message}", where=node)


class NodeUnavailable(MammonError):
    """No usable answer from the node for `method` (after the retries a read gets)."""

    kind = "unavailable"

    def __init__(self, method: str, node: str, detail: str, *, attempts: int = 1, retry_after: float | None = None) -> None:
        self.method, self.node, self.detail, self.attempts, self.retry_after = method, node, detail, attempts, retry_after
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{method}: {self.summary(node)} ({detail}){tries}", where="node")

    def summary(self, node: str) -> str:
        return f"no usable answer from the node at {node}"


class NodeUnreachable(NodeUnavailable):
    kind = "unreachable"

    def summary(self, node: str) -> str:
        return f"cannot reach the node at {node}"


class NodeTimeout(NodeUnavailable):
    kind = "timeout"

    def summary(self, node: str) -> str:
        return f"the node at {node} did not answer in time"


class NodeRateLimited(NodeUnavailable):
    kind = "rate-limited"

    def summary(self, node: str) -> str:
        return f"the node at {node} is rate-limiting this client"


class NodeServerError(NodeUnavailable):
    kind = "server-error"

    def summary(self, node: str) -> str:
        return f"the node at {node} failed to answer (server error)"


class _NoBatches(Exception):
    """The node answered a batch with something other than one response per call."""


def _error_data(err: Mapping[str, object]) -> bytes | None:
    data = err.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x…"}} or {"result": "0x…"}
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def _env_float(name: str, default: float, *, positive: bool = False) -> float:
    """A number of seconds from the environment; `positive`: 0 refused too (a 0 s socket timeout is a
    non-blocking socket, whose every read fails as if the node were down)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{raw!r} is not a number", where=name) from None
    if not value >= 0 or value == float("inf"):
        raise InputError(f"must be a non-negative number, got {raw}", where=name)
    if positive and value == 0:
        raise InputError(f"must be greater than 0 seconds, got {raw}", where=name)
    return value


def _env_count(name: str, default: int) -> int:
    """A whole number from the environment (a retry count: 0.5 retries is no count at all)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > 6:
        raise InputError(f"must be a whole number of retries (0 or more), got {raw!r}", where=name)
    return int(text)


# What each read's result must look like before any caller touches it (`_check_result`): a node that answers
# `null` for a nonce or a string for a receipt is the node's fault (NodeServerError, retried like one), never a
# TypeError deep in the runner. Methods not listed are checked by their callers (eth_call: `Node.hex_bytes`) or
# not at all (eth_chainId: `Node.__init__` refuses a bad one as bad input).
_QUANTITY_METHODS = frozenset({"eth_getTransactionCount", "eth_blockNumber", "eth_estimateGas", "eth_gasPrice", "eth_maxPriorityFeePerGas",
                               "eth_getBalance"})
_RECEIPT_QUANTITIES = ("blockNumber", "gasUsed", "status", "effectiveGasPrice", "l1Fee")
_TX_QUANTITIES = ("nonce", "gas", "blockNumber", "value")


def is_quantity(value: object) -> bool:
    """A JSON-RPC quantity: "0x" and 1 to 64 hex digits (a uint256 at most)."""
    return isinstance(value, str) and 3 <= len(value) <= 66 and value[:2] in ("0x", "0X") and all(c in _HEX for c in value[2:])


_HEX = frozenset("0123456789abcdefABCDEF")


def is_hex_data(value: object) -> bool:
    """JSON-RPC data: "0x" and an even number of hex digits."""
    return isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) % 2 == 0 and all(c in _HEX for c in value[2:])


def _bad_fields(obj: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of `names` that `obj` holds as something other than a quantity (null counts as absent)."""
    for name in names:
        value = obj.get(name)
        if value is not None and not is_quantity(value):
            return name
    return None


def _result_problem(method: str, result: Any) -> str | None:
    """What is wrong with `result` as an answer to `method`; None when it has the shape its callers read."""
    if method in _QUANTITY_METHODS:
        return None if is_quantity(result) else "the result is not a hex quantity"
    if method == "eth_getTransactionReceipt":
        if result is None:
            return None
        if not isinstance(result, dict):
            return "the result is not a receipt object"
        bad = _bad_fields(result, _RECEIPT_QUANTITIES)
        if bad:
            return f"the receipt's {bad} is not a hex quantity"
        if result.get("blockNumber") is not None and not (is_quantity(result.get("gasUsed")) and isinstance(result.get("transactionHash"), str)):
            return "the mined receipt has no gasUsed or transactionHash"
        return None
    if method == "eth_getTransactionByHash":
        if result is None:
            return None
        if not isinstance(result, dict):
            return "the result is not a transaction object"
        bad = _bad_fields(result, _TX_QUANTITIES)
        return f"the transaction's {bad} is not a hex quantity" if bad else None
    if method == "eth_getBlockByNumber":
        if result is None:
            return None
        if not isinstance(result, dict):
            return "the result is not a block object"
        bad = _bad_fields(result, ("number", "baseFeePerGas"))
        if bad:
            return f"the block's {bad} is not a hex quantity"
        txs = result.get("transactions")
        if txs is not None and (not isinstance(txs, list) or any(isinstance(t, dict) and _bad_fields(t, _TX_QUANTITIES) for t in txs)):
            return "the block's transactions are not transaction objects"
        return None
    if method == "debug_traceTransaction":
        return None if isinstance(result, dict) else "the result is not a call trace object"
    if method == "eth_getCode":
        return None if result is None or is_hex_data(result) else "the result is not hex data"
    if method == "eth_simulateV1":
        if not isinstance(result, list) or not all(isinstance(b, dict) and isinstance(b.get("calls"), list)
                                                   and all(isinstance(c, dict) and _bad_fields(c, ("status", "gasUsed")) is None for c in b["calls"])
                                                   for b in result):
            return "the result is not a list of simulated blocks"
        return None
    if method == "eth_feeHistory":
        if not isinstance(result, dict):
            return "the result is not a fee history object"
        base = result.get("baseFeePerGas")
        if not isinstance(base, list) or not all(is_quantity(b) for b in base):  # empty: `_fees` reads the block instead
            return "the fee history's baseFeePerGas is not a list of hex quantities"
        reward = result.get("reward")
        if reward is not None and not (isinstance(reward, list) and all(isinstance(r, list) and all(is_quantity(x) for x in r) for r in reward)):
            return "the fee history's reward is not a list of hex quantities"
        return None
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Transport:
    """One JSON-RPC POST over a kept-alive HTTP(S) connection; every failure becomes a NodeUnavailable."""

    def __init__(self, url: str, timeout: float, where: str = "node") -> None:
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unclosed IPv6 literal, "http://[::1"
            raise InputError(f"not a valid node URL: {redact(url)} (check the host, e.g. IPv6 in [brackets])", where=where) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"not an http(s) node URL: {redact(url)}", where="node")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        try:
            self.port = parts.port
        except ValueError:
            raise InputError(f"bad port in node URL {redact(url)}", where="node") from None
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "mammon"}
        if parts.username is not None:
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(creds).decode()
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def post(self, method: str, body: bytes, node: str) -> Any:
        """The decoded JSON reply of one attempt."""
        try:
            conn = self._connection()
            conn.request("POST", self.path, body=body, headers=self.headers)
            resp = conn.getresponse()
            payload = resp.read()
            status, retry_after = resp.status, _retry_after(resp.getheader("Retry-After"))
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
        except (TimeoutError, socket.timeout):
            self.close()
            raise NodeTimeout(method, node, f"no answer within {self.timeout:g} s") from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            self.close()
            raise NodeUnreachable(method, node, _describe(exc)) from None
        if status == 429:
            raise NodeRateLimited(method, node, "HTTP 429 Too Many Requests", retry_after=retry_after)
        if status >= 500:
            raise NodeServerError(method, node, f"HTTP {status}", retry_after=retry_after)
        if bracket_depth(payload.decode("utf-8", "replace")) > MAX_REPLY_DEPTH:
            raise NodeServerError(method, node, f"HTTP {status}, the reply nests deeper than {MAX_REPLY_DEPTH} levels")
        try:
            reply = json.loads(payload)
        except (ValueError, RecursionError):
            raise NodeServerError(method, node, f"HTTP {status}, the reply is not JSON") from None
        if status >= 400 and not (isinstance(reply, dict) and "error" in reply):
            raise NodeServerError(method, node, f"HTTP {status}")
        return reply


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead, BrokenPipeError)):
        return "connection closed before a complete answer"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ssl.SSLError):
        return "TLS error"
    return exc.__class__.__name__


class Node:
    """A JSON-RPC node over HTTP(S): `request(method, params)` returns the result or raises (see the module tree)."""

    def __init__(self, url: str, *, timeout: float | None = None, where: str = "--rpc-url", retries: int | None = None) -> None:
        self.url = url
        self.display = redact(url)
        self.timeout = _env_float("MAMMON_RPC_TIMEOUT", 30.0, positive=True) if timeout is None else timeout
        self.retries = _env_count("MAMMON_RPC_RETRIES", 4) if retries is None else retries
        self.backoff = _env_float("MAMMON_RPC_BACKOFF", 0.25)
        self._transport = _Transport(url, self.timeout, where)
        self._lock = threading.Lock()
        self._id = 0
        self._batches = True  # until the node shows it does not take JSON-RPC batches
        try:
            self.chain_id = int(self.request("eth_chainId"), 16)
        except NodeError as exc:
            raise InputError(f"the node at {self.display} answered eth_chainId with an error: {exc.node_message}", where=where) from None
        except NodeUnavailable as exc:
            exc.where, exc.args = where, (f"{where}: {exc.message}",)
            raise exc from None
        except (TypeError, ValueError):
            raise InputError(f"the node at {self.display} answered eth_chainId with something that is not a chain id", where=where) from None

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call; reads are retried on transport trouble, state-changing methods never."""
        attempts = 1 if method in UNSAFE_METHODS else 1 + max(0, self.retries)
        return self._retrying(method, attempts, lambda: self._once(method, params or []))

    def _retrying(self, label: str, attempts: int, once: Callable[[], _T]) -> _T:
        """`once()`, tried again after transport trouble, a rate limit or a server error, with doubling
        backoff (or the node's Retry-After) up to `attempts` tries; then the error, naming `label`."""
        delay = self.backoff
        for attempt in range(1, attempts + 1):
            try:
                return once()
            except NodeUnavailable as exc:
                wait = exc.retry_after if exc.retry_after is not None else delay
                if attempt >= attempts or wait > MAX_RETRY_AFTER:
                    raise exc.__class__(label, self.display, exc.detail, attempts=attempt, retry_after=exc.retry_after) from None
                time.sleep(wait)
                delay = min(delay * 2, MAX_BACKOFF)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, params: list[Any]) -> Any:
        with self._lock:
            self._id += 1
            body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}).encode()
            reply = self._transport.post(method, body, self.display)
        return self._result(method, reply)

    def _result(self, method: str, reply: Any) -> Any:
        """The result of one JSON-RPC response object, or the error it carries (raised)."""
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise NodeServerError(method, self.display, "the reply is not a JSON-RPC response")
        err = reply.get("error")
        if err is not None:
            if not isinstance(err, dict):
                raise NodeError(method, None, str(err)[:300], None, node=self.display)
            code = err.get("code")
            message = str(err.get("message", ""))[:500]
            transient = TRANSIENT_CODES.get(code) if isinstance(code, int) else None
            if transient == "rate" or "rate limit" in message.lower() or "too many requests" in message.lower():
                raise NodeRateLimited(method, self.display, f"JSON-RPC {code}: {message}")
            if transient == "server" and _error_data(err) is None:
                raise NodeServerError(method, self.display, f"JSON-RPC {code}: {message}")
            raise NodeError(method, code if isinstance(code, int) else None, message, _error_data(err), node=self.display)
        result = reply.get("result")
        problem = _result_problem(method, result)
        if problem is not None:
            raise NodeServerError(method, self.display, problem)
        return result

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several reads in one round trip (a JSON-RPC batch): per call, its result or the `NodeError` it got
        (returned, not raised: the caller decides per call, as it would have for separate requests).

        Transport trouble, a rate limit or a server error on any call retries the whole batch, like a read.
        A node that does not take batches (it answers with something other than one response per call)
        gets the calls one by one from then on. State-changing methods are refused: they are never batched."""
        if any(method in UNSAFE_METHODS for method, _ in calls):
            raise ValueError("state-changing methods are sent alone, never in a batch")
        if len(calls) == 1 or not self._batches:
            return [self._each(method, params) for method, params in calls]
        names = "+".join(method for method, _ in calls)
        try:
            return self._retrying(names, 1 + max(0, self.retries), lambda: self._batch_once(calls, names))
        except _NoBatches:
            self._batches = False
            return [self._each(method, params) for method, params in calls]

    def _each(self, method: str, params: list[Any]) -> Any:
        try:
            return self.request(method, params)
        except NodeError as exc:
            return exc

    def _batch_once(self, calls: list[tuple[str, list[Any]]], names: str) -> list[Any]:
        with self._lock:
            first = self._id + 1
            self._id += len(calls)
            body = json.dumps([{"jsonrpc": "2.0", "id": first + n, "method": m, "params": p} for n, (m, p) in enumerate(calls)]).encode()
            try:
                reply = self._transport.post(names, body, self.display)
            except NodeServerError as exc:
                if exc.detail.startswith("HTTP 4"):  # e.g. 400/405/413 for a batch body: not taken here
                    raise _NoBatches() from None
                raise
        if not isinstance(reply, list) or len(reply) != len(calls):
            raise _NoBatches()
        by_id = {r.get("id"): r for r in reply if isinstance(r, dict)}
        if set(by_id) != set(range(first, first + len(calls))):
            raise _NoBatches()
        out: list[Any] = []
        for n, (method, _) in enumerate(calls):
            try:
                out.append(self._result(method, by_id[first + n]))
            except NodeError as exc:
                out.append(exc)
        return out

    def call(self, to: str, data: bytes | str, block: str = "latest", sender: str | None = None) -> bytes:
        tx: dict[str, Any] = {"to": to, "data": data if isinstance(data, str) else "0x" + data.hex()}
        if sender:
            tx["from"] = sender
        return self.hex_bytes("eth_call", self.request("eth_call", [tx, block]))

    def hex_bytes(self, method: str, out: Any) -> bytes:
        """An answer that must be hex data (eth_call's), as bytes; anything else is the node's fault."""
        if out is not None and not isinstance(out, str):
            raise NodeServerError(method, self.display, "the result is not hex data")
        try:
            return bytes.fromhex((out or "0x")[2:])
        except ValueError:
            raise NodeServerError(method, self.display, "the result is not hex data") from None

    def close(self) -> None:
        with self._lock:
            self._transport.close()


_PANICS = {
    0x00: "generic compiler panic", 0x01: "assert failed", 0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero", 0x21: "invalid enum value", 0x22: "corrupt storage byte array",
    0x31: "pop on an empty array", 0x32: "array index out of bounds", 0x41: "out of memory",
    0x51: "call to a zero-initialised function",
}

# Custom errors of the venues' contracts (Aerodrome router/pool, OpenZeppelin 5 ERC-20/ERC-4626 as
# used by Morpho-style vaults, SafeERC20), decoded by selector.
KNOWN_ERRORS = [
    "Expired()", "InsufficientOutputAmount()", "InsufficientAmountA()", "InsufficientAmountB()",
    "InsufficientAmountADesired()", "InsufficientAmountBDesired()", "InsufficientLiquidity()", "InvalidPath()",
    "PoolDoesNotExist()", "PoolFactoryDoesNotExist()", "SameAddresses()", "ZeroAddress()", "StablePoolsNotSupported()",
    "InsufficientLiquidityMinted()", "InsufficientLiquidityBurned()", "InsufficientInputAmount()", "InvalidTo()", "K()",
    "Locked()",
    "ERC20InsufficientBalance(address,uint256,uint256)", "ERC20InsufficientAllowance(address,uint256,uint256)",
    "ERC20InvalidSender(address)", "ERC20InvalidReceiver(address)", "ERC20InvalidApprover(address)", "ERC20InvalidSpender(address)",
    "ERC4626ExceededMaxDeposit(address,uint256,uint256)", "ERC4626ExceededMaxMint(address,uint256,uint256)",
    "ERC4626ExceededMaxWithdraw(address,uint256,uint256)", "ERC4626ExceededMaxRedeem(address,uint256,uint256)",
    "SafeERC20FailedOperation(address)", "AddressEmptyCode(address)", "FailedCall()",
    "InsufficientBalance(uint256,uint256)", "ReentrancyGuardReentrantCall()",
]
_ERRORS_BY_SELECTOR = {function_signature_to_4byte_selector(sig): sig for sig in KNOWN_ERRORS}

# Aave V3 reverts with numeric strings (libraries/helpers/Errors.sol); the ones a plan can meet.
AAVE_ERRORS = {
    "1": "CALLER_NOT_POOL_ADMIN", "23": "CALLER_MUST_BE_POOL", "24": "INVALID_MINT_AMOUNT", "25": "INVALID_BURN_AMOUNT",
    "26": "INVALID_AMOUNT", "27": "RESERVE_INACTIVE", "28": "RESERVE_FROZEN", "29": "RESERVE_PAUSED",
    "32": "NOT_ENOUGH_AVAILABLE_USER_BALANCE", "35": "HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD",
    "43": "UNDERLYING_BALANCE_ZERO", "51": "SUPPLY_CAP_EXCEEDED", "57": "LTV_VALIDATION_FAILED", "82": "ASSET_NOT_LISTED",
    "91": "FLASHLOAN_DISABLED",
}


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    return str(value)


def decode_revert(data: bytes | None, message: str = "") -> str:
    """A human reason for revert data: Error(string), Panic(uint256), a known custom error, or the raw selector."""
    if not data:
        text = message.strip()
        if text and text.lower() not in ("execution reverted", "reverted"):
            return text.removeprefix("execution reverted: ")
        return "reverted without a reason (no revert data)"
    selector, body = data[:4], data[4:]
    try:
        if selector == bytes.fromhex("08c379a0"):
            (reason,) = abi_decode(["string"], body)
            hint = f" (Aave V3 error {reason}: {AAVE_ERRORS[reason]})" if reason in AAVE_ERRORS else ""
            return f'Error("{reason}"){hint}'
        if selector == bytes.fromhex("4e487b71"):
            (code,) = abi_decode(["uint256"], body)
            return f"Panic(0x{code:02x}: {_PANICS.get(code, 'unknown panic code')})"
        sig = _ERRORS_BY_SELECTOR.get(selector)
        if sig:
            types = [t for t in sig[sig.index("(") + 1:-1].split(",") if t]
            values = abi_decode(types, body) if types else ()
            return f"{sig[:sig.index('(')]}({', '.join(_fmt(v) for v in values)})"
    except Exception:  # malformed payload behind a known selector: show it raw
        pass
    return f"custom error 0x{selector.hex()} (unknown selector; revert data 0x{data.hex()[:200]})"

