"""Chain registry: which chain is which, and the checked addresses of tokens and protocol contracts.

`base` and `base-sepolia` ship with the package (seeded from the checked files in shared/chains, each
address with its source). `devnet` is read from the file `mammon devnet up` writes. A user adds or
overrides a chain with their own YAML of the same shape (`--chain-config`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from mammon.errors import InputError, UnknownNameError
from mammon.filecache import FileCache
from mammon.files import load_model, parse_model
from mammon.types import Address

DATA = Path(__file__).parent / "data"
DEVNET_CONFIG_ENV = "MAMMON_DEVNET_CONFIG"
DEFAULT_DEVNET_CONFIG = Path(".mammon/devnet/chain.yaml")
S = TypeVar("S", bound=BaseModel)


class Token(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    symbol: str
    address: Address
    decimals: int = Field(ge=0, le=36)


class ChainConfig(BaseModel):
    """One chain: id, tokens, and a raw section per protocol that the protocol's adapter validates."""

    model_config = ConfigDict(extra="ignore")
    name: str
    chain_id: int = Field(gt=0)
    rpc_url: str | None = None
    tokens: list[Token]
    protocols: dict[str, dict[str, Any]] = {}
    infra: dict[str, Any] = {}
    _source: str | None = PrivateAttr(None)  # the file it came from, for error messages

    @model_validator(mode="after")
    def _unique_tokens(self) -> ChainConfig:
        seen: set[str] = set()
        for token in self.tokens:
            if token.symbol in seen:
                raise ValueError(f"token {token.symbol} listed twice")
            seen.add(token.symbol)
        return self

    def token(self, symbol: str, *, where: str | None = None) -> Token:
        for token in self.tokens:
            if token.symbol == symbol:
                return token
        raise UnknownNameError(f"token on {self.name}", symbol, [t.symbol for t in self.tokens], where=where)

    def section(self, protocol: str, model: type[S], *, where: str | None = None) -> S:
        """The protocol's section, validated by the protocol's own model."""
        if protocol not in self.protocols:
            raise InputError(f"protocol {protocol} is not deployed on {self.name} (no '{protocol}' section in its chain config)", where=where)
        origin = self._source or f"chain {self.name}"
        return parse_model(model, self.protocols[protocol], where=f"{origin}: protocols.{protocol}")

    def known_addresses(self) -> dict[str, str]:
        """Every address in the registry (lower-case) with a readable label: the allow-list for review."""
        found: dict[str, str] = {t.address.lower(): t.symbol for t in self.tokens}

        def walk(node: Any, label: str) -> None:
            if isinstance(node, str) and node.startswith("0x") and len(node) == 42:
                found.setdefault(node.lower(), label)
            elif isinstance(node, dict):
                for key, value in node.items():
                    walk(value, f"{label}.{key}")
            elif isinstance(node, list):
                for item in node:
                    walk(item, label)

        for protocol, section in self.protocols.items():
            walk(section, protocol)
        return found


def _builtin_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(DATA.glob("*.yaml"))}


def devnet_config_path() -> Path:
    return Path(os.environ.get(DEVNET_CONFIG_ENV, DEFAULT_DEVNET_CONFIG))


def _parse_chain_file(path: Path) -> ChainConfig:
    config = load_model(ChainConfig, path)
    config._source = str(path)
    return config


_PARSED: FileCache[ChainConfig] = FileCache(_parse_chain_file)


def load_chain_file(path: str | Path) -> ChainConfig:
    """The chain config in `path`, parsed once per process while the file stays the same (shared: read-only)."""
    return _PARSED.get(path)


def load_chain(name: str, extra: Iterable[str | Path] = ()) -> ChainConfig:
    """Resolve a chain by name or id; user files given in `extra` add chains or override built-ins."""
    chains: dict[str, Path] = dict(_builtin_files())
    chains["devnet"] = devnet_config_path()
    overrides = {cfg.name: cfg for cfg in (load_chain_file(p) for p in extra)}
    if name in overrides:
        return overrides[name]
    for cfg in overrides.values():
        if str(cfg.chain_id) == name:
            return cfg
    by_id = {"8453": "base", "84532": "base-sepolia", "31337": "devnet"}
    name = by_id.get(name, name)
    if name not in chains:
        raise UnknownNameError("chain", name, list(chains) + list(overrides), where="--chain")
    path = chains[name]
    if name == "devnet" and not path.exists():
        raise InputError(f"no devnet config at {path}: run `mammon devnet up` first (or set {DEVNET_CONFIG_ENV})", where="--chain devnet")
    return load_chain_file(path)
