"""Live market snapshot from a node (`mammon plan --rpc URL`): holdings, allowances, venue rates, gas price.

USD prices are not read on-chain (no oracle is assumed); they come from the base market file.
Every read is a plain `eth_call` of a function in `abis/`, so it works on any node, fork or devnet.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


from mammon.abi import function
from mammon.chains import ChainConfig
from mammon.errors import InputError
from mammon.market import MAX_GAS_PRICE_GWEI, Allowance, Market, Portfolio
from mammon.node import Node, NodeError, decode_revert, redact
from mammon.protocols.aerodrome import AerodromeConfig
from mammon.protocols.uniswap_v3 import UniswapConfig, pool_address
from mammon.units import to_decimal

Q96 = 2**96


def read(node: Node, to: str, abi: str, name: str, *args: Any, role: str | None = None, kind: str = "contract") -> Any:
    """Call a view of `abis/<abi>.json` and decode its result (a single value unwrapped).

    `role` names the registry entry the address came from (e.g. `protocols.morpho.vaults.x`): a call that
    reverts, an address without code, or an answer that does not decode is then refused naming that role
    and what it should have been (`kind`), never a decoding traceback.
    """
    fn = function(abi, name)
    data = fn.encode({p["name"]: a for p, a in zip(fn.inputs, args, strict=True)})
    try:
        raw = node.call(to, data)
    except NodeError as exc:
        if role is None or (exc.data is None and "revert" not in exc.node_message.lower()):
            raise
        raise InputError(f"{role} ({to}) is not {kind}: {name}() reverted ({decode_revert(exc.data, exc.node_message)})", where="chain config") from None
    try:
        out = fn.decode_output(raw)
    except Exception:  # eth_abi raises several types (InsufficientDataBytes, NonEmptyPaddingBytes, ...) for a short or odd answer
        if not raw and node.request("eth_getCode", [to, "latest"]) in (None, "0x", ""):
            what = "has no code on this chain"
        else:
            what = f"answered {name}() with {len(raw)} bytes that do not decode as {', '.join(str(o['type']) for o in fn.outputs)}"
        raise InputError(f"{role or 'contract'} ({to}) {what}: it is not {kind}", where="chain config" if role else "--rpc") from None
    return out[0] if len(out) == 1 else out


def require_code(node: Node, address: str, role: str) -> None:
    """Refuse an address with no code, naming its registry role (a typo'd or wrong-chain address)."""
    if node.request("eth_getCode", [address, "latest"]) in (None, "0x", ""):
        raise InputError(f"{role} ({address}) has no code on chain {node.chain_id}", where="chain config")


def _human(raw: int, decimals: int) -> str:
    return f"{to_decimal(raw, decimals).normalize():f}"


def read_market(url: str, chain: ChainConfig, wallet: str, base: Market) -> Market:
    """The base market with holdings, allowances, rates and reserves replaced by what the node says."""
    node = Node(url, where="--rpc")
    if node.chain_id != chain.chain_id:
        raise InputError(f"the node is chain {node.chain_id}, not {chain.name} ({chain.chain_id})", where=f"--rpc {redact(url)}")
    erc20 = "erc20/ERC20"
    tokens = {t.symbol: t for t in chain.tokens}
    wallet_balances = {s: _human(read(node, t.address, erc20, "balanceOf", wallet), t.decimals) for s, t in tokens.items()}
    wallet_balances["ETH"] = _human(int(node.request("eth_getBalance", [wallet, "latest"]), 16), 18)
    positions: dict[str, dict[str, str]] = {}
    shares: dict[str, dict[str, str]] = {}
    venues: dict[str, dict[str, Any]] = {}
    spenders: list[str] = []
    protocols = chain.protocols

    if "aave_v3" in protocols:
        aave = protocols["aave_v3"]
        spenders.append(aave["pool"])
        require_code(node, aave["pool"], "protocols.aave_v3.pool")
        positions["aave_v3"] = {s: _human(read(node, a, erc20, "balanceOf", wallet, role=f"protocols.aave_v3.a_tokens.{s}", kind="an Aave aToken"), tokens[s].decimals)
                                for s, a in aave.get("a_tokens", {}).items() if s in tokens}
        reserves = {}
        for s in aave.get("a_tokens", {}):
            if s in tokens:  # the index now and the rate it grows at: what aToken balances earn while the plan waits
                data = read(node, aave["pool"], "aave_v3/Pool", "getReserveData", tokens[s].address, role="protocols.aave_v3.pool", kind="an Aave V3 Pool")
                index = read(node, aave["pool"], "aave_v3/Pool", "getReserveNormalizedIncome", tokens[s].address, role="protocols.aave_v3.pool", kind="an Aave V3 Pool")
                reserves[s] = {"liquidity_index": str(index), "liquidity_rate": str(data[2])}
        venues["aave_v3"] = {"reserves": reserves}
    if "moonwell" in protocols:
        markets, rates = protocols["moonwell"].get("markets", {}), {}
        positions["moonwell"], shares["moonwell"] = {}, {}
        for s, m in markets.items():
            if s not in tokens:
                continue
            role = f"protocols.moonwell.markets.{s}"
            # the rate accrued to the latest block (exchangeRateStored lags by the time since the market's last
            # accrual) and how fast it grows: what the plan's mToken amounts move by while the plan waits
            rate = read(node, m, "moonwell/MToken", "exchangeRateCurrent", role=role, kind="a Moonwell mToken")
            supply_rate = read(node, m, "moonwell/MToken", "supplyRatePerTimestamp", role=role, kind="a Moonwell mToken")
            bal = read(node, m, "moonwell/MToken", "balanceOf", wallet, role=role, kind="a Moonwell mToken")
            rates[s] = {"exchange_rate": str(rate), "supply_rate": str(supply_rate)}
            positions["moonwell"][s] = _human(bal * rate // 10**18, tokens[s].decimals)
            shares["moonwell"][s] = str(bal)
            spenders.append(m)
        venues["moonwell"] = {"markets": rates}
    for venue in protocols:
        if _is_vault_venue(venue):
            vault_state, vault_positions, vault_shares = _vaults(node, venue, chain, wallet, spenders, base.venues.get(venue) or {})
            venues[venue], positions[venue], shares[venue] = {"vaults": vault_state}, vault_positions, vault_shares
    if "aerodrome" in protocols:
        cfg = AerodromeConfig.model_validate(protocols["aerodrome"])
        spenders.append(cfg.router)
        pools, positions["aerodrome"] = {}, {}
        for p in cfg.pools:
            r0, r1, _ = read(node, p.address, "aerodrome/Pool", "getReserves")
            token0 = read(node, p.address, "aerodrome/Pool", "token0")
            a_is_0 = token0.lower() == tokens[p.token_a].address.lower()
            key = f"{p.token_a}/{p.token_b}"
            pools[key] = {"reserve_a": str(r0 if a_is_0 else r1), "reserve_b": str(r1 if a_is_0 else r0),
                          "total_supply": str(read(node, p.address, "aerodrome/Pool", "totalSupply"))}
            positions["aerodrome"][key] = _human(read(node, p.address, erc20, "balanceOf", wallet), 18)
        venues["aerodrome"] = {"pools": pools}
    if "uniswap_v3" in protocols:
        cfg_u = UniswapConfig.model_validate(protocols["uniswap_v3"])
        spenders.append(cfg_u.swap_router02)
        pools_u = {}
        for i, entry in enumerate(cfg_u.pools):
            a, b = tokens[entry.token_a], tokens[entry.token_b]
            role = f"protocols.uniswap_v3.pools[{i}] ({entry.token_a}/{entry.token_b} {entry.fee})"
            if entry.address:
                address = entry.address
            elif cfg_u.pool_init_code_hash:
                address = pool_address(cfg_u.factory, cfg_u.pool_init_code_hash, a.address, b.address, entry.fee)
                role += " at the address derived from pool_init_code_hash"
            else:
                raise InputError(f"{role} has no address and protocols.uniswap_v3 has no pool_init_code_hash to derive it", where="chain config")
            require_code(node, address, role)
            sqrt_price = read(node, address, "uniswap_v3/UniswapV3Pool", "slot0", role=role, kind="a Uniswap V3 pool")[0]
            liquidity = read(node, address, "uniswap_v3/UniswapV3Pool", "liquidity", role=role, kind="a Uniswap V3 pool")
            if not sqrt_price or not liquidity:
                continue
            reserve0, reserve1 = liquidity * Q96 // sqrt_price, liquidity * sqrt_price // Q96  # virtual reserves
            a_is_0 = int(a.address, 16) < int(b.address, 16)
            pools_u[f"{entry.token_a}/{entry.token_b}"] = {"reserve_a": str(reserve0 if a_is_0 else reserve1), "reserve_b": str(reserve1 if a_is_0 else reserve0)}
        venues["uniswap_v3"] = {"pools": pools_u}

    allowances = []
    for s, t in tokens.items():
        for spender in spenders:
            amount = read(node, t.address, erc20, "allowance", wallet, spender)
            if amount:
                allowances.append(Allowance(token=s, spender=spender, amount=_human(amount, t.decimals)))
    portfolio = Portfolio(wallet=wallet_balances, positions=positions, shares=shares, allowances=allowances)
    gas_gwei = Decimal(int(node.request("eth_gasPrice"), 16)) / Decimal(10**9)
    if gas_gwei > MAX_GAS_PRICE_GWEI:
        raise InputError(f"eth_gasPrice says {gas_gwei:.0f} gwei, more than {MAX_GAS_PRICE_GWEI:,} gwei: not a gas price", where=f"node {redact(url)}")
    return base.model_copy(update={
        "gas_price_gwei": gas_gwei if gas_gwei > 0 else base.gas_price_gwei,
        "venues": {**base.venues, **venues}, "portfolio": portfolio, "holdings": {}, "source": f"node {redact(url)} (prices from {base.source})",
    })


def _is_vault_venue(venue: str) -> bool:
    from mammon.protocols import venue_class
    from mammon.protocols.morpho import ERC4626Vaults

    return issubclass(venue_class(venue), ERC4626Vaults)


def _vaults(node: Node, venue: str, chain: ChainConfig, wallet: str, spenders: list[str],
            base: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """State, positions and raw shares of an ERC-4626 venue's vaults, each checked to be the vault the config says.

    Read per vault: `asset()` (must be the configured token), `decimals()` (the shares' decimals, so the
    decimals offset), `totalAssets()`, `totalSupply()`, the wallet's shares and what they redeem for
    (`previewRedeem`); `previewDeposit` of one asset unit must match OpenZeppelin's share math with that
    offset, or mammon could not predict the shares a deposit mints. The share price's growth rate is not on
    chain (ERC-4626 has no rate view): the base market file's `share_price_rate` for the vault is kept.
    """
    from mammon.protocols import venue_class
    from mammon.protocols.morpho import ERC4626Vaults, decimals_offset, shares_for_deposit, VaultState

    adapter = venue_class(venue)
    assert issubclass(adapter, ERC4626Vaults)
    config = chain.section(venue, adapter.Config)
    tokens = {t.symbol: t for t in chain.tokens}
    vaults: dict[str, Any] = {}
    positions: dict[str, str] = {}
    held_shares: dict[str, str] = {}
    abi = "morpho/ERC4626"
    for name, entry in config.vaults.items():
        s = entry.asset
        if s not in tokens or s in vaults:
            continue
        v, role = entry.address, f"protocols.{venue}.vaults.{name}"
        require_code(node, v, role)
        asset = read(node, v, abi, "asset", role=role, kind="an ERC-4626 vault")
        if asset.lower() != tokens[s].address.lower():
            raise InputError(f"{role} ({v}) is a vault of {asset}, not of {s} ({tokens[s].address})", where="chain config")
        share_decimals = read(node, v, "erc20/ERC20", "decimals", role=role, kind="an ERC-4626 vault")
        offset = decimals_offset(share_decimals, tokens[s].decimals, role)
        state = VaultState(total_assets=read(node, v, abi, "totalAssets", role=role, kind="an ERC-4626 vault"),
                           total_supply=read(node, v, abi, "totalSupply", role=role, kind="an ERC-4626 vault"), share_decimals=share_decimals)
        unit = 10 ** tokens[s].decimals
        previewed = read(node, v, abi, "previewDeposit", unit, role=role, kind="an ERC-4626 vault")
        if previewed != shares_for_deposit(unit, state, offset):
            raise InputError(f"{role} ({v}): previewDeposit(1 {s}) = {previewed} shares, OpenZeppelin ERC-4626 math with decimals offset "
                             f"{offset} gives {shares_for_deposit(unit, state, offset)}; mammon cannot predict this vault's shares", where="chain config")
        vaults[s] = {"total_assets": str(state.total_assets), "total_supply": str(state.total_supply), "share_decimals": share_decimals}
        stated = ((base.get("vaults") or {}).get(s) or {}).get("share_price_rate")
        if stated is not None:
            vaults[s]["share_price_rate"] = str(stated)
        held = read(node, v, abi, "balanceOf", wallet)
        positions[s] = _human(read(node, v, abi, "previewRedeem", held) if held else 0, tokens[s].decimals)
        held_shares[s] = str(held)
        spenders.append(v)
    return vaults, positions, held_shares
