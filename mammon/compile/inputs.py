"""What a compile records about its own inputs (`Plan.inputs`), so the plan can be compiled again and compared."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import metadata

from mammon.chains import ChainConfig
from mammon.market import Market
from mammon.plan.model import CompileInputs


@cache
def compiler_version() -> str:
    try:
        return f"mammon {metadata.version('mammon')}"
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "mammon (unknown version)"


def chain_fingerprint(chain: ChainConfig) -> str:
    """sha256 of the chain config's content (the node URL left out: it does not change what is compiled)."""
    body = chain.model_dump(mode="json", exclude={"rpc_url"})
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def record(chain: ChainConfig, market: Market, wallet: str) -> CompileInputs:
    """The inputs of one compile: the market trimmed to what it says about this wallet."""
    snapshot = market.model_copy(update={"portfolio": market.portfolio_of(wallet), "holdings": {}})
    return CompileInputs(compiler=compiler_version(), chain_config=chain_fingerprint(chain), market=snapshot)
