"""Exact conversions between human token amounts and integer base units.

Amounts are parsed from strings with `Decimal` so "0.1" is exactly one tenth; a float never touches money.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

from mammon.errors import AmountError

UINT256_MAX = 2**256 - 1


def parse_amount(text: str | int | Decimal, decimals: int, *, symbol: str, where: str | None = None, allow_zero: bool = False) -> int:
    """Turn a positive decimal string into base units, refusing zero (unless a holding), negatives and extra precision."""
    try:
        value = Decimal(str(text).replace("_", "").replace(",", ""))
    except InvalidOperation:
        raise AmountError(f"amount {text!r} is not a number", where=where) from None
    if not value.is_finite():
        raise AmountError(f"amount {text!r} is not a finite number", where=where)
    if value < 0 or (value == 0 and not allow_zero):
        raise AmountError(f"amount must be positive, got {text}", where=where)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > decimals and value != value.quantize(Decimal(1).scaleb(-decimals)):
        raise AmountError(f"amount {text} has more decimals than {symbol} ({decimals})", where=where)
    with localcontext() as ctx:
        ctx.prec = 100
        return int(value.scaleb(decimals))


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
