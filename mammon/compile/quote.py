"""Expected swap output at plan time: from pool reserves in the market snapshot, else from USD prices."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from mammon.protocols.base import Asset, Context


def constant_product_out(amount_in: int, reserve_in: int, reserve_out: int, fee_ppm: int, *, round_fee_up: bool) -> int:
    """x*y=k output after a fee taken from the input, rounded as the pool does: Uniswap V3 rounds its fee
    up, Aerodrome's volatile pools round it down (Aerodrome volatile / full-range V3 liquidity)."""
    fee = -(-amount_in * fee_ppm // 1_000_000) if round_fee_up else amount_in * fee_ppm // 1_000_000
    net = amount_in - fee
    return net * reserve_out // (reserve_in + net)


def price_out(ctx: Context, token_in: Asset, token_out: Asset, amount_in: int, fee_ppm: int) -> int:
    """Output implied by USD prices less the pool fee, when no reserves are known."""
    value = Decimal(amount_in).scaleb(-token_in.decimals) * ctx.price(token_in.symbol) / ctx.price(token_out.symbol)
    value *= Decimal(1_000_000 - fee_ppm) / Decimal(1_000_000)
    return int(value.scaleb(token_out.decimals).to_integral_value(rounding=ROUND_DOWN))
