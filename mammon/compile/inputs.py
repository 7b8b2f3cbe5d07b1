"""What a compile records about its own inputs (`Plan.inputs`), so the plan can be compiled again and compared."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from functools import cache
from importlib import metadata
from typing import TypeVar

from mammon.chains import ChainConfig
from mammon.market import Market
from mammon.plan.model import CompileInputs


T = TypeVar("T")


def per_config(derive: Callable[[ChainConfig], T]) -> Callable[[ChainConfig], T]:
    """`derive` memoised per chain config object, for as long as it lives. A loaded config is shared and never
    changed (`load_chain_file`), and every compile derives the same things from it (its fingerprint, its labels)."""
    memo: dict[int, tuple[weakref.ref[ChainConfig], T]] = {}

    def derived(chain: ChainConfig) -> T:
        key = id(chain)
        hit = memo.get(key)
        if hit is not None and hit[0]() is chain:
            return hit[1]
        value = derive(chain)
        memo[key] = (weakref.ref(chain, lambda _: memo.pop(key, None)), value)
        return value

    return derived


@cache
def compiler_version() -> str:
    try:
        return f"mammon {metadata.version('mammon')}"
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "mammon (unknown version)"


@per_config
def chain_fingerprint(chain: ChainConfig) -> str:
    """sha256 of the chain config's content (the node URL left out: it does not change what is compiled)."""
    body = chain.model_dump(mode="json", exclude={"rpc_url"})
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


#: The registry's addresses (lower case) with their labels, a walk of the whole config, once per chain config:
#: shared by the compiler (labels of the views it builds) and review (labels of the views it rebuilds).
registry_labels: Callable[[ChainConfig], dict[str, str]] = per_config(ChainConfig.known_addresses)


def record(chain: ChainConfig, market: Market, wallet: str) -> CompileInputs:
    """The inputs of one compile: the market trimmed to what it says about this wallet."""
    snapshot = market.model_copy(update={"portfolio": market.portfolio_of(wallet), "holdings": {}})
    return CompileInputs(compiler=compiler_version(), chain_config=chain_fingerprint(chain), market=snapshot)
