"""Bad input through the library API (`compile_plan`, `Recommendation`, `Rebalancer`) and the CLI: a typed
MammonError naming the argument or field, on one line, never quoting a value that may be a key or seed phrase;
and what mammon writes (a plan with any expected_apy) it reads back.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mammon import MammonError, Rebalancer, Recommendation, compile_plan, dumps_plan, review
from mammon.errors import InputError
from mammon.plan.model import Plan
from mammon.plan.planfile import loads
from mammon_test_support import NOW, WALLET, Mammon, plan_data, write_yaml

GOOD: dict[str, Any] = {"from_protocol": "moonwell", "to_protocol": "aave_v3", "token": "USDC", "amount": "1000"}
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's well-known first key
PHRASE = "test test test test test test test test test test test junk"


def refused(**fields: Any) -> InputError:
    """The InputError `Recommendation.of` raises for GOOD with `fields` changed."""
    with pytest.raises(InputError) as info:
        Recommendation.of({**GOOD, **fields})
    return info.value


def one_line(exc: MammonError) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


# --- 1. a key or seed phrase given where an address goes is never echoed ---------------------------


@pytest.mark.parametrize(("secret", "described"), [(KEY, "a 66-character value (not shown: it may be a private key)"),
                                                   (KEY[2:], "a 64-character value (not shown: it may be a private key)"),
                                                   (PHRASE, "a 59-character value (not shown: it may be a seed phrase)")])
def test_compile_plan_never_quotes_a_secret_given_as_wallet(secret: str, described: str) -> None:
    with pytest.raises(InputError) as info:
        compile_plan(Recommendation.of(GOOD), chain="base", wallet=secret, now=NOW)
    assert one_line(info.value) == f"--wallet: {described} is not a 0x-prefixed 20-byte hex address"
    assert secret[10:30] not in str(info.value)


def test_rebalancer_never_quotes_a_key_given_as_wallet(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        Rebalancer(chain="base", wallet=KEY, plan_dir=tmp_path)
    assert str(info.value) == "wallet: a 66-character value (not shown: it may be a private key) is not a 0x-prefixed 20-byte hex address"


def test_cli_never_prints_a_key_given_as_wallet(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    line = mammon.refuses("plan", write_yaml(tmp_path / "rec.yaml", GOOD), "--wallet", KEY, "-o", out)
    assert line == "--wallet: a 66-character value (not shown: it may be a private key) is not a 0x-prefixed 20-byte hex address"
    assert not out.exists()


def test_a_short_wrong_address_is_still_quoted() -> None:
    """What cannot be a key is shown: the user sees the typo."""
    with pytest.raises(InputError, match=r"^--wallet: '0x1234' is not a 0x-prefixed 20-byte hex address$"):
        compile_plan(Recommendation.of(GOOD), wallet="0x1234", now=NOW)
    with pytest.raises(InputError, match=r"'0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\\n' is not"):
        compile_plan(Recommendation.of(GOOD), wallet=WALLET + "\n", now=NOW)


def test_seed_phrase_given_as_derivation_path_is_not_quoted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAMMON_MNEMONIC", PHRASE)
    monkeypatch.delenv("MAMMON_PRIVATE_KEY", raising=False)
    with pytest.raises(InputError) as info:
        Rebalancer(chain="base", wallet=WALLET, runner="rpc", rpc_url="http://127.0.0.1:9", read_node=False,
                   derivation_path=PHRASE, plan_dir=tmp_path)
    assert str(info.value) == ("--derivation-path: a 59-character value (not shown: it may be a seed phrase) "
                               "is not a BIP-32 path like m/44'/60'/0'/0/0")


# --- 2. expected_apy is written as plain digits, so the plan reads back --------------------------------


@pytest.mark.parametrize(("apy", "written"), [(Decimal("1E+1"), "'10'"), (Decimal("1E-8"), "'0.00000001'"),
                                              (Decimal("0E-7"), "'0.0000000'"), ("0.00000001", "'0.00000001'"),
                                              (Decimal("8.5"), "'8.5'")])
def test_expected_apy_is_written_without_an_exponent(apy: Any, written: str) -> None:
    plan = compile_plan(Recommendation.of({**GOOD, "expected_apy": apy}), chain="base", wallet=WALLET, now=NOW)
    text = dumps_plan(plan)
    assert f"expected_apy: {written}\n" in text
    again = loads(text)
    assert again.recommendations[0].expected_apy == Decimal(apy)
    assert again.content_hash == plan.content_hash
    assert json.loads(dumps_plan(plan, "json"))["recommendations"][0]["expected_apy"] == written.strip("'")


def test_cli_shows_the_plan_it_wrote_with_a_tiny_apy(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    mammon("plan", write_yaml(tmp_path / "rec.yaml", {**GOOD, "expected_apy": "0.00000001"}), "--wallet", WALLET, "-o", out)
    assert "expected APY 0.00000001%" in mammon("show", out).stdout


def test_rebalancer_executes_a_recommendation_with_a_normalized_apy(tmp_path: Path) -> None:
    r = Rebalancer(chain="base", wallet=WALLET, runner="sim", plan_dir=tmp_path / "plans", state_dir=tmp_path / "state")
    result = r.execute({**GOOD, "amount": "10", "expected_apy": Decimal("10.0").normalize()})
    assert result.success


# --- 3. a naive `now` ------------------------------------------------------------------------------


def test_naive_now_is_refused() -> None:
    with pytest.raises(InputError) as info:
        compile_plan(Recommendation.of(GOOD), wallet=WALLET, now=datetime(2026, 1, 1, 12, 0))
    assert one_line(info.value) == ("now: 2026-01-01T12:00:00 has no time zone (naive): "
                                    "pass datetime.now(timezone.utc) or an aware datetime")


def test_now_in_another_zone_is_recorded_in_utc() -> None:
    plan = compile_plan(Recommendation.of(GOOD), wallet=WALLET, now=NOW.astimezone(timezone(timedelta(hours=2))))
    assert plan == compile_plan(Recommendation.of(GOOD), wallet=WALLET, now=NOW)
    assert review(plan, now=NOW).plan.created_at == NOW


def test_now_that_is_not_a_datetime_is_refused() -> None:
    with pytest.raises(InputError, match=r"^now: expected a datetime, got str$"):
        compile_plan(Recommendation.of(GOOD), wallet=WALLET, now="2026-01-01")  # type: ignore[arg-type]


# --- 4. text a plan file cannot hold as it is ------------------------------------------------------


@pytest.mark.parametrize(("field", "text", "said"), [
    ("reason", "Higher APY in Aave V3\x85", "reason: contains U+0085 (a C1 control character) at character 22"),
    ("reason", "caf\udce9", "reason: contains U+DCE9 (a lone surrogate) at character 4"),
    ("token", "USDC\x9b", "token: contains U+009B (a C1 control character) at character 5"),
    ("to_protocol", "\x80aave_v3", "to_protocol: contains U+0080 (a C1 control character) at character 1"),
])
def test_unsavable_characters_are_refused(field: str, text: str, said: str) -> None:
    assert one_line(refused(**{field: text})).startswith(f"recommendation: {said}: remove it")


def test_ordinary_unicode_and_controls_in_a_reason_round_trip() -> None:
    reason = "APY 8 % → 9 % 😀\tline\nnext\u2028\x7f"
    plan = compile_plan(Recommendation.of({**GOOD, "reason": reason}), wallet=WALLET, now=NOW)
    assert loads(dumps_plan(plan)).recommendations[0].reason == reason


def test_rebalancer_refuses_a_nel_reason_before_writing_a_plan(tmp_path: Path) -> None:
    r = Rebalancer(chain="base", wallet=WALLET, runner="sim", plan_dir=tmp_path / "plans", state_dir=tmp_path / "state")
    with pytest.raises(InputError, match=r"reason: contains U\+0085"):
        r.execute({**GOOD, "amount": "10", "reason": "Higher APY\x85"})
    assert not (tmp_path / "plans").exists() or not any((tmp_path / "plans").iterdir())


def test_cli_refuses_a_nel_reason(mammon: Mammon, tmp_path: Path) -> None:
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps({**GOOD, "reason": "x\x85"}), encoding="utf-8")
    line = mammon.refuses("plan", rec, "--wallet", WALLET, "-o", tmp_path / "plan.yaml")
    assert line.startswith(f"{rec}: reason: contains U+0085 (a C1 control character) at character 2")


# --- 5. valid_for ------------------------------------------------------------------------------------


def test_huge_valid_for_is_refused_with_the_bound() -> None:
    assert one_line(refused(valid_for="P999999999D")).startswith(
        "recommendation: valid_for: at most 7 days (P7D), got 999999999 days, 0:00:00:")


def test_valid_for_of_seven_days_compiles() -> None:
    plan = compile_plan(Recommendation.of({**GOOD, "valid_for": "P7D"}), wallet=WALLET, now=NOW)
    assert plan.valid_until == NOW + timedelta(days=7)


# --- 6. the constructor ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "said"), [
    ({**GOOD, "amount": 1.5}, "recommendation: amount: got the float 1.5, which has already lost precision"),
    ({k: v for k, v in GOOD.items() if k != "token"}, "recommendation: token: Field required"),
])
def test_constructor_raises_the_input_error_of_of(fields: dict[str, Any], said: str) -> None:
    with pytest.raises(InputError) as made:
        Recommendation(**fields)
    with pytest.raises(InputError) as read:
        Recommendation.of(fields)
    assert str(made.value) == str(read.value)
    assert str(made.value).startswith(said)


def test_a_plan_with_a_bad_recommendation_still_names_the_field() -> None:
    """Inside a plan (model_validate) the recommendation's problems stay pydantic's, for the file reader to name."""
    data = plan_data(compile_plan(Recommendation.of(GOOD), wallet=WALLET, now=NOW))
    data["recommendations"][0]["amount"] = 1.5
    with pytest.raises(ValidationError, match="recommendations.0.amount"):
        Plan.model_validate(data)


# --- 7. what compile_plan takes --------------------------------------------------------------------


def test_compile_plan_takes_a_mapping_as_the_rebalancer_does() -> None:
    assert compile_plan(GOOD, wallet=WALLET, now=NOW) == compile_plan(Recommendation.of(GOOD), wallet=WALLET, now=NOW)
    two = compile_plan([GOOD, {**GOOD, "amount": "5"}], wallet=WALLET, now=NOW)
    assert [r.amount for r in two.recommendations] == ["1000", "5"]


@pytest.mark.parametrize(("given", "kwargs", "said"), [
    ("moonwell to aave", {}, "recommendations: expected a Recommendation, a mapping or a list of them, got str"),
    (None, {}, "recommendations: expected a Recommendation, a mapping or a list of them, got NoneType"),
    ([], {}, "recommendations: nothing to compile"),
    ([GOOD, 7], {}, "recommendation[1]: expected a recommendation (a mapping or an object with"),
    ([GOOD, {**GOOD, "amount": 1.5}], {}, "recommendation[1]: amount: got the float 1.5"),
    (GOOD, {"chain": None}, "chain: expected a chain name (e.g. 'base') or a ChainConfig, got NoneType"),
])
def test_compile_plan_names_a_bad_argument(given: Any, kwargs: dict[str, Any], said: str) -> None:
    with pytest.raises(InputError) as info:
        compile_plan(given, wallet=WALLET, now=NOW, **kwargs)
    assert one_line(info.value).startswith(said)


# --- 8. numbers out of range, and long values in messages --------------------------------------------


@pytest.mark.parametrize("value", [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal("1E+999999999"), Decimal("50.5")])
def test_confidence_not_a_whole_number_in_range_is_refused(value: Decimal) -> None:
    assert one_line(refused(confidence=value)).startswith("recommendation: confidence: must be a whole number from 0 to 100, got Decimal(")


def test_confidence_as_a_whole_decimal_is_taken() -> None:
    assert Recommendation.of({**GOOD, "confidence": Decimal("85")}).confidence == 85


@pytest.mark.parametrize(("field", "value"), [("amount", Decimal("1" * 5000)), ("expected_apy", "x" * 5000),
                                              ("from_protocol", "moonwell" * 1000), ("token", "U" * 5000)])
def test_long_values_are_cut_in_messages(field: str, value: Any) -> None:
    text = one_line(refused(**{field: value}))
    assert text.startswith(f"recommendation: {field}: ")
    assert len(text) < 200
    assert "5000 characters" in text or "8000 characters" in text


def test_a_long_amount_in_a_file_is_cut_in_the_cli_line(mammon: Mammon, tmp_path: Path) -> None:
    line = mammon.refuses("plan", write_yaml(tmp_path / "rec.yaml", {**GOOD, "amount": "1" * 5000}), "--wallet", WALLET,
                          "-o", tmp_path / "plan.yaml")
    assert "has more than 100 digits" in line
    assert len(line) < 250



@pytest.mark.parametrize("field, value, expected", [
    ("slippage_bps", True, "slippage_bps: must be a whole number of basis points, got True"),
    ("slippage_bps", False, "slippage_bps: must be a whole number of basis points, got False"),
    ("valid_for", True, "valid_for: must be a duration such as PT10M, got True"),
])
def test_a_boolean_is_not_a_number_of_bps_or_seconds(field: str, value: bool, expected: str) -> None:
    """YAML's `true` was read as 1 bps or one second of validity; confidence already refused it."""
    with pytest.raises(InputError) as exc:
        Recommendation.of({"from_protocol": "moonwell", "to_protocol": "aave_v3", "token": "USDC", "amount": "100", field: value})
    assert expected in str(exc.value)
