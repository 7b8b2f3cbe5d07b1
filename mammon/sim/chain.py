"""`SimChain`: an in-memory chain that executes calldata against models of the real protocols.

State is one flat, journaled storage map `(contract, slot…) -> int` plus native balances. Each
`send` is a transaction: it opens a journal (the value of every slot at its first write), runs the
call, and on a revert restores every journaled slot, so nothing a reverted transaction did remains.
The journal also prices the transaction's storage writes (see `mammon.sim.gas`). Its starting state
is built by `mammon.sim.world` from a world file and a chain config.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeVar

from mammon.abi import Function, decode_call, encode_values, load_abi
from mammon.abiencode import encode
from mammon.chains import ChainConfig
from mammon.errors import InputError, MammonError
from mammon.hashing import keccak256 as keccak
from mammon.market import Market
from mammon.sim import gas
from mammon.sim.core import (
    MAX_UINT256, ZERO_ADDRESS, CallReverted, Contract, Msg, SimLog, SimReceipt, SimRevert, addr, py_name,
)
from mammon.sim.tokens import WETH
from mammon.types import checksum_address

BLOCK_TIME = 2  # seconds per block on Base
# A transaction's bookkeeping (touched addresses, execution gas, value calls, logs, undo steps), kept aside while views run
_Outside = tuple[set[str], int, int, list[SimLog], list[Callable[[], object]]]
TX_HASH_PREFIX = "0x5111"  # every simulated transaction hash starts with this ("SIM"), so it never passes for a real one

C = TypeVar("C", bound=Contract)
_TX_FIELDS = ("uint256", "address", "uint256", "address", "uint256", "bytes", "uint256")  # what a simulated tx hash commits to


@dataclass(frozen=True)
class SimTx:
    """A signed (prepared) transaction: `SimChain.broadcast` mines it."""

    tx_hash: str
    sender: str
    to: str
    data: bytes
    value: int
    nonce: int
    gas_limit: int | None = None


class SimSnapshot(NamedTuple):
    """What `SimChain.snapshot` saves: copies of everything mutable (pool registries keyed by id of their contract)."""

    storage: dict[tuple[Any, ...], int]
    nonces: dict[str, int]
    block: int
    timestamp: int
    receipts: dict[str, SimReceipt]
    contracts: dict[str, Contract]
    pools: dict[int, dict[Any, Any]]


def _types(params: Sequence[dict[str, Any]]) -> list[str]:
    def one(p: dict[str, Any]) -> str:
        if p["type"].startswith("tuple"):
            return f"({','.join(one(c) for c in p['components'])}){p['type'][5:]}"
        return str(p["type"])

    return [one(p) for p in params]


class SimChain:
    """An in-memory chain for one world; deterministic: same world and calls give the same receipts."""

    def __init__(self, market: Market, chain: ChainConfig, wallets: Sequence[str], timestamp: int | datetime, *, block: int = 1) -> None:
        self.market = market
        self.config = chain
        self.chain_id = chain.chain_id
        self.wallets = [checksum_address(w) for w in wallets]
        self.timestamp = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)
        self.genesis_timestamp = self.timestamp
        self.block = block
        self.storage: dict[tuple[Any, ...], int] = {}
        self.contracts: dict[str, Contract] = {}
        self.nonces: dict[str, int] = {}
        self.receipts: dict[str, SimReceipt] = {}
        self.notes: list[str] = []  # world entries skipped because the chain does not have them
        self._journal: dict[tuple[Any, ...], int] | None = None
        self._touched: set[str] = set()
        self._exec = 0
        self._value_calls = 0
        self._logs: list[SimLog] = []
        self._undo: list[Callable[[], object]] = []  # return values are ignored
        self._balance_views: dict[str, tuple[str, Contract, object, tuple[str, ...], Callable[..., Any]]] = {}  # see _balance_method
        from mammon.sim.world import build  # the world needs the chain's machinery, not the other way round

        build(self)

    # ------------------------------------------------------------------ storage, used by the contracts

    def sload(self, key: tuple[Any, ...]) -> int:
        return self.storage.get(key, 0)

    def sstore(self, key: tuple[Any, ...], value: int) -> None:
        if value < 0 or value > MAX_UINT256:
            raise SimRevert.panic(0x11)
        if self._journal is not None and key not in self._journal:
            self._journal[key] = self.storage.get(key, 0)
        if value:
            self.storage[key] = value
        else:
            self.storage.pop(key, None)

    def emit(self, log: SimLog) -> None:
        if self._journal is not None:
            self._logs.append(log)

    def touch(self, address: str) -> None:
        self._touched.add(addr(address))

    def charge(self, kind: str, function: str) -> None:
        self._exec += gas.execution(kind, function)

    def deploy(self, contract: C) -> C:
        if contract.address in self.contracts:
            raise InputError(f"two contracts at {checksum_address(contract.address)} "
                             f"({self.contracts[contract.address].label} and {contract.label})", where=f"chain {self.config.name}")
        self.contracts[contract.address] = contract
        self.on_revert(lambda: self.contracts.pop(contract.address, None))
        return contract

    def internal_call(self, caller: str, target: str, function: str, **kwargs: Any) -> Any:
        contract = self.contracts.get(addr(target))
        if contract is None:
            raise SimRevert.empty(f"call to {checksum_address(target)}, which has no code in the simulated chain")
        method = contract.entry(function)
        if method is None:
            raise SimRevert.empty(f"{contract.label} has no function {function} in the simulator")
        self._touched.add(contract.address)  # `touch`: the address is a contract's, lower-case already
        self._exec += gas.execution(contract.kind, function)  # `charge`
        return method(Msg(addr(caller)), **kwargs)

    def transfer_native(self, src: str, dst: str, amount: int) -> None:
        src_key, dst_key = ("native", addr(src)), ("native", addr(dst))
        held = self.sload(src_key)
        if held < amount:
            raise SimRevert.empty(f"native transfer of {amount} wei exceeds the balance of {checksum_address(src)}")
        self.sstore(src_key, held - amount)
        self.sstore(dst_key, self.sload(dst_key) + amount)
        self.touch(dst)
        if self._journal is not None:
            self._value_calls += 1

    # ------------------------------------------------------------------ public API

    def native_balance(self, account: str) -> int:
        return self.sload(("native", addr(account)))

    def contract(self, address: str) -> Contract | None:
        return self.contracts.get(addr(address))

    def sign(self, sender: str, to: str, data: str | bytes, value: int = 0, *, gas_limit: int | None = None) -> SimTx:
        """Prepare a transaction from `sender` at its next nonce: its hash is known before it executes."""
        raw = _bytes(data)
        sender_c, to_c = checksum_address(sender), checksum_address(to)
        nonce = self.nonces.get(addr(sender), 0)
        digest = keccak(tx_preimage(self.chain_id, sender_c, nonce, to_c, value, raw, gas_limit or 0)).hex()
        return SimTx(TX_HASH_PREFIX + digest[len(TX_HASH_PREFIX) - 2:], sender_c, to_c, raw, value, nonce, gas_limit)

    def broadcast(self, tx: SimTx) -> SimReceipt:
        """Mine `tx` in a new block (2 s after the previous one); a revert is a receipt, never an exception.

        Broadcasting a transaction that was already mined returns its receipt again.
        """
        if tx.tx_hash in self.receipts:
            return self.receipts[tx.tx_hash]
        sender = addr(tx.sender)
        expected = self.nonces.get(sender, 0)
        if tx.nonce != expected:
            raise MammonError(f"nonce {tx.nonce} of {tx.tx_hash} is not the sender's next nonce ({expected}): signed against an older state",
                              where="SimChain.broadcast")
        self.block += 1
        self.timestamp += BLOCK_TIME
        self.nonces[sender] = tx.nonce + 1
        status, returned, ret_data, reason, signature, used = self._transaction(tx.sender, tx.to, tx.data, tx.value, tx.gas_limit)
        receipt = SimReceipt(
            tx_hash=tx.tx_hash, status=status, block=self.block, timestamp=self.timestamp, sender=tx.sender, to=tx.to, gas_used=used,
            return_data="0x" + ret_data.hex(), revert_reason=reason, function=signature, returned=returned,
            logs=tuple(self._logs) if status == "ok" else (),
        )
        self._logs = []
        self.receipts[tx.tx_hash] = receipt
        return receipt

    def send(self, sender: str, to: str, data: str | bytes, value: int = 0, *, gas_limit: int | None = None) -> SimReceipt:
        """Sign and mine one transaction; never raises on a revert (see the receipt's status)."""
        return self.broadcast(self.sign(sender, to, data, value, gas_limit=gas_limit))

    def snapshot(self) -> SimSnapshot:
        """Everything mutable, to return to with `revert_to` (tests, previews)."""
        pools = {id(c): dict(registry) for c in self.contracts.values() if isinstance(registry := getattr(c, "pools", None), dict)}
        return SimSnapshot(dict(self.storage), dict(self.nonces), self.block, self.timestamp, dict(self.receipts), dict(self.contracts), pools)

    def revert_to(self, snapshot: SimSnapshot) -> None:
        storage, nonces, block, timestamp, receipts, contracts, pools = snapshot
        self.storage, self.nonces, self.block, self.timestamp = dict(storage), dict(nonces), block, timestamp
        # a transaction that ended in an exception other than a revert (a bug) left its bookkeeping open: closed here
        self._journal, self._touched, self._exec, self._value_calls, self._logs, self._undo = None, set(), 0, 0, [], []
        self.receipts, self.contracts = dict(receipts), dict(contracts)
        for contract in self.contracts.values():
            registry = getattr(contract, "pools", None)
            if id(contract) in pools and isinstance(registry, dict):  # always a dict: snapshot() only saved those
                registry.clear()
                registry.update(pools[id(contract)])

    def on_revert(self, undo: Callable[[], object]) -> None:
        """Register an undo for a non-storage change (a contract deployed inside a transaction)."""
        if self._journal is not None:
            self._undo.append(undo)

    def call(self, to: str, data: str | bytes, *, sender: str = ZERO_ADDRESS, value: int = 0) -> bytes:
        """eth_call: run the call on the current state and discard every change; a revert raises CallReverted."""
        fn, returned, ret_data = self._call_rolled_back(to, _bytes(data), sender, value)
        return ret_data

    def call_function(self, to: str, abi: str, name: str, *args: Any, sender: str = ZERO_ADDRESS) -> Any:
        """Convenience eth_call by ABI name: `call_function(vault, 'morpho/ERC4626', 'previewRedeem', shares)`."""
        fn = load_abi(abi)[name]
        data = fn.selector + encode(_types(fn.inputs), list(args))
        _, returned, _ = self._call_rolled_back(to, data, sender, 0)
        return returned[0] if len(returned) == 1 else returned

    def balance_of(self, token: str, account: str) -> int:
        """ERC-20 balanceOf (any contract with balanceOf: tokens, aTokens, mTokens, shares, LP tokens)."""
        fast = self._view(token, load_abi("erc20/ERC20")["balanceOf"], checksum_address(account))
        if fast is not None:
            return fast
        data = load_abi("erc20/ERC20")["balanceOf"].encode({"account": checksum_address(account)})
        return int.from_bytes(self.call(token, data)[:32], "big")

    def allowance(self, token: str, owner: str, spender: str) -> int:
        fast = self._view(token, load_abi("erc20/ERC20")["allowance"], checksum_address(owner), checksum_address(spender))
        if fast is not None:
            return fast
        data = load_abi("erc20/ERC20")["allowance"].encode({"owner": checksum_address(owner), "spender": checksum_address(spender)})
        return int.from_bytes(self.call(token, data)[:32], "big")

    def balances(self, pairs: Sequence[tuple[str, str]]) -> list[int]:
        """`balance_of` of each (token, account), in order (the reads around every step of an apply): the same
        answers, read in one rolled-back context instead of one each (a read that wrote, an accrual, is undone
        before the next, so each read sees the state as it is)."""
        methods = [self._balance_method(token) for token, _ in pairs]
        if self._journal is not None or None in methods:
            return [self.balance_of(token, account) for token, account in pairs]
        results: list[Any] = []
        plain = True  # every result an int in range so far (what `_is_uint` passes, bar int subclasses: checked below)
        outer = self._views_begin()
        try:
            for method, (token, account) in zip(methods, pairs):
                assert method is not None  # ruled out above
                try:
                    result = method(_VIEW_MSG, checksum_address(account))
                except SimRevert as exc:
                    raise CallReverted(exc.reason, exc.data, where=f"eth_call to {checksum_address(token)}") from None
                results.append(result)
                plain = plain and type(result) is int and 0 <= result <= MAX_UINT256
                if self._journal or self._undo:  # `_views_undo`, called only when the read wrote (an accrual)
                    self._views_undo()
        finally:
            self._views_end(outer)
        if plain or all(map(_is_uint, results)):
            return results
        return [self.balance_of(token, account) for token, account in pairs]  # balance_of says what is wrong

    def _balance_method(self, token: str) -> Callable[..., Any] | None:
        """`_view_method(token, balanceOf)`, remembered per token as written: the contract found and its bound method,
        used while that very contract is still the one at the address (a revert or a deploy may replace it) and its
        class still has that `balanceOf` (a test may patch it), none of its own, and the same ABIs."""
        known = self._balance_views.get(token)
        if known is not None:
            key, contract, function, abis, bound = known
            if (self.contracts.get(key) is contract and getattr(type(contract), "balanceOf", None) is function
                    and "balanceOf" not in vars(contract) and contract.abis is abis):
                return bound
        method = self._view_method(token, load_abi("erc20/ERC20")["balanceOf"])
        if method is None:
            return None
        key = token.lower()
        contract = self.contracts[key]
        self._balance_views[token] = (key, contract, getattr(type(contract), "balanceOf", None), contract.abis, method)
        return method

    def _view_method(self, to: str, fn: Function) -> Callable[..., Any] | None:
        """The contract's method for a uint256 view called by name; None when it cannot be called that way."""
        contract = self.contracts.get(to.lower())
        if contract is None or fn.selector not in _selectors(contract.abis):
            return None
        return contract.entry(fn.name)

    def _view(self, to: str, fn: Function, *args: Any) -> int | None:
        """A uint256 view called by name, without encoding and decoding its calldata (the balance reads around
        every step). None when the contract cannot answer it that way: the caller takes the eth_call path,
        which reports why."""
        method = None if self._journal is not None else self._view_method(to, fn)
        if method is None:
            return None
        outer = self._views_begin()
        try:
            result = method(_VIEW_MSG, *args)
        except SimRevert as exc:
            raise CallReverted(exc.reason, exc.data, where=f"eth_call to {checksum_address(to)}") from None
        finally:
            self._views_end(outer)
        return result if _is_uint(result) else None

    # Views called by name, outside any transaction (the journal is None on entry): what one writes (an accrual) is
    # taken back (`_views_undo`), and at the end; their gas is never reported, so not counted. Three plain methods,
    # not a context manager: the balance reads around every step go through them.

    def _views_begin(self) -> _Outside:
        outer = (self._touched, self._exec, self._value_calls, self._logs, self._undo)
        self._begin()
        return outer

    def _views_undo(self) -> None:
        if self._journal or self._undo:  # nothing to take back after a view that wrote nothing (the usual balanceOf)
            self._rollback()
            self._journal, self._undo = {}, []

    def _views_end(self, outer: _Outside) -> None:
        self._views_undo()
        self._journal = None
        self._touched, self._exec, self._value_calls, self._logs, self._undo = outer

    def receipt(self, tx_hash: str) -> SimReceipt | None:
        return self.receipts.get(tx_hash.lower())

    # ------------------------------------------------------------------ execution

    def _begin(self) -> None:
        self._journal, self._touched, self._exec, self._value_calls, self._logs, self._undo = {}, set(), 0, 0, [], []

    def _rollback(self) -> None:
        assert self._journal is not None
        for undo in reversed(self._undo):
            undo()
        for key, before in self._journal.items():
            if before:
                self.storage[key] = before
            else:
                self.storage.pop(key, None)

    def _gas(self, sender: str, to: str, data: bytes) -> int:
        assert self._journal is not None
        cold = self._touched - {addr(sender), addr(to)}
        return (gas.INTRINSIC + gas.calldata_gas(data) + gas.storage_gas(self._journal, self.storage) + gas.COLD_ACCOUNT * len(cold)
                + gas.CALL_VALUE * self._value_calls + self._exec)

    def _transaction(self, sender: str, to: str, data: bytes, value: int, gas_limit: int | None
                     ) -> tuple[Literal["ok", "reverted"], tuple[Any, ...], bytes, str | None, str | None, int]:
        self._begin()
        signature: str | None = None
        status: Literal["ok", "reverted"]
        try:
            if value and self.native_balance(sender) < value:
                raise SimRevert.empty(f"insufficient funds: {checksum_address(sender)} holds {self.native_balance(sender)} wei, sends {value}")
            if value:
                self.transfer_native(sender, to, value)
                self._value_calls -= 1  # the top-level value transfer is part of the intrinsic cost
            fn, returned, ret_data = self._execute(sender, to, data, value)
            signature = fn.signature if fn else None
            status, reason = "ok", None
        except SimRevert as exc:
            returned, ret_data, status, reason = (), exc.data, "reverted", exc.reason
            signature = signature or self._signature(to, data)
        used = self._gas(sender, to, data)
        if gas_limit is not None and used > gas_limit:
            status, reason, returned, ret_data, used = "reverted", f"out of gas (needs {used}, limit {gas_limit})", (), b"", gas_limit
        if status != "ok":
            self._rollback()
        self._journal = None
        return status, returned, ret_data, reason, signature, used

    def _call_rolled_back(self, to: str, data: bytes, sender: str, value: int) -> tuple[Function | None, tuple[Any, ...], bytes]:
        outer = (self._journal, self._touched, self._exec, self._value_calls, self._logs, self._undo)
        if self._journal is not None:
            raise MammonError("SimChain.call inside a transaction")
        self._begin()
        try:
            if value:
                self.storage[("native", addr(sender))] = self.native_balance(sender) + value  # eth_call may send value freely
                self.transfer_native(sender, to, value)
            return self._execute(sender, to, data, value)
        except SimRevert as exc:
            raise CallReverted(exc.reason, exc.data, where=f"eth_call to {checksum_address(to)}") from None
        finally:
            self._rollback()
            self._journal, self._touched, self._exec, self._value_calls, self._logs, self._undo = outer

    def _signature(self, to: str, data: bytes) -> str | None:
        contract = self.contracts.get(addr(to))
        fn = self._function(contract, data) if contract else None
        return fn.signature if fn else None

    @staticmethod
    def _function(contract: Contract, data: bytes) -> Function | None:
        return _selectors(contract.abis).get(bytes(data[:4]))

    def _execute(self, sender: str, to: str, data: bytes, value: int) -> tuple[Function | None, tuple[Any, ...], bytes]:
        contract = self.contracts.get(addr(to))
        if contract is None:
            if data:
                raise SimRevert.empty(f"no contract at {checksum_address(to)} in the simulated chain "
                                      f"(not in the {self.config.name} chain config)")
            return None, (), b""  # plain native transfer to an account without code
        self._touched.add(contract.address)  # `touch`: the address is a contract's, lower-case already
        if not data:
            if isinstance(contract, WETH):
                self.charge(contract.kind, "deposit")
                contract.deposit(Msg(addr(sender), value))
                return None, (), b""
            raise SimRevert.empty(f"{contract.label} has no receive/fallback function")
        if len(data) < 4:
            raise SimRevert.empty(f"calldata 0x{data.hex()} is shorter than a selector")
        fn = self._function(contract, data)
        if fn is None:
            raise SimRevert.empty(f"{contract.label} ({checksum_address(to)}) has no function with selector 0x{data[:4].hex()} "
                                  f"(ABIs: {', '.join(contract.abis)})")
        try:
            args = fn.decode_args(data)
        except Exception:  # eth-abi raises several decoding errors: let decode_call word the message
            try:
                _, args = decode_call("0x" + data.hex(), abi=fn.abi_file)
            except MammonError as exc:
                raise SimRevert.empty(f"calldata does not decode: {exc}") from None
        method = contract.entry(fn.name)
        if method is None:
            raise SimRevert.empty(f"sim: {contract.label} does not model {fn.signature}")
        if value and not getattr(method, "_sim_payable", False):
            raise SimRevert.empty(f"{fn.signature} is not payable (msg.value = {value})")
        self._exec += gas.execution(contract.kind, fn.name)  # `charge`
        # `args` is a new dict (decode_args): passed as it is unless a name is a Python keyword (`from`)
        result = method(Msg(addr(sender), value), **(args if _KEYWORDS.isdisjoint(args) else {py_name(k): v for k, v in args.items()}))
        outputs = fn.output_types
        values: tuple[Any, ...]
        if len(outputs) == 1:
            values = (_normalise(outputs[0], result),)
        else:
            values = tuple(_normalise(t, v) for t, v in zip(outputs, () if not outputs else tuple(result), strict=True))
        return fn, values, _encoded(outputs, values)


_VIEW_MSG = Msg(ZERO_ADDRESS, 0)  # msg of an eth_call from nobody (frozen, so one serves every view)


@lru_cache(maxsize=None)
def _selectors(abis: tuple[str, ...]) -> dict[bytes, Function]:
    """Selector -> function over a contract's ABI files (the first file wins, as listed)."""
    found: dict[bytes, Function] = {}
    for abi in abis:
        for fn in load_abi(abi).values():
            found.setdefault(fn.selector, fn)
    return found


def tx_preimage(chain_id: int, sender: str, nonce: int, to: str, value: int, data: bytes, gas_limit: int) -> bytes:
    """What a simulated transaction hash commits to: `abi.encode(uint256 chainId, address sender, uint256 nonce,
    address to, uint256 value, bytes data, uint256 gasLimit)`, laid out directly (every transaction has a new
    nonce, so nothing to memoise; eth-abi would spend most of a simulated send on it). Out-of-range numbers go
    through eth-abi, which refuses them."""
    if not (type(chain_id) is type(nonce) is type(value) is type(gas_limit) is int  # `_word` of each, in one expression
            and 0 <= chain_id <= MAX_UINT256 and 0 <= nonce <= MAX_UINT256 and 0 <= value <= MAX_UINT256 and 0 <= gas_limit <= MAX_UINT256):
        return encode_values(_TX_FIELDS, [chain_id, sender, nonce, to, value, data, gas_limit])
    return b"".join((chain_id.to_bytes(32, "big"), _ADDRESS_PAD, bytes.fromhex(sender[2:]), nonce.to_bytes(32, "big"), _ADDRESS_PAD,
                     bytes.fromhex(to[2:]), value.to_bytes(32, "big"), _DATA_OFFSET, gas_limit.to_bytes(32, "big"),
                     len(data).to_bytes(32, "big"), data, bytes(-len(data) % 32)))


_ADDRESS_PAD, _DATA_OFFSET = bytes(12), (32 * 7).to_bytes(32, "big")  # an address word's zero bytes; where `data` starts


def _word(value: object) -> bool:
    """A uint256 (a bool is not one)."""
    return type(value) is int and 0 <= value <= MAX_UINT256


def _is_uint(value: object) -> bool:
    """A uint256 a view returned (an int subclass other than bool passes, as an eth_call's result would)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UINT256


def _encoded(types: list[str], values: tuple[Any, ...]) -> bytes:
    """`encode_values(types, values)`, laid out here when every value is one word it encodes to directly (a uint256
    int, a bool): what the models return from most calls (an amount, a success flag), without the memo's key."""
    words = []
    for kind, value in zip(types, values):
        if kind == "uint256" and _word(value):
            words.append(value.to_bytes(32, "big"))
        elif kind == "bool" and type(value) is bool:
            words.append(_TRUE if value else _FALSE)
        else:
            return encode_values(types, values)
    return b"".join(words)


_TRUE, _FALSE = (1).to_bytes(32, "big"), bytes(32)
_KEYWORDS = frozenset(keyword.kwlist)  # the names `py_name` renames (keyword.iskeyword)


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return checksum_address(value)
    if kind.endswith("[]") and isinstance(value, (list, tuple)):
        return [_normalise(kind[:-2], v) for v in value]
    return value


def _bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    text = data.removeprefix("0x")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InputError(f"calldata {data[:18]}… is not hex", where="SimChain.send") from None
