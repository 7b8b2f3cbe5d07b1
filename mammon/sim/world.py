"""`SimChain`: an in-memory chain that executes calldata against models of the real protocols.

State is one flat, journaled storage map `(contract, slot…) -> int` plus native balances. Each
`send` is a transaction: it opens a journal (the value of every slot at its first write), runs the
call, and on a revert restores every journaled slot, so nothing a reverted transaction did remains.
The journal also prices the transaction's storage writes (see `mammon.sim.gas`).

The world (the starting state) comes from a `Market` (the world file format) and a `ChainConfig`
(the addresses): tokens and the venues' contracts from the chain config, venue state from
`market.venues` (validated by each venue model, errors name the field), holdings from
`market.holdings[address]` or, for the given wallets, `market.portfolio`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple, TypeVar

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from mammon.abi import Function, decode_call, load_abi
from mammon.chains import ChainConfig
from mammon.errors import InputError, MammonError
from mammon.files import parse_model
from mammon.market import Market, Portfolio
from mammon.sim import gas
from mammon.sim.aave_v3 import AavePool, AaveState, AToken, ReserveState, ray_div
from mammon.sim.aerodrome import AerodromePool, AerodromeRouter, AerodromeState, sort_tokens
from mammon.sim.core import (
    MAX_UINT256, ZERO_ADDRESS, CallReverted, Contract, Msg, SimLog, SimReceipt, SimRevert, addr, py_name,
)
from mammon.sim.moonwell import EXP_SCALE, MoonwellState, MToken, default_exchange_rate
from mammon.sim.morpho import MorphoState, Vault
from mammon.sim.tokens import ERC20, WETH
from mammon.sim.uniswap_v3 import SwapRouter02, UniswapState, V3Pool
from mammon.units import parse_amount

BLOCK_TIME = 2  # seconds per block on Base
NATIVE = "ETH"  # the symbol a portfolio uses for the native balance
CASH_UNITS = 1_000_000  # underlying units each lending market holds beyond the world's positions
TX_HASH_PREFIX = "0x5111"  # every simulated transaction hash starts with this ("SIM"), so it never passes for a real one
VENUES = ("aave_v3", "moonwell", "morpho", "uniswap_v3", "aerodrome")

C = TypeVar("C", bound=Contract)


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
        self.wallets = [to_checksum_address(w) for w in wallets]
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
        _build(self)

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
            raise InputError(f"two contracts at {to_checksum_address(contract.address)} "
                             f"({self.contracts[contract.address].label} and {contract.label})", where=f"chain {self.config.name}")
        self.contracts[contract.address] = contract
        self.on_revert(lambda: self.contracts.pop(contract.address, None))
        return contract

    def internal_call(self, caller: str, target: str, function: str, **kwargs: Any) -> Any:
        contract = self.contracts.get(addr(target))
        if contract is None:
            raise SimRevert.empty(f"call to {to_checksum_address(target)}, which has no code in the simulated chain")
        method = contract.entry(function)
        if method is None:
            raise SimRevert.empty(f"{contract.label} has no function {function} in the simulator")
        self.touch(contract.address)
        self.charge(contract.kind, function)
        return method(Msg(sender=addr(caller)), **kwargs)

    def transfer_native(self, src: str, dst: str, amount: int) -> None:
        src_key, dst_key = ("native", addr(src)), ("native", addr(dst))
        held = self.sload(src_key)
        if held < amount:
            raise SimRevert.empty(f"native transfer of {amount} wei exceeds the balance of {to_checksum_address(src)}")
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
        sender_c, to_c = to_checksum_address(sender), to_checksum_address(to)
        nonce = self.nonces.get(addr(sender), 0)
        digest = keccak(encode(["uint256", "address", "uint256", "address", "uint256", "bytes", "uint256"],
                               [self.chain_id, sender_c, nonce, to_c, value, raw, gas_limit or 0])).hex()
        return SimTx(TX_HASH_PREFIX + digest[len(TX_HASH_PREFIX) - 2:], sender_c, to_c, raw, value, nonce, gas_limit)

    def broadcast(self, tx: SimTx) -> SimReceipt:
        """Mine `tx` in a new block (2 s after the previous one); a revert is a receipt, never an exception.

        Broadcasting a transaction that was already mined returns its receipt again.
        """
        if tx.tx_hash in self.receipts:
            return self.receipts[tx.tx_hash]
        expected = self.nonces.get(addr(tx.sender), 0)
        if tx.nonce != expected:
            raise MammonError(f"nonce {tx.nonce} of {tx.tx_hash} is not the sender's next nonce ({expected}): signed against an older state",
                              where="SimChain.broadcast")
        self.block += 1
        self.timestamp += BLOCK_TIME
        self.nonces[addr(tx.sender)] = tx.nonce + 1
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
        data = load_abi("erc20/ERC20")["balanceOf"].encode({"account": to_checksum_address(account)})
        return int.from_bytes(self.call(token, data)[:32], "big")

    def allowance(self, token: str, owner: str, spender: str) -> int:
        data = load_abi("erc20/ERC20")["allowance"].encode({"owner": to_checksum_address(owner), "spender": to_checksum_address(spender)})
        return int.from_bytes(self.call(token, data)[:32], "big")

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
        changes = {k: (v, self.storage.get(k, 0)) for k, v in self._journal.items() if k[0] != "native"}
        cold = self._touched - {addr(sender), addr(to)}
        return (gas.INTRINSIC + gas.calldata_gas(data) + gas.storage_gas(changes) + gas.COLD_ACCOUNT * len(cold)
                + gas.CALL_VALUE * self._value_calls + self._exec)

    def _transaction(self, sender: str, to: str, data: bytes, value: int, gas_limit: int | None
                     ) -> tuple[Literal["ok", "reverted"], tuple[Any, ...], bytes, str | None, str | None, int]:
        self._begin()
        signature: str | None = None
        status: Literal["ok", "reverted"]
        try:
            if value and self.native_balance(sender) < value:
                raise SimRevert.empty(f"insufficient funds: {to_checksum_address(sender)} holds {self.native_balance(sender)} wei, sends {value}")
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
            raise CallReverted(exc.reason, exc.data, where=f"eth_call to {to_checksum_address(to)}") from None
        finally:
            self._rollback()
            self._journal, self._touched, self._exec, self._value_calls, self._logs, self._undo = outer

    def _signature(self, to: str, data: bytes) -> str | None:
        contract = self.contracts.get(addr(to))
        fn = self._function(contract, data) if contract else None
        return fn.signature if fn else None

    @staticmethod
    def _function(contract: Contract, data: bytes) -> Function | None:
        for abi in contract.abis:
            for fn in load_abi(abi).values():
                if fn.selector == data[:4]:
                    return fn
        return None

    def _execute(self, sender: str, to: str, data: bytes, value: int) -> tuple[Function | None, tuple[Any, ...], bytes]:
        contract = self.contracts.get(addr(to))
        if contract is None:
            if data:
                raise SimRevert.empty(f"no contract at {to_checksum_address(to)} in the simulated chain "
                                      f"(not in the {self.config.name} chain config)")
            return None, (), b""  # plain native transfer to an account without code
        self.touch(contract.address)
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
            raise SimRevert.empty(f"{contract.label} ({to_checksum_address(to)}) has no function with selector 0x{data[:4].hex()} "
                                  f"(ABIs: {', '.join(contract.abis)})")
        try:
            _, args = decode_call("0x" + data.hex(), abi=fn.abi_file)
        except MammonError as exc:
            raise SimRevert.empty(f"calldata does not decode: {exc}") from None
        method = contract.entry(fn.name)
        if method is None:
            raise SimRevert.empty(f"sim: {contract.label} does not model {fn.signature}")
        if value and not getattr(method, "_sim_payable", False):
            raise SimRevert.empty(f"{fn.signature} is not payable (msg.value = {value})")
        self.charge(contract.kind, fn.name)
        result = method(Msg(addr(sender), value), **{py_name(k): v for k, v in args.items()})
        outputs = _types(fn.outputs)
        values: tuple[Any, ...] = () if not outputs else (result,) if len(outputs) == 1 else tuple(result)
        values = tuple(_normalise(t, v) for t, v in zip(outputs, values, strict=True))
        return fn, values, encode(outputs, list(values))


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
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


# ---------------------------------------------------------------------- world loading


def _units(text: str, decimals: int, symbol: str, where: str) -> int:
    """Token units (human) to base units; '0' is allowed here, 'max' means 2**256-1 (allowances)."""
    clean = str(text).strip()
    if clean.lower() in ("max", "unlimited"):
        return MAX_UINT256
    try:
        if Decimal(clean.replace("_", "").replace(",", "")) == 0:
            return 0
    except InvalidOperation:
        pass
    return parse_amount(clean, decimals, symbol=symbol, where=where)


class _World:
    """What `_build` deploys, by the names a world file uses."""

    def __init__(self) -> None:
        self.tokens: dict[str, ERC20] = {}
        self.a_tokens: dict[str, AToken] = {}
        self.m_tokens: dict[str, MToken] = {}
        self.vaults: dict[str, tuple[Vault, Any]] = {}  # asset symbol (first vault) and vault name -> (vault, state)
        self.aero_pools: dict[str, tuple[AerodromePool, Any]] = {}  # "A/B" -> (pool, state)
        self.rates: dict[str, int] = {}


def _build(chain: SimChain) -> None:
    cfg, market = chain.config, chain.market
    for venue in market.venues:
        if venue not in VENUES:
            raise InputError(f"unknown venue {venue!r} (the simulator models {', '.join(VENUES)})", where=f"world venues.{venue}")
    w = _World()
    for token in cfg.tokens:
        cls = WETH if token.symbol == "WETH" else ERC20
        w.tokens[token.symbol] = chain.deploy(cls(chain, token.address, f"{token.symbol} token", token.symbol, token.decimals))
    if "aave_v3" in cfg.protocols:
        _aave(chain, w)
    if "moonwell" in cfg.protocols:
        _moonwell(chain, w)
    if "morpho" in cfg.protocols:
        _morpho(chain, w)
    if "uniswap_v3" in cfg.protocols:
        _uniswap(chain, w)
    if "aerodrome" in cfg.protocols:
        _aerodrome(chain, w)
    funded: dict[str, tuple[Portfolio, str]] = {}
    for wallet in chain.wallets:
        portfolio = market.portfolio_of(wallet)
        listed = any(a.lower() == wallet.lower() for a in market.holdings)
        if portfolio is not None:
            funded[addr(wallet)] = (portfolio, f"world holdings.{wallet}" if listed else "world portfolio")
    for owner, portfolio in sorted(market.holdings.items()):
        funded.setdefault(addr(owner), (portfolio, f"world holdings.{owner}"))
    for owner, (portfolio, where) in funded.items():
        _fund(chain, w, owner, portfolio, where)
    _finish(chain, w)


def _state(chain: SimChain, venue: str, model: type[Any]) -> Any:
    return parse_model(model, chain.market.venues.get(venue) or {}, where=f"world venues.{venue}")


def _skip(chain: SimChain, message: str) -> None:
    chain.notes.append(message)


def _aave(chain: SimChain, w: _World) -> None:
    from mammon.protocols.aave_v3 import AaveConfig

    config = chain.config.section("aave_v3", AaveConfig)
    state: AaveState = _state(chain, "aave_v3", AaveState)
    pool = AavePool(chain, config.pool, "Aave V3 Pool")
    chain.deploy(pool)
    for symbol in state.reserves:
        if symbol not in config.a_tokens or symbol not in w.tokens:
            _skip(chain, f"world venues.aave_v3.reserves.{symbol}: no such Aave reserve on {chain.config.name}; ignored")
    for symbol, a_address in config.a_tokens.items():
        if symbol not in w.tokens:
            _skip(chain, f"Aave a{symbol}: {symbol} is not a token of {chain.config.name}; reserve not simulated")
            continue
        token = w.tokens[symbol]
        reserve = state.reserves.get(symbol) or ReserveState()
        if reserve.liquidity_index <= 0:
            raise InputError("liquidity_index must be positive (ray, 1e27 = 1.0)", where=f"world venues.aave_v3.reserves.{symbol}.liquidity_index")
        a_token = AToken(chain, a_address, f"Aave a{symbol}", symbol=f"a{symbol}", decimals=token.decimals_, underlying=token.address,
                         reserve=reserve, since=chain.timestamp)
        chain.deploy(a_token)
        pool.add_reserve(a_token)
        w.a_tokens[symbol] = a_token


def _moonwell(chain: SimChain, w: _World) -> None:
    from mammon.protocols.moonwell import MoonwellConfig

    config = chain.config.section("moonwell", MoonwellConfig)
    state: MoonwellState = _state(chain, "moonwell", MoonwellState)
    for symbol in state.markets:
        if symbol not in config.markets or symbol not in w.tokens:
            _skip(chain, f"world venues.moonwell.markets.{symbol}: no such Moonwell market on {chain.config.name}; ignored")
    for symbol, m_address in config.markets.items():
        if symbol not in w.tokens:
            _skip(chain, f"Moonwell m{symbol}: {symbol} is not a token of {chain.config.name}; market not simulated")
            continue
        token = w.tokens[symbol]
        rate = state.markets[symbol].exchange_rate if symbol in state.markets else default_exchange_rate(token.decimals_, config.m_token_decimals)
        if rate <= 0:
            raise InputError("exchange_rate must be positive (1e18-scaled)", where=f"world venues.moonwell.markets.{symbol}.exchange_rate")
        m_token = MToken(chain, m_address, f"Moonwell m{symbol}", symbol=f"m{symbol}", underlying=token.address,
                         decimals=config.m_token_decimals, pays_native=symbol in config.redeems_native)
        chain.deploy(m_token)
        m_token.set_exchange_rate(rate)
        w.m_tokens[symbol] = m_token


def _morpho(chain: SimChain, w: _World) -> None:
    from mammon.protocols.morpho import MorphoConfig

    config = chain.config.section("morpho", MorphoConfig)
    state: MorphoState = _state(chain, "morpho", MorphoState)
    known = set(config.vaults) | {v.asset for v in config.vaults.values()}
    for key in state.vaults:
        if key not in known:
            _skip(chain, f"world venues.morpho.vaults.{key}: no such Morpho vault or vault asset on {chain.config.name}; ignored")
    for name, entry in config.vaults.items():
        if entry.asset not in w.tokens:
            _skip(chain, f"Morpho vault {name}: {entry.asset} is not a token of {chain.config.name}; vault not simulated")
            continue
        token = w.tokens[entry.asset]
        vault = Vault(chain, entry.address, f"Morpho vault {name}", asset=token.address, asset_decimals=token.decimals_, vault_kind=entry.kind)
        chain.deploy(vault)
        # the compiler uses the first vault of an asset: the asset-keyed state (and position) belong to it
        vault_state = state.vaults.get(name) or (state.vaults.get(entry.asset) if entry.asset not in w.vaults else None)
        w.vaults[name] = (vault, vault_state)
        w.vaults.setdefault(entry.asset, (vault, vault_state))


def _uniswap(chain: SimChain, w: _World) -> None:
    from mammon.protocols.uniswap_v3 import UniswapConfig, pool_address

    config = chain.config.section("uniswap_v3", UniswapConfig)
    state: UniswapState = _state(chain, "uniswap_v3", UniswapState)
    router = SwapRouter02(chain, config.swap_router02, "Uniswap SwapRouter02")
    chain.deploy(router)
    keys = {f"{e.token_a}/{e.token_b}" for e in config.pools}
    for key in state.pools:
        if key not in keys:
            _skip(chain, f"world venues.uniswap_v3.pools.{key}: no such Uniswap V3 pool in the {chain.config.name} chain config; ignored")
    for entry in config.pools:
        key = f"{entry.token_a}/{entry.token_b}"
        if entry.token_a not in w.tokens or entry.token_b not in w.tokens:
            _skip(chain, f"Uniswap V3 pool {key}: a token is not on {chain.config.name}; pool not simulated")
            continue
        a, b = w.tokens[entry.token_a], w.tokens[entry.token_b]
        if entry.address:
            address = entry.address
        elif config.pool_init_code_hash:
            address = pool_address(config.factory, config.pool_init_code_hash, to_checksum_address(a.address), to_checksum_address(b.address), entry.fee)
        else:
            raise InputError(f"Uniswap V3 pool {key} has no address and the chain config has no pool_init_code_hash", where=f"chain {chain.config.name}: protocols.uniswap_v3")
        token0, token1 = sort_tokens(a.address, b.address)
        pool = V3Pool(chain, address, f"Uniswap V3 {key} pool", token0=token0, token1=token1, fee=entry.fee)
        chain.deploy(pool)
        router.add_pool(pool)
        reserves = state.pools.get(key)
        if reserves is not None:
            by_token = {a.address: reserves.reserve_a, b.address: reserves.reserve_b}
            pool.sstore(by_token[token0], "reserve0")
            pool.sstore(by_token[token1], "reserve1")
            a.mint_to(pool.address, reserves.reserve_a)
            b.mint_to(pool.address, reserves.reserve_b)


def _aerodrome(chain: SimChain, w: _World) -> None:
    from mammon.protocols.aerodrome import AerodromeConfig

    config = chain.config.section("aerodrome", AerodromeConfig)
    state: AerodromeState = _state(chain, "aerodrome", AerodromeState)
    router = AerodromeRouter(chain, config.router, "Aerodrome Router", factory=config.pool_factory)
    chain.deploy(router)
    keys = {f"{e.token_a}/{e.token_b}" for e in config.pools}
    for key in state.pools:
        if key not in keys:
            _skip(chain, f"world venues.aerodrome.pools.{key}: no such Aerodrome pool in the {chain.config.name} chain config; ignored")
    for entry in config.pools:
        key = f"{entry.token_a}/{entry.token_b}"
        if entry.stable or entry.token_a not in w.tokens or entry.token_b not in w.tokens:
            _skip(chain, f"Aerodrome pool {key}: stable, or a token not on {chain.config.name}; pool not simulated")
            continue
        a, b = w.tokens[entry.token_a], w.tokens[entry.token_b]
        token0, token1 = sort_tokens(a.address, b.address)
        pool = AerodromePool(chain, entry.address, f"Aerodrome vAMM-{key} pool", token0=token0, token1=token1)
        chain.deploy(pool)
        router.add_pool(pool)
        pool_state = state.pools.get(key)
        w.aero_pools[key] = (pool, pool_state)
        if pool_state is not None:
            by_token = {a.address: pool_state.reserve_a, b.address: pool_state.reserve_b}
            pool.sstore(by_token[token0], "reserve0")
            pool.sstore(by_token[token1], "reserve1")
            pool.sstore(chain.timestamp, "blockTimestampLast")
            a.mint_to(pool.address, pool_state.reserve_a)
            b.mint_to(pool.address, pool_state.reserve_b)


def _fund(chain: SimChain, w: _World, owner: str, portfolio: Portfolio, where: str) -> None:
    for symbol, text in portfolio.wallet.items():
        field = f"{where}.wallet.{symbol}"
        if symbol == NATIVE:
            chain.storage[("native", owner)] = chain.native_balance(owner) + _units(text, 18, NATIVE, field)
        elif symbol in w.tokens:
            token = w.tokens[symbol]
            token.mint_to(owner, _units(text, token.decimals_, symbol, field))
        else:
            _skip(chain, f"{field}: {symbol} is not a token of {chain.config.name}; not funded")
    for venue, positions in portfolio.positions.items():
        for key, text in positions.items():
            raw = portfolio.shares.get(venue, {}).get(key)
            _position(chain, w, owner, venue, key, text, f"{where}.positions.{venue}.{key}", _raw(raw, f"{where}.shares.{venue}.{key}"))
    for venue, raws in portfolio.shares.items():
        for key, raw in raws.items():
            if key not in portfolio.positions.get(venue, {}):
                _position(chain, w, owner, venue, key, "0", f"{where}.shares.{venue}.{key}", _raw(raw, f"{where}.shares.{venue}.{key}"))
    for i, allowance in enumerate(portfolio.allowances):
        field = f"{where}.allowances[{i}]"
        if allowance.token not in w.tokens:
            _skip(chain, f"{field}: {allowance.token} is not a token of {chain.config.name}; ignored")
            continue
        token = w.tokens[allowance.token]
        chain.storage[(token.address, "allowance", owner, addr(allowance.spender))] = _units(allowance.amount, token.decimals_, allowance.token, f"{field}.amount")


def _raw(text: str | None, field: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(f"expected a raw integer balance, got {text!r}", where=field) from None
    if value < 0:
        raise InputError("a raw balance cannot be negative", where=field)
    return value


def _position(chain: SimChain, w: _World, owner: str, venue: str, key: str, text: str, field: str, raw: int | None = None) -> None:
    """Fund one position; `raw` (from `shares`, as read from a node) is the exact mToken / vault-share balance."""
    if venue not in VENUES:
        raise InputError(f"unknown venue {venue!r} (the simulator models {', '.join(VENUES)})", where=field)
    if venue == "aerodrome":
        if key not in w.aero_pools:
            _skip(chain, f"{field}: no Aerodrome {key} pool on {chain.config.name}; not funded")
            return
        pool, _ = w.aero_pools[key]
        lp = _units(text, 18, f"vAMM-{key}", field)
        pool.sstore(pool.balance(owner) + lp, "balance", owner)
        pool.sstore(pool.sload("positions") + lp, "positions")
        return
    if venue == "uniswap_v3":
        raise InputError("the simulator holds no Uniswap V3 positions (swaps only)", where=field)
    if key not in w.tokens:
        _skip(chain, f"{field}: {key} is not a token of {chain.config.name}; not funded")
        return
    token = w.tokens[key]
    amount = _units(text, token.decimals_, key, field)
    if venue == "aave_v3":
        if key not in w.a_tokens:
            _skip(chain, f"{field}: no Aave {key} reserve on {chain.config.name}; not funded")
            return
        a_token = w.a_tokens[key]
        scaled = ray_div(amount, a_token.index())
        a_token.sstore(a_token.scaled(owner) + scaled, "scaled", owner)
        a_token.sstore(a_token.sload("scaledSupply") + scaled, "scaledSupply")
        token.mint_to(a_token.address, amount)
    elif venue == "moonwell":
        if key not in w.m_tokens:
            _skip(chain, f"{field}: no Moonwell {key} market on {chain.config.name}; not funded")
            return
        m_token = w.m_tokens[key]
        tokens = raw if raw is not None else amount * EXP_SCALE // m_token.rate()
        m_token.sstore(m_token.tokens_of(owner) + tokens, "balance", owner)
        m_token.sstore(m_token.sload("totalSupply") + tokens, "totalSupply")
        token.mint_to(m_token.address, tokens * m_token.rate() // EXP_SCALE)
    else:  # morpho
        if key not in w.vaults:
            _skip(chain, f"{field}: no Morpho {key} vault on {chain.config.name}; not funded")
            return
        vault, state = w.vaults[key]
        if state is None:
            raise InputError(f"a Morpho {key} position needs the vault's state: add venues.morpho.vaults.{key} (total_assets, total_supply)", where=field)
        shares = raw if raw is not None else amount * (state.total_supply + 10**vault.offset) // (state.total_assets + 1)
        vault.sstore(vault.balance(owner) + shares, "balance", owner)
        vault.sstore(vault.sload("positions") + shares, "positions")


def _finish(chain: SimChain, w: _World) -> None:
    """Venue cash and totals once every position is in: markets hold cash, pools and vaults their state."""
    for symbol, a_token in w.a_tokens.items():
        token = w.tokens[symbol]
        cash = CASH_UNITS * 10**token.decimals_
        token.mint_to(a_token.address, cash)
        a_token.sstore(a_token.sload("scaledSupply") + ray_div(cash, a_token.index()), "scaledSupply")
    for symbol, m_token in w.m_tokens.items():
        token = w.tokens[symbol]
        cash = CASH_UNITS * 10**token.decimals_
        token.mint_to(m_token.address, cash)
        m_token.sstore(m_token.sload("totalSupply") + cash * EXP_SCALE // m_token.rate(), "totalSupply")
    seen: set[str] = set()
    for key, (vault, state) in w.vaults.items():
        if vault.address in seen:
            continue
        seen.add(vault.address)
        held = vault.sload("positions")
        vault.sstore(0, "positions")
        if state is None:
            continue
        if held > state.total_supply:
            raise InputError(f"the positions' shares ({held}) exceed the vault's total_supply ({state.total_supply}); "
                             "total_supply must already include them", where=f"world venues.morpho.vaults.{key}.total_supply")
        vault.set_supply(state.total_supply)
        vault.sstore(state.total_assets, "totalAssets")
        asset = chain.contracts[vault.asset_]
        assert isinstance(asset, ERC20)  # every chain token is deployed as an ERC20 by _build
        asset.mint_to(vault.address, state.total_assets)
    for key, (pool, state) in w.aero_pools.items():
        held = pool.sload("positions")
        pool.sstore(0, "positions")
        if state is None:
            if held:
                raise InputError(f"an Aerodrome {key} LP position needs the pool's state (reserve_a, reserve_b, total_supply)",
                                 where=f"world venues.aerodrome.pools.{key}")
            continue
        if held > state.total_supply:
            raise InputError(f"the LP positions ({held}) exceed the pool's total_supply ({state.total_supply})",
                             where=f"world venues.aerodrome.pools.{key}.total_supply")
        pool.set_supply(state.total_supply)
    weth = next((t for t in w.tokens.values() if isinstance(t, WETH)), None)
    if weth is not None:  # WETH9 holds the ETH backing every WETH
        chain.storage[("native", weth.address)] = weth.supply()
