"""Gas cost in USD (`market.gas_cost_usd`): the ETH price, else WETH's, else nothing; rounded to 0.0001 USD."""

from __future__ import annotations

from decimal import Decimal

from mammon.market import gas_cost_usd


def test_eth_is_priced_by_eth_then_weth_then_not_at_all() -> None:
    cost = Decimal("0.000123456789012")
    assert gas_cost_usd(cost, {"ETH": Decimal("3000"), "WETH": Decimal("2999")}) == Decimal("0.3704")
    assert gas_cost_usd(cost, {"WETH": Decimal("2999"), "USDC": Decimal("1")}) == Decimal("0.3702")
    assert gas_cost_usd(cost, {"USDC": Decimal("1")}) == Decimal("0.0000")

