"""The optimizer's recommendations go in as it spells them: display names, any-case tokens, Decimal numbers.

A recommendation spelled the optimizer's way compiles to exactly the plan of the same move spelled in
mammon's keys (same content hash), applies on the simulator and diffs clean; what cannot be read
exactly (a float, NaN, more places than the token has, an unknown or ambiguous name) is refused with
one line naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mammon import Recommendation, compile_plan
from mammon import protocols
from mammon.errors import AmbiguousNameError, InputError, UnknownNameError
from mammon.plan.model import Plan
from mammon.plan.planfile import dump
from mammon.protocols.aave_v3 import AaveV3
from mammon.run.api import apply_file
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, write_yaml

# The move of the seed's example, in mammon's own keys.
CANONICAL = {"from_protocol": "moonwell", "to_protocol": "aave_v3", "token": "USDC", "amount": "1000", "expected_apy": "8.5",
             "reason": "Higher APY in Aave V3", "confidence": 85}

VENUE_SPELLINGS = [
    ("Aave V3", "aave_v3"), ("aave-v3", "aave_v3"), ("AAVE_V3", "aave_v3"), ("aave", "aave_v3"), ("aave v3", "aave_v3"), ("Aave  V3 ", "aave_v3"),
    ("Moonwell", "moonwell"), ("MOONWELL", "moonwell"), ("Morpho", "morpho"), ("Aerodrome", "aerodrome"),
]


def plan_of(fields: dict[str, Any]) -> Plan:
    return compile_plan(Recommendation.of(fields), chain="base", wallet=WALLET, now=NOW)


CANONICAL_PLAN = plan_of(CANONICAL)


# --- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spelling", "key"), VENUE_SPELLINGS)
def test_a_venue_resolves_from_every_spelling(spelling: str, key: str) -> None:
    assert protocols.resolve_venue(spelling) == key


@pytest.mark.parametrize("source", ["Moonwell", "moonwell", "MOONWELL"])
@pytest.mark.parametrize("target", ["Aave V3", "aave-v3", "AAVE_V3", "aave"])
@pytest.mark.parametrize("token", ["USDC", "usdc", "Usdc"])
def test_the_seed_spelling_compiles_to_the_canonical_plan(source: str, target: str, token: str) -> None:
    plan = plan_of({**CANONICAL, "from_protocol": source, "to_protocol": target, "token": token})
    assert plan == CANONICAL_PLAN, "the plan holds the registry's keys, whatever the spelling"
    assert plan.content_hash == CANONICAL_PLAN.content_hash


@pytest.mark.parametrize("spelling", ["Morpho", "morpho", "MORPHO"])
def test_none_is_the_wallet(spelling: str) -> None:
    plan = plan_of({"from_protocol": None, "to_protocol": spelling, "token": "usdc", "amount": Decimal("250.5")})
    [rec] = plan.recommendations
    assert (rec.from_protocol, rec.to_protocol, rec.token, rec.amount) == (None, "morpho", "USDC", "250.5")


@pytest.mark.parametrize("swap_venue", ["Uniswap V3", "uniswap-v3", "uniswap", "Aerodrome"])
def test_swap_venue_by_display_name(swap_venue: str) -> None:
    plan = plan_of({"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "usdc", "to_token": "weth", "amount": "3000",
                    "swap_venue": swap_venue})
    [rec] = plan.recommendations
    assert (rec.token, rec.to_token, rec.swap_venue) == ("USDC", "WETH", protocols.resolve_venue(swap_venue))
    [swap] = [s for s in plan.steps if s.kind == "swap"]
    assert swap.venue == rec.swap_venue


def test_unknown_protocol_lists_the_known_names() -> None:
    with pytest.raises(UnknownNameError) as err:
        plan_of({**CANONICAL, "to_protocol": "Compound"})
    assert str(err.value) == ("recommendation.to_protocol: unknown protocol 'Compound'; known: Aave V3 (aave_v3), Aerodrome (aerodrome), "
                              "ERC-4626 (erc4626), Moonwell (moonwell), Morpho (morpho), Uniswap V3 (uniswap_v3)")


def test_tokens_match_case_only_nothing_fuzzier() -> None:
    with pytest.raises(UnknownNameError, match=r"^recommendation.token: unknown token on base 'usd'; known: USDC, USDbC, WETH$"):
        plan_of({**CANONICAL, "token": "usd"})
    with pytest.raises(UnknownNameError, match="unknown token on base 'USDC.e'"):
        plan_of({**CANONICAL, "token": "USDC.e"})


class AaveV2(AaveV3):
    """A second Aave that also answers to "aave": the alias is then ambiguous."""

    name = "aave_v2"
    display = "Aave V2"
    aliases = ("aave",)


@pytest.fixture
def two_aaves(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry = {**protocols._registry(), "aave_v2": AaveV2}
    monkeypatch.setattr(protocols, "_registry", lambda: registry)
    monkeypatch.setattr(protocols, "_by_key", cache(protocols._by_key.__wrapped__))
    yield


@pytest.mark.usefixtures("two_aaves")
def test_a_name_two_venues_answer_to_is_refused() -> None:
    with pytest.raises(AmbiguousNameError) as err:
        plan_of({**CANONICAL, "to_protocol": "AAVE"})
    assert str(err.value) == ("recommendation.to_protocol: protocol 'AAVE' is ambiguous: it matches Aave V2 (aave_v2), Aave V3 (aave_v3); "
                              "use one of those names")
    assert protocols.resolve_venue("Aave V3") == "aave_v3", "the display names still tell them apart"


@pytest.mark.usefixtures("two_aaves")
def test_ambiguous_name_on_the_command_line(mammon: Mammon, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "rec.yaml", {**CANONICAL, "to_protocol": "aave"})
    line = mammon.refuses("plan", path, "--wallet", WALLET)
    assert line == f"{path}: to_protocol: protocol 'aave' is ambiguous: it matches Aave V2 (aave_v2), Aave V3 (aave_v3); use one of those names"


# --- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [Decimal("1000"), 1000, "1000", Decimal("1E+3"), Decimal("1000.000000"), " 1000 "],
                         ids=["Decimal", "int", "str", "Decimal-exponent", "Decimal-trailing-zeros", "str-spaces"])
@pytest.mark.parametrize("apy", [Decimal("8.5"), "8.5", Decimal("8.50")], ids=["Decimal", "str", "Decimal-8.50"])
def test_every_exact_number_form_compiles(amount: Any, apy: Any) -> None:
    plan = plan_of({**CANONICAL, "from_protocol": "Moonwell", "to_protocol": "Aave V3", "amount": amount, "expected_apy": apy})
    [rec] = plan.recommendations
    assert Decimal(rec.amount) == 1000 and "E" not in rec.amount, "kept as plain decimal text"
    assert rec.expected_apy == Decimal("8.5")
    assert [s.id for s in plan.steps] == [s.id for s in CANONICAL_PLAN.steps]
    assert plan.steps == CANONICAL_PLAN.steps, "the same calldata whatever form the number came in"


def test_expected_apy_is_a_percentage_in_the_review(mammon: Mammon, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    dump(CANONICAL_PLAN, path)
    out = mammon("show", path).stdout
    assert 'moves     Moonwell -> Aave V3: 1000 USDC · confidence 85 · expected APY 8.5% · "Higher APY in Aave V3"' in out


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", 1000.5, "amount: got the float 1000.5, which has already lost precision: pass Decimal(str(x)) or a decimal string"),
    ("expected_apy", 8.5, "expected_apy: got the float 8.5, which has already lost precision: pass Decimal(str(x)) or a decimal string"),
    ("amount", Decimal("NaN"), "amount: must be a finite number, got Decimal('NaN')"),
    ("amount", Decimal("-Infinity"), "amount: must be a finite number, got Decimal('-Infinity')"),
    ("expected_apy", Decimal("Infinity"), "expected_apy: must be a finite number, got Decimal('Infinity')"),
    ("expected_apy", "8,5", "expected_apy: '8,5' is not a decimal number (digits with at most one '.')"),
    ("amount", True, "amount: must be a decimal string (e.g. '1000.50'), an int or a Decimal, got True"),
    ("confidence", 85.0, "confidence: must be a whole number from 0 to 100, got 85.0"),
    ("confidence", True, "confidence: must be a whole number from 0 to 100, got True"),
    ("confidence", 101, "confidence: Input should be less than or equal to 100"),
], ids=lambda v: repr(v) if not isinstance(v, str) or len(v) < 20 else "")
def test_inexact_numbers_are_refused(field: str, value: Any, message: str) -> None:
    with pytest.raises(InputError) as err:
        Recommendation.of({**CANONICAL, field: value})
    assert str(err.value) == f"recommendation: {message}"


def test_a_decimal_with_more_places_than_the_token_is_refused_naming_its_decimals() -> None:
    with pytest.raises(InputError) as err:
        plan_of({**CANONICAL, "amount": Decimal("1000.0000001")})
    assert str(err.value) == "recommendation.amount: amount 1000.0000001 has more decimals than USDC (6)"


def test_an_object_with_the_attributes_is_a_recommendation() -> None:
    class SeedRecommendation:  # what the optimizer builds: a plain object, with more than mammon reads
        from_protocol = "Moonwell"
        to_protocol = "Aave V3"
        token = "USDC"
        amount = Decimal("1000")
        expected_apy = Decimal("8.5")
        reason = "Higher APY in Aave V3"
        confidence = 85
        timestamp = "2026-01-01T00:00:00Z"

    assert plan_of(SeedRecommendation()) == CANONICAL_PLAN  # type: ignore[arg-type]


def test_a_mapping_with_an_unknown_key_is_refused_like_a_file() -> None:
    with pytest.raises(InputError, match=r"^recommendation: amout: unknown field"):
        Recommendation.of({**CANONICAL, "amout": "1"})


# --- files in the seed's spelling -------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    'from_protocol: Moonwell\nto_protocol: Aave V3\ntoken: USDC\namount: "1000"\nexpected_apy: "8.5"\nreason: Higher APY in Aave V3\nconfidence: 85\n',
    "from_protocol: Moonwell\nto_protocol: Aave V3\ntoken: usdc\namount: 1000\nexpected_apy: 8.5\nreason: Higher APY in Aave V3\nconfidence: 85\n",
    "from_protocol: MOONWELL\nto_protocol: aave-v3\ntoken: USDC\namount: 1000\nexpected_apy: 8.5\nreason: Higher APY in Aave V3\nconfidence: 85\n",
], ids=["quoted", "numbers", "shouting"])
def test_a_seed_file_plans_to_the_canonical_plan(text: str, mammon: Mammon, tmp_path: Path) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text(text, encoding="utf-8")
    out = tmp_path / "plan.yaml"
    mammon("plan", rec, "--wallet", WALLET, "-o", out)
    canonical = tmp_path / "canonical.yaml"
    dump(CANONICAL_PLAN, canonical)
    assert out.read_text(encoding="utf-8") == canonical.read_text(encoding="utf-8")


def test_the_seed_example_applies_on_the_simulator_and_diffs_clean(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "seed-moonwell-to-aave.yaml", "--wallet", WALLET, "-o", out)
    record, result = apply_file(out, state_dir=tmp_path / "state")
    assert record.status == "ok" and result.ok
    assert [s.status for s in record.steps] == ["ok"] * 3
