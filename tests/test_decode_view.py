"""The decoded view of a call: amounts carry decimals only beside a named token, so a plan's bytes stay the same."""

from __future__ import annotations

from mammon.abi import function
from mammon.plan.decode import view

_SPENDER = "0x" + "11" * 20


def _amount(units: dict[str, tuple[str, int]]) -> tuple[str | None, int | None, str | None]:
    data = function("erc20/ERC20", "approve").encode({"spender": _SPENDER, "value": 1_500_000})
    arg = next(a for a in view(data, "USDC", units, {}).args if a.type.startswith("uint"))
    return arg.token, arg.decimals, arg.display


def test_amount_with_a_token_shows_its_decimals() -> None:
    token, decimals, display = _amount({"value": ("USDC", 6)})
    assert (token, decimals) == ("USDC", 6)
    assert display is not None and "1.5" in display and "USDC" in display


def test_amount_with_an_empty_symbol_leaves_decimals_unset() -> None:
    token, decimals, _ = _amount({"value": ("", 6)})
    assert (token, decimals) == ("", None)
