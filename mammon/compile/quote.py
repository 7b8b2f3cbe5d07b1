"""Expected swap output at plan time: from pool reserves in the market snapshot, else from USD prices."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from mammon.protocols.base import Asset, Context


def constant_product_out(amount_in: int, reserve_in: int, reserve_out: int, fee_ppm: int) -> int:
    """x*y=k output after a fee taken from the input (Uniswap V2 / Aerodrome volatile / full-range V3)."""
    effective = amount_in * (1_000_000 - fee_ppm)
    return effective * reserve_out // (reserve_in * 1_000_000 + effective)


def price_out(ctx: Context, token_in: Asset, token_out: Asset, amount_in: int, fee_ppm: int) -> int:
    """Output implied by USD prices less the pool fee, when no reserves are known."""
    value = Decimal(amount_in).scaleb(-token_in.decimals) * ctx.price(token_in.symbol) / ctx.price(token_out.symbol)
    value *= Decimal(1_000_000 - fee_ppm) / Decimal(1_000_000)
    return int(value.scaleb(token_out.decimals).to_integral_value(rounding=ROUND_DOWN))
