"""Chain registry: which chain is which, and the checked addresses of tokens and protocol contracts.

`base` and `base-sepolia` ship with the package (seeded from the checked files in shared/chains, each
address with its source). `devnet` is read from the file `mammon devnet up` writes. A user adds or
overrides a chain with their own YAML of the same shape: `--chain-config FILE` on a command, or once
for every command with `MAMMON_CHAIN_CONFIG` (paths separated by the OS path separator) or a
`[chains] config = "FILE"` (or a list) in `mammon.toml`.

Chain files are strict: an unknown key is refused with its key path and the nearest known key (each
protocol section is checked against its venue's own `Config` model), addresses must carry a valid
EIP-55 checksum (or be all lower/upper case), and a Uniswap V3 `pool_init_code_hash` must be 32 bytes.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from mammon.chains.strict import unknown_keys
from mammon.errors import AmbiguousNameError, InputError, PlanError, UnknownNameError
from mammon.filecache import FileCache
from mammon.files import parse_model, read_data, read_toml
from mammon.types import Address

DATA = Path(__file__).parent / "data"
DEVNET_CONFIG_ENV = "MAMMON_DEVNET_CONFIG"
DEFAULT_DEVNET_CONFIG = Path(".mammon/devnet/chain.yaml")
CHAIN_CONFIG_ENV = "MAMMON_CHAIN_CONFIG"
SETTINGS_FILE = Path("mammon.toml")
BUILTIN_IDS = {"8453": "base", "84532": "base-sepolia", "31337": "devnet"}
S = TypeVar("S", bound=BaseModel)


class Token(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    symbol: str
    address: Address
    decimals: int = Field(ge=0, le=36)


class ChainConfig(BaseModel):
    """One chain: id, tokens, and a raw section per protocol that the protocol's adapter validates.

    Frozen, and to be treated as read-only all the way down: a loaded config is shared (`load_chain_file`), and
    the compiler and review cache what they derive from it per config object (its fingerprint, its address labels,
    each venue's parsed section). Never change one in place, nor its `tokens`, `protocols` or `infra` (frozen stops
    attribute assignment only): load another file, or build a new config (`model_copy(update=...)`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
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
        """The token with this symbol, matched exactly or else ignoring case (`usdc` -> USDC), nothing fuzzier."""
        for token in self.tokens:
            if token.symbol == symbol:
                return token
        matches = [t for t in self.tokens if t.symbol.casefold() == symbol.casefold()]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousNameError(f"token on {self.name}", symbol, [t.symbol for t in matches], where=where)
        raise UnknownNameError(f"token on {self.name}", symbol, [t.symbol for t in self.tokens], where=where)

    def section(self, protocol: str, model: type[S], *, where: str | None = None) -> S:
        """The protocol's section, validated by the protocol's own model."""
        if protocol not in self.protocols:
            raise InputError(f"protocol {protocol} is not deployed on {self.name} (no '{protocol}' section in its chain config)", where=where)
        origin = self._source or f"chain {self.name}"
        return parse_model(model, self.protocols[protocol], where=f"{origin}: protocols.{protocol}")

    def address_labels(self) -> dict[str, list[str]]:
        """Every address in the registry (lower-case) with all its labels, tokens first: symbols and protocol paths."""
        found: dict[str, list[str]] = {}
        for token in self.tokens:
            found.setdefault(token.address.lower(), []).append(token.symbol)

        def walk(node: Any, label: str) -> None:
            if isinstance(node, str) and node.startswith("0x") and len(node) == 42:
                found.setdefault(node.lower(), []).append(label)
            elif isinstance(node, dict):
                for key, value in node.items():
                    walk(value, f"{label}.{key}")
            elif isinstance(node, list):
                for item in node:
                    walk(item, label)

        for protocol, section in self.protocols.items():
            walk(section, protocol)
        return found

    def known_addresses(self) -> dict[str, str]:
        """Every address in the registry (lower-case) with a readable label: the allow-list for review."""
        return {address: labels[0] for address, labels in self.address_labels().items()}


def _builtin_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(DATA.glob("*.yaml"))}


def devnet_config_path() -> Path:
    return Path(os.environ.get(DEVNET_CONFIG_ENV, DEFAULT_DEVNET_CONFIG))


def _check_protocols(raw: Any) -> list[str]:
    """Unknown keys of each protocol section, checked against its venue's own config model."""
    from mammon.protocols import venue_class, venue_names  # the venues' models are the schema of their sections

    problems: list[str] = []
    protocols = raw.get("protocols") if isinstance(raw, dict) else None
    if not isinstance(protocols, dict):
        return problems
    for protocol, section in protocols.items():
        if protocol not in venue_names():
            close = difflib.get_close_matches(str(protocol), venue_names(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(venue_names())})"
            problems.append(f"protocols.{protocol}: unknown protocol{hint}")
            continue
        problems += unknown_keys(venue_class(protocol).Config, section, f"protocols.{protocol}")
    return problems


def _parse_chain_file(path: Path) -> ChainConfig:
    """Read and check a chain file: unknown keys, addresses and every protocol section, all problems at once."""
    raw = read_data(path)
    problems = unknown_keys(ChainConfig, raw, "") + _check_protocols(raw)
    if problems:
        raise InputError("; ".join(problems), where=str(path))
    config = parse_model(ChainConfig, raw, where=str(path))
    config._source = str(path)
    from mammon.protocols import venue_class

    for protocol in config.protocols:
        config.section(protocol, venue_class(protocol).Config)
    return config


_PARSED: FileCache[ChainConfig] = FileCache(_parse_chain_file)


def load_chain_file(path: str | Path) -> ChainConfig:
    """The chain config in `path`, parsed once per process while the file stays the same (shared: read-only)."""
    return _PARSED.get(path)


def user_chain_files() -> list[Path]:
    """Chain files given once for every command: MAMMON_CHAIN_CONFIG, else `[chains] config` in mammon.toml."""
    env = os.environ.get(CHAIN_CONFIG_ENV)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p.strip()]
    if not SETTINGS_FILE.is_file():
        return []
    settings = read_toml(SETTINGS_FILE)
    table = settings.get("chains", {})
    if not isinstance(table, dict):
        raise InputError("[chains] must be a table", where=str(SETTINGS_FILE))
    unknown = sorted(set(table) - {"config"})
    if unknown:
        raise InputError(f"[chains] has unknown key(s) {', '.join(unknown)}; known: config", where=str(SETTINGS_FILE))
    files = table.get("config", [])
    files = [files] if isinstance(files, str) else files
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InputError("[chains] config must be a path or a list of paths", where=str(SETTINGS_FILE))
    return [SETTINGS_FILE.parent / f for f in files]


def default_chain(extra: Iterable[str | Path] = ()) -> str:
    """The chain a command uses without --chain: the one the first --chain-config (else the user's config) defines, else base."""
    for path in [*extra, *user_chain_files()]:
        return load_chain_file(path).name
    return "base"


def load_chain(name: str, extra: Iterable[str | Path] = ()) -> ChainConfig:
    """Resolve a chain by name or id; user files (`extra`, then the user's config) add chains or override built-ins."""
    chains: dict[str, Path] = dict(_builtin_files())
    chains["devnet"] = devnet_config_path()
    overrides: dict[str, ChainConfig] = {}
    for path in [*extra, *user_chain_files()]:
        cfg = load_chain_file(path)
        overrides.setdefault(cfg.name, cfg)
    if name in overrides:
        return overrides[name]
    for cfg in overrides.values():
        if str(cfg.chain_id) == name:
            return cfg
    name = BUILTIN_IDS.get(name, name)
    if name not in chains:
        raise UnknownNameError("chain", name, list(chains) + list(overrides), where="--chain")
    path = chains[name]
    if name == "devnet" and not path.exists():
        raise InputError(f"no devnet config at {path}: run `mammon devnet up` first (or set {DEVNET_CONFIG_ENV})", where="--chain devnet")
    return load_chain_file(path)


def chain_for_plan(chain_id: int, name: str, *, where: str = "plan") -> ChainConfig:
    """The config of a plan's chain, found by its id (the name is free text): among the user's chain files, else
    the registry's. A plan that names the chain otherwise than that config is refused (PlanError), never reviewed without it."""
    found = next((cfg for cfg in map(load_chain_file, user_chain_files()) if cfg.chain_id == chain_id), None)
    if found is None:
        builtin = BUILTIN_IDS.get(str(chain_id))
        if builtin is None:
            known = ", ".join(f"{n} {i}" for i, n in BUILTIN_IDS.items())
            raise UnknownNameError("chain", name, (), where=f"{where}: chain.id", hint=f": no chain file has its id {chain_id} (built in: {known})")
        found = load_chain(builtin)
    if found.chain_id != chain_id:
        raise PlanError(f"the plan says chain {_shown(name)} is id {chain_id}, the registry says {found.chain_id}", where=f"{where}: chain.id")
    if found.name != name:
        raise PlanError(f"the plan names chain id {chain_id} {_shown(name)}, but the registry's chain {chain_id} is {found.name}: "
                        "pass the --chain-config it was compiled with", where=f"{where}: chain.name")
    return found


def _shown(text: str) -> str:
    """A name from a file, quoted and cut short for an error line."""
    return repr(text if len(text) <= 40 else text[:40] + "…")
