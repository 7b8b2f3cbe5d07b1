"""Amount parsing and formatting take integer shortcuts for the usual values (issue #10): each must give
exactly what the `Decimal` arithmetic gives (its result, or its refusal word for word). Hex data is checked
with a faster pattern that must accept exactly what the old one did."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammon.errors import AmountError
from mammon.types import _hex_data
from mammon.units import UINT256_MAX, _format_decimal, _parse_decimal, format_amount, parse_amount


def _outcome(parse: object, text: str | int | Decimal, decimals: int, allow_zero: bool) -> object:
    try:
        return parse(text, decimals, symbol="TOK", where="here", allow_zero=allow_zero)  # type: ignore[operator]
    except AmountError as exc:
        return ("refused", str(exc))


DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=40)
AMOUNT_TEXTS = st.one_of(
    st.builds(lambda w, f: f"{w}.{f}" if f else w, DIGITS, st.one_of(st.just(""), DIGITS)),
    st.builds(lambda w, f: f"{w}.{f}" if f else w, st.text("01", min_size=1, max_size=3), st.text("0", max_size=30)),
    st.text(alphabet="0123456789.-e, _", max_size=12),
)


@settings(max_examples=3000, deadline=None)
@given(AMOUNT_TEXTS, st.integers(0, 36), st.booleans())
def test_parse_amount_is_the_decimal_arithmetic(text: str, decimals: int, allow_zero: bool) -> None:
    assert _outcome(parse_amount, text, decimals, allow_zero) == _outcome(_parse_decimal, text, decimals, allow_zero)


@pytest.mark.parametrize("text", ["0", "0.0", "1", "1.5", "1.500000000", "1.0000001", "00012.50", "-1", "1e3", "1,000", " 1",
                                  "1.", ".5", "0." + "0" * 60 + "1", str(UINT256_MAX), str(UINT256_MAX + 1), "9" * 60, "1\n"])
@pytest.mark.parametrize("decimals", [0, 6, 18])
def test_parse_amount_edges_are_the_decimal_arithmetic(text: str, decimals: int) -> None:
    for allow_zero in (False, True):
        assert _outcome(parse_amount, text, decimals, allow_zero) == _outcome(_parse_decimal, text, decimals, allow_zero)


RAWS = st.one_of(st.integers(-(10**30), 10**30), st.integers(-(2**260), 2**260),
                 st.builds(lambda m, e: m * 10**e, st.integers(-999, 999), st.integers(0, 40)))


@settings(max_examples=3000, deadline=None)
@given(RAWS, st.integers(0, 36), st.sampled_from([None, "USDC", ""]))
def test_format_amount_is_the_decimal_arithmetic(raw: int, decimals: int, symbol: str | None) -> None:
    if raw != UINT256_MAX:
        assert format_amount(raw, decimals, symbol) == _format_decimal(raw, decimals, symbol)


@pytest.mark.parametrize("raw", [0, 1, -1, 10**6, 1_234_567, -1_234_567, 10**28 - 1, 10**28, -(10**28) + 1, 123456789012345678901234567890])
@pytest.mark.parametrize("decimals", [0, 2, 6, 18])
def test_format_amount_edges_are_the_decimal_arithmetic(raw: int, decimals: int) -> None:
    assert format_amount(raw, decimals, "TOK") == _format_decimal(raw, decimals, "TOK")


def test_amounts_as_people_read_them() -> None:
    assert format_amount(1_234_567_890, 6, "USDC") == "1,234.56789 USDC"
    assert format_amount(10**18, 18, "WETH") == "1.00 WETH"
    assert format_amount(-5, 0) == "-5.00"
    assert parse_amount("1000.5", 6, symbol="USDC") == 1_000_500_000


HEX_BYTES = re.compile(r"0x([0-9a-fA-F]{2})*")  # what hex data meant before the faster pattern (issue #10)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0x123abcDEFg \n", max_size=12).map(lambda t: t if t.startswith("0x") else "0x" + t) | st.text(max_size=6))
def test_hex_data_accepts_exactly_whole_bytes_of_hex(text: str) -> None:
    try:
        accepted = _hex_data(text) == text.lower()
    except ValueError:
        accepted = False
    assert accepted == bool(HEX_BYTES.fullmatch(text))
