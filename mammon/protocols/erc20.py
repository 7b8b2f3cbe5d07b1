"""ERC-20 `approve` for exact amounts: the compiler puts one before every spend that needs it."""

from __future__ import annotations

from mammon.compile.amounts import Amount
from mammon.protocols.base import Asset, Draft


def approve(token: Asset, spender: str, spender_label: str, amount: Amount) -> Draft:
    """Never unlimited: the allowance equals the amount the next step spends (a reference if it is one)."""
    return Draft(
        kind="approve",
        description=f"Approve {spender_label} to spend {token.symbol}",
        target=token.address,
        target_label=f"{token.symbol} token",
        abi="erc20/ERC20",
        function="approve",
        args={"spender": spender, "value": amount.expected},
        arg_tokens={"value": token},
        arg_amounts={"value": amount},
        gas_action="approve",
    )
