"""Exact conversions between human token amounts and integer base units.

Amounts are parsed from strings with `Decimal` so "0.1" is exactly one tenth; a float never touches money.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

from mammon.errors import AmountError

UINT256_MAX = 2**256 - 1


MAX_DIGITS = 100  # a uint256 has 78 digits; 100 leaves room for 18 decimals
PLAIN_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def plain_decimal(text: str | int | Decimal, *, what: str = "amount", where: str | None = None) -> Decimal:
    """A number as the user wrote it: digits with at most one '.', or refused (never rewritten).

    `"1.000,50"`, `"1,000"`, `"1_000"`, `"1e3"`, `" 5"` and floats are refused rather than guessed at;
    a Python int or a finite Decimal is taken as it is.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, Decimal)):
        raise AmountError(f"{what} must be a decimal string (e.g. '1000.50'), got {type(text).__name__}"
                          + ("; floats lose precision" if isinstance(text, float) else ""), where=where)
    if isinstance(text, int):
        value = Decimal(text)
    elif isinstance(text, Decimal):
        if not text.is_finite():
            raise AmountError(f"{what} {text} is not a finite number", where=where)
        value = text
    elif not PLAIN_AMOUNT.fullmatch(text):
        raise AmountError(f"{what} {text[:60]!r} is not a plain decimal number: write digits with at most one '.' "
                          "(no thousands separators, commas, underscores, exponents or spaces)", where=where)
    else:
        value = Decimal(text)
    if len(value.as_tuple().digits) + abs(int(value.as_tuple().exponent)) > MAX_DIGITS:
        raise AmountError(f"{what} {str(text)[:60]} has more than {MAX_DIGITS} digits", where=where)
    return value


_SIMPLE_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_SIMPLE_MAX_CHARS = MAX_DIGITS // 2  # digits + exponent of such a text are at most twice its length


def parse_amount(text: str | int | Decimal, decimals: int, *, symbol: str, where: str | None = None, allow_zero: bool = False) -> int:
    """Turn a positive decimal string into base units, refusing zero (unless a holding), negatives and extra precision."""
    if type(text) is str and len(text) <= _SIMPLE_MAX_CHARS and decimals >= 0:
        # The usual text ("1000.5") in integer arithmetic; anything it would refuse goes to the Decimal path,
        # which decides and words the refusal (tests/test_units.py compares the two).
        m = _SIMPLE_AMOUNT.fullmatch(text)
        if m is not None:
            whole, frac = m.group(1), m.group(2) or ""
            if len(frac) > decimals and frac[decimals:].strip("0"):
                return _parse_decimal(text, decimals, symbol=symbol, where=where, allow_zero=allow_zero)
            raw = int(whole) * 10**decimals + (int(frac[:decimals].ljust(decimals, "0")) if decimals else 0)
            if (raw or allow_zero) and raw <= UINT256_MAX:
                return raw
    return _parse_decimal(text, decimals, symbol=symbol, where=where, allow_zero=allow_zero)


def _parse_decimal(text: str | int | Decimal, decimals: int, *, symbol: str, where: str | None = None, allow_zero: bool = False) -> int:
    """`parse_amount` in `Decimal` arithmetic: every input, every refusal."""
    value = plain_decimal(text, where=where)
    if value < 0 or (value == 0 and not allow_zero):
        raise AmountError(f"amount must be positive, got {text}", where=where)
    with localcontext() as ctx:
        ctx.prec = 2 * MAX_DIGITS
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > decimals and value != value.quantize(Decimal(1).scaleb(-decimals)):
            raise AmountError(f"amount {text} has more decimals than {symbol} ({decimals})", where=where)
        raw = int(value.scaleb(decimals))
    if raw > UINT256_MAX:
        raise AmountError(f"amount {text} is more than a uint256 holds", where=where)
    return raw


def to_decimal(raw: int, decimals: int) -> Decimal:
    """Base units to an exact Decimal in token units."""
    with localcontext() as ctx:
        ctx.prec = 100
        return Decimal(raw).scaleb(-decimals)


_EXACT_FORMAT = 10**28  # the integer path's range (the Decimal path below is exact for every uint256 too)


def format_amount(raw: int, decimals: int, symbol: str | None = None, *, places: int | None = None) -> str:
    """Render base units for people: thousands separators, at least two places, no float rounding."""
    if raw == UINT256_MAX:
        text = "all (uint256 max)"
        return f"{text} {symbol}" if symbol else text
    if places is None and -_EXACT_FORMAT < raw < _EXACT_FORMAT and decimals >= 0:
        # Integer arithmetic for the usual amounts; the same text as the Decimal path below (tests/test_units.py compares the two).
        whole_units, rest = divmod(abs(raw), 10**decimals)
        frac = str(rest).rjust(decimals, "0").rstrip("0") if decimals else ""
        out = f"{'-' if raw < 0 else ''}{whole_units:,}.{frac.ljust(2, '0')}"
        return f"{out} {symbol}" if symbol else out
    return _format_decimal(raw, decimals, symbol, places=places)


def _format_decimal(raw: int, decimals: int, symbol: str | None = None, *, places: int | None = None) -> str:
    """`format_amount` in `Decimal` arithmetic, for every amount (but the uint256 sentinel)."""
    sign = "-" if raw < 0 else ""
    value = to_decimal(abs(raw), decimals)
    if places is None:
        with localcontext() as ctx:
            ctx.prec = 2 * MAX_DIGITS  # `normalize` rounds to the context's precision: 28 digits by default
            text = f"{value.normalize():f}"
        whole, _, frac = text.partition(".")
        frac = (frac + "00")[: max(2, len(frac))]
    else:
        with localcontext() as ctx:
            ctx.prec = 100
            whole, _, frac = f"{value.quantize(Decimal(1).scaleb(-places)):f}".partition(".")
    out = f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")
    return f"{out} {symbol}" if symbol else out
