"""Building a simulated chain's starting state: the world file (a `Market`) and a `ChainConfig`.

Tokens and the venues' contracts come from the chain config, venue state from `market.venues`
(validated by each venue model, errors name the field), holdings from `market.holdings[address]`
or, for the given wallets, `market.portfolio`.
"""

from __future__ import annotations

from typing import Any


from mammon.errors import InputError
from mammon.files import parse_model
from mammon.market import Portfolio
from mammon.protocols.aerodrome import AerodromeState
from mammon.protocols.moonwell import MoonwellState
from mammon.protocols.morpho import ERC4626Vaults, MorphoState, decimals_offset
from mammon.protocols.uniswap_v3 import UniswapState
from mammon.protocols.aave_v3 import AaveState, ReserveState
from mammon.sim.aave_v3 import AavePool, AToken, ray_div
from mammon.sim.aerodrome import AerodromePool, AerodromeRouter, sort_tokens
from mammon.sim.chain import SimChain
from mammon.sim.core import MAX_UINT256, addr
from mammon.sim.moonwell import EXP_SCALE, MToken, default_exchange_rate
from mammon.sim.morpho import Vault
from mammon.sim.tokens import ERC20, WETH
from mammon.sim.uniswap_v3 import SwapRouter02, V3Pool
from mammon.types import checksum_address
from mammon.units import parse_amount

NATIVE = "ETH"  # the symbol a portfolio uses for the native balance
CASH_UNITS = 1_000_000  # underlying units each lending market holds beyond the world's positions
VAULT_VENUES = ("morpho", "erc4626")  # ERC-4626 venues (protocols.morpho.ERC4626Vaults)
VENUES = ("aave_v3", "moonwell", *VAULT_VENUES, "uniswap_v3", "aerodrome")


def _units(text: str, decimals: int, symbol: str, where: str) -> int:
    """Token units (human) to base units; '0' is allowed here, 'max' means 2**256-1 (allowances)."""
    clean = str(text).strip()
    if clean.lower() in ("max", "unlimited"):
        return MAX_UINT256
    return parse_amount(clean, decimals, symbol=symbol, where=where, allow_zero=True)


class _World:
    """What `_build` deploys, by the names a world file uses."""

    def __init__(self) -> None:
        self.tokens: dict[str, ERC20] = {}
        self.a_tokens: dict[str, AToken] = {}
        self.m_tokens: dict[str, MToken] = {}
        self.vaults: dict[tuple[str, str], tuple[Vault, Any]] = {}  # (venue, asset symbol of its first vault or vault name) -> (vault, state)
        self.aero_pools: dict[str, tuple[AerodromePool, Any]] = {}  # "A/B" -> (pool, state)
        self.rates: dict[str, int] = {}


def build(chain: SimChain) -> None:
    cfg, market = chain.config, chain.market
    for venue in market.venues:
        if venue not in VENUES:
            raise InputError(f"unknown venue {venue!r} (the simulator models {', '.join(VENUES)})", where=market.where(f"venues.{venue}"))
    w = _World()
    for token in cfg.tokens:
        cls = WETH if token.symbol == "WETH" else ERC20
        w.tokens[token.symbol] = chain.deploy(cls(chain, token.address, f"{token.symbol} token", token.symbol, token.decimals))
    if "aave_v3" in cfg.protocols:
        _aave(chain, w)
    if "moonwell" in cfg.protocols:
        _moonwell(chain, w)
    for venue in VAULT_VENUES:
        if venue in cfg.protocols:
            _vaults(chain, w, venue)
    if "uniswap_v3" in cfg.protocols:
        _uniswap(chain, w)
    if "aerodrome" in cfg.protocols:
        _aerodrome(chain, w)
    funded: dict[str, tuple[Portfolio, str]] = {}
    for wallet in chain.wallets:
        portfolio = market.portfolio_of(wallet)
        listed = any(a.lower() == wallet.lower() for a in market.holdings)
        if portfolio is not None:
            funded[addr(wallet)] = (portfolio, market.where(f"holdings.{wallet}") if listed else market.where("portfolio"))
    for owner, portfolio in sorted(market.holdings.items()):
        funded.setdefault(addr(owner), (portfolio, chain.market.where(f"holdings.{owner}")))
    for owner, (portfolio, where) in funded.items():
        _fund(chain, w, owner, portfolio, where)
    _finish(chain, w)


def _state(chain: SimChain, venue: str, model: type[Any]) -> Any:
    return parse_model(model, chain.market.venues.get(venue) or {}, where=chain.market.where(f"venues.{venue}"))


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
            _skip(chain, chain.market.where(f"venues.aave_v3.reserves.{symbol}: no such Aave reserve on {chain.config.name}; ignored"))
    for symbol, a_address in config.a_tokens.items():
        if symbol not in w.tokens:
            _skip(chain, f"Aave a{symbol}: {symbol} is not a token of {chain.config.name}; reserve not simulated")
            continue
        token = w.tokens[symbol]
        reserve = state.reserves.get(symbol) or ReserveState()
        if reserve.liquidity_index <= 0:
            raise InputError("liquidity_index must be positive (ray, 1e27 = 1.0)", where=chain.market.where(f"venues.aave_v3.reserves.{symbol}.liquidity_index"))
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
            _skip(chain, chain.market.where(f"venues.moonwell.markets.{symbol}: no such Moonwell market on {chain.config.name}; ignored"))
    for symbol, m_address in config.markets.items():
        if symbol not in w.tokens:
            _skip(chain, f"Moonwell m{symbol}: {symbol} is not a token of {chain.config.name}; market not simulated")
            continue
        token = w.tokens[symbol]
        market = state.markets.get(symbol)
        rate = market.exchange_rate if market else default_exchange_rate(token.decimals_, config.m_token_decimals)
        if rate <= 0:
            raise InputError("exchange_rate must be positive (1e18-scaled)", where=chain.market.where(f"venues.moonwell.markets.{symbol}.exchange_rate"))
        m_token = MToken(chain, m_address, f"Moonwell m{symbol}", symbol=f"m{symbol}", underlying=token.address,
                         decimals=config.m_token_decimals, pays_native=symbol in config.redeems_native,
                         supply_rate=market.supply_rate if market else 0)
        chain.deploy(m_token)
        m_token.set_exchange_rate(rate)
        w.m_tokens[symbol] = m_token


def _vaults(chain: SimChain, w: _World, venue: str) -> None:
    from mammon.protocols import venue_class

    adapter = venue_class(venue)
    assert issubclass(adapter, ERC4626Vaults)
    config = chain.config.section(venue, adapter.Config)
    state: MorphoState = _state(chain, venue, MorphoState)
    known = set(config.vaults) | {v.asset for v in config.vaults.values()}
    for key in state.vaults:
        if key not in known:
            _skip(chain, chain.market.where(f"venues.{venue}.vaults.{key}: no such {adapter.display} vault or vault asset on {chain.config.name}; ignored"))
    for name, entry in config.vaults.items():
        if entry.asset not in w.tokens:
            _skip(chain, f"{adapter.display} vault {name}: {entry.asset} is not a token of {chain.config.name}; vault not simulated")
            continue
        token = w.tokens[entry.asset]
        # the compiler uses the first vault of an asset: the asset-keyed state (and position) belong to it
        first = (venue, entry.asset) not in w.vaults
        vault_state = state.vaults.get(name) or (state.vaults.get(entry.asset) if first else None)
        share_decimals = next((d for d in (vault_state.share_decimals if vault_state else None, entry.share_decimals,
                                           adapter.default_share_decimals) if d is not None), token.decimals_)
        decimals_offset(share_decimals, token.decimals_, f"chain {chain.config.name}: protocols.{venue}.vaults.{name}")
        vault = Vault(chain, entry.address, f"{adapter.display} vault {name}", asset=token.address, asset_decimals=token.decimals_,
                      share_decimals=share_decimals, vault_kind=entry.kind, share_price_rate=vault_state.share_price_rate if vault_state else 0)
        chain.deploy(vault)
        w.vaults[(venue, name)] = (vault, vault_state)
        w.vaults.setdefault((venue, entry.asset), (vault, vault_state))


def _uniswap(chain: SimChain, w: _World) -> None:
    from mammon.protocols.uniswap_v3 import UniswapConfig, pool_address

    config = chain.config.section("uniswap_v3", UniswapConfig)
    state: UniswapState = _state(chain, "uniswap_v3", UniswapState)
    router = SwapRouter02(chain, config.swap_router02, "Uniswap SwapRouter02")
    chain.deploy(router)
    keys = {f"{e.token_a}/{e.token_b}" for e in config.pools}
    for key in state.pools:
        if key not in keys:
            _skip(chain, chain.market.where(f"venues.uniswap_v3.pools.{key}: no such Uniswap V3 pool in the {chain.config.name} chain config; ignored"))
    for entry in config.pools:
        key = f"{entry.token_a}/{entry.token_b}"
        if entry.token_a not in w.tokens or entry.token_b not in w.tokens:
            _skip(chain, f"Uniswap V3 pool {key}: a token is not on {chain.config.name}; pool not simulated")
            continue
        a, b = w.tokens[entry.token_a], w.tokens[entry.token_b]
        if entry.address:
            address = entry.address
        elif config.pool_init_code_hash:
            address = pool_address(config.factory, config.pool_init_code_hash, checksum_address(a.address), checksum_address(b.address), entry.fee)
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
            _skip(chain, chain.market.where(f"venues.aerodrome.pools.{key}: no such Aerodrome pool in the {chain.config.name} chain config; ignored"))
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
    else:  # an ERC-4626 venue
        if (venue, key) not in w.vaults:
            _skip(chain, f"{field}: no {venue} {key} vault on {chain.config.name}; not funded")
            return
        vault, state = w.vaults[(venue, key)]
        if state is None:
            raise InputError(f"a {venue} {key} position needs the vault's state: add venues.{venue}.vaults.{key} (total_assets, total_supply)", where=field)
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
    for (venue, key), (vault, state) in w.vaults.items():
        if vault.address in seen:
            continue
        seen.add(vault.address)
        held = vault.sload("positions")
        vault.sstore(0, "positions")
        if state is None:
            continue
        if held > state.total_supply:
            raise InputError(f"the positions' shares ({held}) exceed the vault's total_supply ({state.total_supply}); "
                             "total_supply must already include them", where=chain.market.where(f"venues.{venue}.vaults.{key}.total_supply"))
        vault.set_supply(state.total_supply)
        vault.set_total_assets(state.total_assets)
        asset = chain.contracts[vault.asset_]
        assert isinstance(asset, ERC20)  # every chain token is deployed as an ERC20 by _build
        asset.mint_to(vault.address, state.total_assets)
    for key, (pool, state) in w.aero_pools.items():
        held = pool.sload("positions")
        pool.sstore(0, "positions")
        if state is None:
            if held:
                raise InputError(f"an Aerodrome {key} LP position needs the pool's state (reserve_a, reserve_b, total_supply)",
                                 where=chain.market.where(f"venues.aerodrome.pools.{key}"))
            continue
        if held > state.total_supply:
            raise InputError(f"the LP positions ({held}) exceed the pool's total_supply ({state.total_supply})",
                             where=chain.market.where(f"venues.aerodrome.pools.{key}.total_supply"))
        pool.set_supply(state.total_supply)
    weth = next((t for t in w.tokens.values() if isinstance(t, WETH)), None)
    if weth is not None:  # WETH9 holds the ETH backing every WETH
        chain.storage[("native", weth.address)] = weth.supply()
