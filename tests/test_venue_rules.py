"""A venue is one file: the calls review accepts from a venue are declared next to the adapter that emits them.

Every call the examples compile is covered by the rule of the venue its step names (the compiler's own
`approve` aside), and a third-party venue that declares a call in its own class is reviewed by that rule
with nothing else in mammon changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest

from mammon import compile_plan, load_recommendations
from mammon import protocols
from mammon.errors import InputError
from mammon.protocols.aave_v3 import AaveV3
from mammon.protocols.base import PullRule, Rule
from mammon.review import roles
from mammon_test_support import EXAMPLES, NOW, WALLET


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_each_compiled_call_is_declared_by_its_own_venue(example: object) -> None:
    recs = load_recommendations(example)
    plan = compile_plan(recs, chain="base", wallet=WALLET, now=NOW)
    for step in plan.steps:
        if step.kind == "approve":
            assert step.decoded.function == roles.APPROVE, "approvals are the compiler's own call"
            continue
        declared = protocols.venue_class(step.venue).calls
        assert step.decoded.function in declared, f"{step.venue} emits {step.decoded.function} without declaring it"
        assert roles.rule_for(step.decoded.function) == declared[step.decoded.function]


class Lender(AaveV3):
    """A third-party lending venue: its own name, its own call."""

    name = "lender"
    display = "Lender"
    aliases = ()
    calls = {"lend(address,uint256)": Rule("deposit", (r"lender\.pool",), {"asset": "token"}, pulls=(PullRule("amount", "asset"),))}


class Copycat(AaveV3):
    """Declares Aave's supply with another rule: review must not depend on which venue loaded last."""

    name = "copycat"
    display = "Copycat"
    aliases = ()
    calls = {"supply(address,uint256,address,uint16)": Rule("deposit", (r"copycat\.pool",))}


def _install(monkeypatch: pytest.MonkeyPatch, *venues: type[protocols.Venue]) -> None:
    registry = {**protocols._registry(), **{v.name: v for v in venues}}
    monkeypatch.setattr(protocols, "_registry", lambda: registry)
    monkeypatch.setattr(roles, "rules", cache(roles.rules.__wrapped__))


@pytest.fixture(autouse=True)
def _fresh_rules() -> Iterator[None]:
    yield
    roles.rules.cache_clear()


def test_a_third_party_venue_brings_its_rules_in_its_own_class(monkeypatch: pytest.MonkeyPatch) -> None:
    assert roles.rule_for("lend(address,uint256)") is None
    _install(monkeypatch, Lender)
    assert roles.rule_for("lend(address,uint256)") == Lender.calls["lend(address,uint256)"]
    assert roles.rule_for("supply(address,uint256,address,uint16)") == AaveV3.calls["supply(address,uint256,address,uint16)"]


def test_two_venues_with_different_rules_for_one_call_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, Copycat)
    with pytest.raises(InputError, match=r"venues aave_v3 and copycat declare different rules for supply\(address,uint256,address,uint16\)"):
        roles.rules()


def test_morpho_and_erc4626_share_their_vault_rules() -> None:
    morpho, erc4626 = protocols.venue_class("morpho"), protocols.venue_class("erc4626")
    assert morpho.calls == erc4626.calls and "deposit(uint256,address)" in roles.rules()

