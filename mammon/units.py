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


def parse_amount(text: str | int | Decimal, decimals: int, *, symbol: str, where: str | None = None, allow_zero: bool = False) -> int:
    """Turn a positive decimal string into base units, refusing zero (unless a holding), negatives and extra precision."""
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


def format_amount(raw: int, decimals: int, symbol: str | None = None, *, places: int | None = None) -> str:
    """Render base units for people: thousands separators, at least two places, no float rounding."""
    if raw == UINT256_MAX:
        text = "all (uint256 max)"
        return f"{text} {symbol}" if symbol else text
    sign = "-" if raw < 0 else ""
    value = to_decimal(abs(raw), decimals)
    if places is None:
        text = f"{value.normalize():f}"
        whole, _, frac = text.partition(".")
        frac = (frac + "00")[: max(2, len(frac))]
    else:
        with localcontext() as ctx:
            ctx.prec = 100
            whole, _, frac = f"{value.quantize(Decimal(1).scaleb(-places)):f}".partition(".")
    out = f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")
    return f"{out} {symbol}" if symbol else out
