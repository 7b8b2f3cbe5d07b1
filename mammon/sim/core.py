"""Building blocks every simulated contract shares: reverts, messages, logs, receipts, `Contract`, and
`Chain`, the narrow interface a contract sees of the chain it lives on.

A contract keeps no Python state of its own beyond its immutables: everything mutable lives in the
chain's journaled storage (`Contract.sload` / `Contract.sstore`), so a transaction is atomic and its
storage writes can be priced (see `mammon.sim.gas`). Imports point one way: `mammon.sim.chain` (which
implements `Chain`) imports the contract models, and the models import only this module.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from mammon.abiencode import encode
from mammon.errors import MammonError
from mammon.hashing import keccak256 as keccak
from mammon.types import checksum_address

MAX_UINT256 = 2**256 - 1
ZERO_ADDRESS = "0x" + "00" * 20


_PANICS = {0x01: "assertion failed", 0x11: "arithmetic overflow or underflow", 0x12: "division by zero"}


class SimRevert(Exception):
    """Raised inside a simulated call: the transaction reverts with `reason` and revert data `data`."""

    def __init__(self, reason: str, data: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data

    @classmethod
    def error(cls, message: str, *, detail: str | None = None) -> SimRevert:
        """`revert("message")` / `require(..., "message")`: revert data is Error(string)."""
        data = keccak(b"Error(string)")[:4] + encode(["string"], [message])
        return cls(f"{message} ({detail})" if detail else message, data)

    @classmethod
    def custom(cls, name: str, types: Sequence[str] = (), values: Sequence[Any] = ()) -> SimRevert:
        """A Solidity custom error, e.g. `Expired()`: revert data is its selector and arguments."""
        data = keccak(f"{name}({','.join(types)})".encode())[:4] + encode(list(types), list(values))
        shown = ", ".join(checksum_address(v) if t == "address" else str(v) for t, v in zip(types, values, strict=True))
        return cls(f"{name}({shown})", data)

    @classmethod
    def panic(cls, code: int) -> SimRevert:
        data = keccak(b"Panic(uint256)")[:4] + encode(["uint256"], [code])
        return cls(f"panic 0x{code:02x} ({_PANICS.get(code, 'panic')})", data)

    @classmethod
    def empty(cls, why: str) -> SimRevert:
        """A revert without data (e.g. a call to an address without code); `why` explains it."""
        return cls(why, b"")


class CallReverted(MammonError):
    """A read-only `SimChain.call` reverted (an eth_call would return the same revert)."""

    def __init__(self, reason: str, data: bytes = b"", *, where: str | None = None) -> None:
        self.reason = reason
        self.data = data
        super().__init__(f"call reverted: {reason}", where=where)


def checked(value: int) -> int:
    """Solidity 0.8 checked arithmetic: a result outside uint256 reverts with Panic(0x11)."""
    if value < 0 or value > MAX_UINT256:
        raise SimRevert.panic(0x11)
    return value


def div(a: int, b: int) -> int:
    if b == 0:
        raise SimRevert.panic(0x12)
    return a // b


# The simulator's internal form of an address: lower-case hex. `str.lower` itself, not a function calling it: a
# transaction normalises twenty-odd addresses, and a Python call frame costs more than the lowering.
addr: Callable[[str], str] = str.lower


@dataclass(frozen=True)
class Msg:
    """msg.sender and msg.value of one (internal or external) call."""

    sender: str
    value: int = 0


@dataclass(frozen=True)
class SimLog:
    address: str
    event: str
    args: dict[str, Any]


@dataclass(frozen=True)
class SimReceipt:
    """The outcome of one `SimChain.send`."""

    tx_hash: str
    status: Literal["ok", "reverted"]
    block: int
    timestamp: int
    sender: str
    to: str
    gas_used: int
    return_data: str = "0x"  # ABI-encoded return values, or the revert data when reverted
    revert_reason: str | None = None
    function: str | None = None  # canonical signature of the called function, when it decoded
    returned: tuple[Any, ...] = ()  # the return values as Python values (empty when reverted)
    logs: tuple[SimLog, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


F = TypeVar("F", bound=Callable[..., Any])


def external(fn: F | None = None, *, view: bool = False, payable: bool = False) -> Any:
    """Mark a method as an ABI entry point (its name is the ABI function name)."""

    def mark(f: F) -> F:
        setattr(f, "_sim_external", True)  # attributes on a function object: setattr, as F declares none
        setattr(f, "_sim_view", view)
        setattr(f, "_sim_payable", payable)
        return f

    return mark(fn) if fn is not None else mark


def py_name(name: str) -> str:
    """ABI argument names that are Python keywords (`from`) get a trailing underscore."""
    return f"{name}_" if keyword.iskeyword(name) else name


C = TypeVar("C", bound="Contract")


class Chain(Protocol):
    """What a contract model may do with its chain (`SimChain` is the implementation): read and write the
    journaled storage, emit logs, call other contracts, move native ETH, deploy a contract, register an undo
    for a change outside storage, and account for the gas of what it does."""

    timestamp: int  # the current block's
    storage: dict[tuple[Any, ...], int]  # slot -> value, a slot not there is 0 (written only through `sstore`)

    def sload(self, key: tuple[Any, ...]) -> int: ...

    def sstore(self, key: tuple[Any, ...], value: int) -> None: ...

    def emit(self, log: SimLog) -> None: ...

    def internal_call(self, caller: str, target: str, function: str, **kwargs: Any) -> Any: ...

    def transfer_native(self, src: str, dst: str, amount: int) -> None: ...

    def deploy(self, contract: C) -> C: ...

    def on_revert(self, undo: Callable[[], object]) -> None: ...

    def touch(self, address: str) -> None: ...

    def charge(self, kind: str, function: str) -> None: ...


class Contract:
    """A simulated contract at `address`; `abis` are the `abis/` files its calldata decodes against."""

    kind: ClassVar[str] = "contract"
    abis: ClassVar[tuple[str, ...]] = ()

    def __init__(self, chain: Chain, address: str, label: str) -> None:
        self.chain = chain
        self.address = addr(address)
        self.label = label

    # ------------------------------------------------------------------ storage and events

    def sload(self, *key: Any) -> int:
        # `chain.sload` read in place: a storage read is the models' commonest operation, one call frame less each
        return self.chain.storage.get((self.address, *key), 0)

    def sstore(self, value: int, *key: Any) -> None:
        self.chain.sstore((self.address, *key), value)

    def emit(self, event: str, **args: Any) -> None:
        self.chain.emit(SimLog(checksum_address(self.address), event, args))

    # ------------------------------------------------------------------ calls

    def call(self, target: str, function: str, **kwargs: Any) -> Any:
        """An internal call from this contract (msg.sender = this contract)."""
        return self.chain.internal_call(self.address, target, function, **kwargs)

    def now(self) -> int:
        return self.chain.timestamp

    def entry(self, function: str) -> Callable[..., Any] | None:
        method = getattr(type(self), function, None)
        if method is None or not getattr(method, "_sim_external", False):
            return None
        return getattr(self, function)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label} at {checksum_address(self.address)}>"
