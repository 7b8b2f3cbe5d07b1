"""The calls mammon compiles, and the role of every address in them.

A plan may only contain calls the compiler emits. For each one (keyed by its canonical signature, as
decoded from the bytes) this table says which registry contract it may be sent to, what each address
argument must be, which tokens the call pulls from the wallet with `transferFrom`, and which argument
is its minimum output. Address roles:

- ``wallet``: the plan's own wallet (onBehalfOf, to, recipient, receiver, owner);
- ``token``: a token of the chain registry (or, for a call's target, an LP token of a registered pool);
- ``spender``: a registry contract; `derive` also requires it to be the target of the next step that
  pulls the approved token;
- any other value: a pattern over the registry's labels (``aerodrome.pool_factory``).

Anything else — an ERC-20 ``transfer``, an unknown selector, an address argument with no role — is a call
mammon never compiles, and the plan is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mammon.chains import ChainConfig

UINT256_MAX = 2**256 - 1


@dataclass(frozen=True)
class PullRule:
    """The call pulls `amount` of a token from the wallet: the token is the address in argument `token`,
    or '@underlying' (the asset of the target: a Moonwell market's or an ERC-4626 vault's underlying),
    or '@lp' (the LP token of the Aerodrome pool of tokenA/tokenB)."""

    amount: str
    token: str


@dataclass(frozen=True)
class MinOut:
    """Argument `amount` is the least the wallet accepts of the token in argument `token`."""

    amount: str
    token: str


@dataclass(frozen=True)
class Rule:
    kind: str
    targets: tuple[str, ...]
    addresses: dict[str, str] = field(default_factory=dict)  # arg path (regex) -> role
    pulls: tuple[PullRule, ...] = ()
    min_outs: tuple[MinOut, ...] = ()


_VAULT = r"(morpho|erc4626)\.vaults\.[^.]+\.address"
_MARKET = r"moonwell\.markets\.[^.]+"

RULES: dict[str, Rule] = {
    "approve(address,uint256)": Rule("approve", ("token",), {"spender": "spender"}),
    # Aave V3 Pool
    "supply(address,uint256,address,uint16)": Rule("deposit", (r"aave_v3\.pool",), {"asset": "token", "onBehalfOf": "wallet"},
                                                   pulls=(PullRule("amount", "asset"),)),
    "withdraw(address,uint256,address)": Rule("withdraw", (r"aave_v3\.pool",), {"asset": "token", "to": "wallet"}),
    # Moonwell mTokens
    "mint(uint256)": Rule("deposit", (_MARKET,), pulls=(PullRule("mintAmount", "@underlying"),)),
    "redeem(uint256)": Rule("withdraw", (_MARKET,)),
    "redeemUnderlying(uint256)": Rule("withdraw", (_MARKET,)),
    # ERC-4626 vaults
    "deposit(uint256,address)": Rule("deposit", (_VAULT,), {"receiver": "wallet"}, pulls=(PullRule("assets", "@underlying"),)),
    "withdraw(uint256,address,address)": Rule("withdraw", (_VAULT,), {"receiver": "wallet", "owner": "wallet"}),
    "redeem(uint256,address,address)": Rule("withdraw", (_VAULT,), {"receiver": "wallet", "owner": "wallet"}),
    # Uniswap SwapRouter02
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))": Rule(
        "swap", (r"uniswap_v3\.swap_router02",),
        {r"params\.tokenIn": "token", r"params\.tokenOut": "token", r"params\.recipient": "wallet"},
        pulls=(PullRule("params.amountIn", "params.tokenIn"),), min_outs=(MinOut("params.amountOutMinimum", "params.tokenOut"),)),
    # Aerodrome Router
    "swapExactTokensForTokens(uint256,uint256,(address,address,bool,address)[],address,uint256)": Rule(
        "swap", (r"aerodrome\.router",),
        {r"routes\[\d+\]\.from": "token", r"routes\[\d+\]\.to": "token", r"routes\[\d+\]\.factory": r"aerodrome\.pool_factory", "to": "wallet"},
        pulls=(PullRule("amountIn", "routes[0].from"),), min_outs=(MinOut("amountOutMin", "@last_route_to"),)),
    "addLiquidity(address,address,bool,uint256,uint256,uint256,uint256,address,uint256)": Rule(
        "add_liquidity", (r"aerodrome\.router",), {"tokenA": "token", "tokenB": "token", "to": "wallet"},
        pulls=(PullRule("amountADesired", "tokenA"), PullRule("amountBDesired", "tokenB"))),
    "removeLiquidity(address,address,bool,uint256,uint256,uint256,address,uint256)": Rule(
        "remove_liquidity", (r"aerodrome\.router",), {"tokenA": "token", "tokenB": "token", "to": "wallet"},
        pulls=(PullRule("liquidity", "@lp"),), min_outs=(MinOut("amountAMin", "tokenA"), MinOut("amountBMin", "tokenB"))),
}


def rule_for(signature: str) -> Rule | None:
    return RULES.get(signature)


def role_of(path: str, rule: Rule) -> str | None:
    """The role of the address argument at `path` (None: mammon never sets such an argument)."""
    for pattern, role in rule.addresses.items():
        if re.fullmatch(pattern, path):
            return role
    return None


def registry_roles(chain: ChainConfig) -> dict[str, set[str]]:
    """Every registry address (lower-case) with all the labels it has: token symbols and protocol paths."""
    return {address: set(labels) for address, labels in chain.address_labels().items()}


def matches(labels: set[str], patterns: tuple[str, ...] | str, chain: ChainConfig) -> bool:
    """Whether an address with these registry labels plays one of the roles in `patterns`
    ('token' = a chain token, or a registered pool's LP token)."""
    symbols = {t.symbol for t in chain.tokens}
    for pattern in (patterns,) if isinstance(patterns, str) else patterns:
        if pattern == "token":
            if labels & symbols or "aerodrome.pools.address" in labels:
                return True
        elif any(re.fullmatch(pattern, label) for label in labels):
            return True
    return False


def is_chain_token(labels: set[str], chain: ChainConfig) -> bool:
    return bool(labels & {t.symbol for t in chain.tokens})


def underlying(chain: ChainConfig, labels: set[str]) -> str | None:
    """The token address a Moonwell market or an ERC-4626 vault holds, from the registry."""
    symbol: Any = None
    for label in sorted(labels):
        if label.startswith("moonwell.markets."):
            symbol = label.removeprefix("moonwell.markets.")
        elif label.startswith(("morpho.vaults.", "erc4626.vaults.")) and label.endswith(".address"):
            protocol, _, name, _ = label.split(".")
            entry = chain.protocols.get(protocol, {}).get("vaults", {}).get(name, {})
            symbol = entry.get("asset") if isinstance(entry, dict) else None
    token = next((t for t in chain.tokens if t.symbol == symbol), None)
    return token.address if token else None


def lp_token(chain: ChainConfig, token_a: str, token_b: str) -> str | None:
    """The LP token (pool address) of the registered Aerodrome pool of two token addresses."""
    symbols = {t.address.lower(): t.symbol for t in chain.tokens}
    pair = {symbols.get(token_a.lower()), symbols.get(token_b.lower())}
    for pool in chain.protocols.get("aerodrome", {}).get("pools", []) or []:
        if isinstance(pool, dict) and {pool.get("token_a"), pool.get("token_b")} == pair and pool.get("address"):
            return str(pool["address"])
    return None
