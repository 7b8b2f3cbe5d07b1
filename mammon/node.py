"""A JSON-RPC node, as every part of mammon that talks to one needs it: live market reads, gas
estimates on a fork, and the rpc and fork runners.

web3's HTTPProvider retries read calls silently unless told not to, which hides a flaky or wrong
node; here retries are off and every error answer is a `NodeError` carrying the revert data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint

from mammon.errors import InputError, MammonError


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

    def __init__(self, method: str, code: int | None, message: str, data: bytes | None) -> None:
        self.method, self.code, self.node_message, self.data = method, code, message, data
        super().__init__(f"{method}: {message}", where="node")



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


class Node:
    """Raw JSON-RPC over web3's HTTP provider, with web3's silent retries turned off."""

    def __init__(self, url: str, *, timeout: float = 30.0, where: str = "--rpc-url") -> None:
        self.url = url
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
        try:
            self.chain_id = int(self.request("eth_chainId"), 16)
        except NodeError as exc:
            raise InputError(f"the node at {redact(url)} answered eth_chainId with an error: {exc.node_message}", where=where) from None
        except Exception as exc:  # requests/urllib3/web3 raise many types for an unreachable node
            raise InputError(f"cannot reach the node at {redact(url)} ({exc.__class__.__name__})", where=where) from None

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        reply = self.w3.provider.make_request(RPCEndpoint(method), params or [])
        err = reply.get("error")
        if err:
            if not isinstance(err, dict):
                raise NodeError(method, None, str(err), None)
            raise NodeError(method, err.get("code"), str(err.get("message", "")), _error_data(err))
        return reply.get("result")

    def call(self, to: str, data: bytes | str, block: str = "latest", sender: str | None = None) -> bytes:
        tx: dict[str, Any] = {"to": to, "data": data if isinstance(data, str) else "0x" + data.hex()}
        if sender:
            tx["from"] = sender
        out = self.request("eth_call", [tx, block])
        return bytes.fromhex((out or "0x")[2:])



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

