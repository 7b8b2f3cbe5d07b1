"""The calls mammon compiles, and the role of every address in them.

A plan may only contain calls the compiler emits. For each one (keyed by its canonical signature, as
decoded from the bytes) a rule says which registry contract it may be sent to, what each address
argument must be, which tokens the call pulls from the wallet with `transferFrom`, and which argument
is its minimum output. The compiler's own call, the exact ERC-20 `approve`, is declared here; each venue
declares its calls next to the adapter that emits them (`Venue.calls` in `mammon/protocols/<venue>.py`),
so a third-party venue brings its rules in its own file. Address roles:

- ``wallet``: the plan's own wallet (onBehalfOf, to, recipient, receiver, owner);
- ``token``: a token of the chain registry (or, for a call's target, an LP token a venue lists in
  `Venue.lp_labels`);
- ``spender``: a registry contract; `derive` also requires it to be the target of the next step that
  pulls the approved token;
- any other value: a pattern over the registry's labels (``aerodrome.pool_factory``).

Anything else — an ERC-20 ``transfer``, an unknown selector, an address argument with no role — is a call
mammon never compiles, and the plan is refused.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from mammon.chains import ChainConfig
from mammon.compile.inputs import per_config
from mammon.errors import InputError
from mammon.protocols import venue_classes
from mammon.protocols.base import MinOut, PullRule, Rule

__all__ = ["MinOut", "PullRule", "Rule", "is_chain_token", "lp_token", "matches", "registry_roles", "role_of", "rule_for", "rules", "underlying"]

UINT256_MAX = 2**256 - 1

APPROVE = "approve(address,uint256)"


@cache
def rules() -> dict[str, Rule]:
    """Every call mammon compiles: the exact approve, then each installed venue's `calls`.

    Venues sharing a call (Morpho's vaults are ERC-4626 vaults) must declare the same rule; two different
    rules for one signature would make the review depend on the order venues load, so that is refused.
    """
    found: dict[str, tuple[str, Rule]] = {APPROVE: ("mammon", Rule("approve", ("token",), {"spender": "spender"}))}
    for venue in venue_classes():
        for signature, rule in venue.calls.items():
            owner, known = found.setdefault(signature, (venue.name, rule))
            if known != rule:
                raise InputError(f"venues {owner} and {venue.name} declare different rules for {signature}", where="mammon.venues")
    return {signature: rule for signature, (_, rule) in found.items()}


def rule_for(signature: str) -> Rule | None:
    return rules().get(signature)


@lru_cache(maxsize=8192)
def _fullmatch(pattern: str, text: str) -> bool:
    """Whether the regex matches all of `text`; review asks the same few (pattern, label or argument) pairs
    for every step of every plan, so each answer is worked out once (bounded: argument paths come from plans)."""
    return re.fullmatch(pattern, text) is not None


def role_of(path: str, rule: Rule) -> str | None:
    """The role of the address argument at `path` (None: mammon never sets such an argument)."""
    for pattern, role in rule.addresses.items():
        if _fullmatch(pattern, path):
            return role
    return None


@per_config
def registry_roles(chain: ChainConfig) -> dict[str, set[str]]:
    """Every registry address (lower-case) with all the labels it has: token symbols and protocol paths
    (worked out once per loaded chain config, which is shared and never changed: read it, never change it)."""
    return {address: set(labels) for address, labels in chain.address_labels().items()}


@per_config
def _symbols(chain: ChainConfig) -> frozenset[str]:
    return frozenset(t.symbol for t in chain.tokens)


@cache
def _lp_labels() -> frozenset[str]:
    return frozenset(label for venue in venue_classes() for label in venue.lp_labels)


def matches(labels: set[str], patterns: tuple[str, ...] | str, chain: ChainConfig) -> bool:
    """Whether an address with these registry labels plays one of the roles in `patterns`
    ('token' = a chain token, or an LP token a venue lists)."""
    for pattern in (patterns,) if isinstance(patterns, str) else patterns:
        if pattern == "token":
            if labels & _symbols(chain) or labels & _lp_labels():
                return True
        elif any(_fullmatch(pattern, label) for label in labels):
            return True
    return False


def is_chain_token(labels: set[str], chain: ChainConfig) -> bool:
    return bool(labels & _symbols(chain))


def underlying(chain: ChainConfig, labels: set[str]) -> str | None:
    """The token address a market or vault holds (its venue's `underlying_symbol`), from the registry."""
    symbol: str | None = None
    for label in sorted(labels):
        for venue in venue_classes():
            held = venue.underlying_symbol(chain, label)
            if held is not None:
                symbol = held
                break
    token = next((t for t in chain.tokens if t.symbol == symbol), None)
    return token.address if token else None


def lp_token(chain: ChainConfig, token_a: str, token_b: str) -> str | None:
    """The LP token of the registered pool of two token addresses (its venue's `pool_token`)."""
    for venue in venue_classes():
        found = venue.pool_token(chain, token_a, token_b)
        if found is not None:
            return found
    return None
