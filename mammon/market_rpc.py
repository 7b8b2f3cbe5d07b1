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
from mammon.market import Allowance, Market, Portfolio
from mammon.node import Node, redact
from mammon.protocols.aerodrome import AerodromeConfig
from mammon.protocols.uniswap_v3 import UniswapConfig, pool_address
from mammon.units import to_decimal

Q96 = 2**96


def read(node: Node, to: str, abi: str, name: str, *args: Any) -> Any:
    """Call a view of `abis/<abi>.json` and decode its result (a single value unwrapped)."""
    fn = function(abi, name)
    data = fn.encode({p["name"]: a for p, a in zip(fn.inputs, args, strict=True)})
    out = fn.decode_output(node.call(to, data))
    return out[0] if len(out) == 1 else out


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
        positions["aave_v3"] = {s: _human(read(node, a, erc20, "balanceOf", wallet), tokens[s].decimals) for s, a in aave.get("a_tokens", {}).items() if s in tokens}
    if "moonwell" in protocols:
        markets, rates = protocols["moonwell"].get("markets", {}), {}
        positions["moonwell"], shares["moonwell"] = {}, {}
        for s, m in markets.items():
            if s not in tokens:
                continue
            rate, bal = read(node, m, "moonwell/MToken", "exchangeRateStored"), read(node, m, "moonwell/MToken", "balanceOf", wallet)
            rates[s] = {"exchange_rate": str(rate)}
            positions["moonwell"][s] = _human(bal * rate // 10**18, tokens[s].decimals)
            shares["moonwell"][s] = str(bal)
            spenders.append(m)
        venues["moonwell"] = {"markets": rates}
    if "morpho" in protocols:
        vaults: dict[str, Any] = {}
        positions["morpho"], shares["morpho"] = {}, {}
        for entry in protocols["morpho"].get("vaults", {}).values():
            s = entry["asset"]
            if s not in tokens or s in vaults:
                continue
            v = entry["address"]
            vaults[s] = {"total_assets": str(read(node, v, "morpho/ERC4626", "totalAssets")), "total_supply": str(read(node, v, "morpho/ERC4626", "totalSupply"))}
            held = read(node, v, "morpho/ERC4626", "balanceOf", wallet)
            positions["morpho"][s] = _human(read(node, v, "morpho/ERC4626", "convertToAssets", held), tokens[s].decimals)
            shares["morpho"][s] = str(held)
            spenders.append(v)
        venues["morpho"] = {"vaults": vaults}
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
        for entry in cfg_u.pools:
            a, b = tokens[entry.token_a], tokens[entry.token_b]
            address = entry.address or pool_address(cfg_u.factory, cfg_u.pool_init_code_hash or "", a.address, b.address, entry.fee)
            sqrt_price = read(node, address, "uniswap_v3/UniswapV3Pool", "slot0")[0]
            liquidity = read(node, address, "uniswap_v3/UniswapV3Pool", "liquidity")
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
    return base.model_copy(update={
        "gas_price_gwei": gas_gwei if gas_gwei > 0 else base.gas_price_gwei,
        "venues": {**base.venues, **venues}, "portfolio": portfolio, "holdings": {}, "source": f"node {redact(url)} (prices from {base.source})",
    })
