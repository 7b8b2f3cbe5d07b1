"""ERC-20 ledger: balances, allowances and total supply, with OpenZeppelin 4.x rules and messages.

- `approve` replaces the allowance (it does not add to it); approving the zero address reverts.
- `transferFrom` spends the allowance first (`ERC20: insufficient allowance`), then moves the balance
  (`ERC20: transfer amount exceeds balance`); an allowance of 2**256-1 is unlimited and never decremented.
- Transfers to the zero address revert.

`ERC20` is also the base of every contract that is itself a token (Aerodrome LP tokens, vault shares).
"""

from __future__ import annotations

from typing import ClassVar

from mammon.sim.core import MAX_UINT256, ZERO_ADDRESS, Chain, Contract, Msg, SimRevert, addr, external


class TokenMetadata(Contract):
    """The ERC-20 metadata views every token-like contract answers (tokens, aTokens, mTokens, shares, LP)."""

    symbol_: str
    decimals_: int

    @external(view=True)
    def decimals(self, msg: Msg) -> int:
        return self.decimals_

    @external(view=True)
    def symbol(self, msg: Msg) -> str:
        return self.symbol_


class ERC20(TokenMetadata):
    kind = "erc20"
    abis: ClassVar[tuple[str, ...]] = ("erc20/ERC20",)

    def __init__(self, chain: Chain, address: str, label: str, symbol: str, decimals: int) -> None:
        super().__init__(chain, address, label)
        self.symbol_ = symbol
        self.decimals_ = decimals

    # ------------------------------------------------------------------ ledger internals

    def balance(self, owner: str) -> int:
        return self.sload("balance", addr(owner))

    def allowance_of(self, owner: str, spender: str) -> int:
        return self.sload("allowance", addr(owner), addr(spender))

    def supply(self) -> int:
        return self.sload("totalSupply")

    def set_supply(self, value: int) -> None:
        self.sstore(value, "totalSupply")

    def move(self, src: str, dst: str, amount: int) -> None:
        src, dst = addr(src), addr(dst)
        if src == ZERO_ADDRESS:
            raise SimRevert.error("ERC20: transfer from the zero address")
        if dst == ZERO_ADDRESS:
            raise SimRevert.error("ERC20: transfer to the zero address")
        held = self.balance(src)
        if held < amount:
            raise SimRevert.error("ERC20: transfer amount exceeds balance")
        self.sstore(held - amount, "balance", src)
        self.sstore(self.balance(dst) + amount, "balance", dst)
        self.emit("Transfer", **{"from": src, "to": dst, "value": amount})

    def mint_to(self, to: str, amount: int) -> None:
        to = addr(to)
        if to == ZERO_ADDRESS:
            raise SimRevert.error("ERC20: mint to the zero address")
        self.set_supply(self.supply() + amount)
        self.sstore(self.balance(to) + amount, "balance", to)
        self.emit("Transfer", **{"from": ZERO_ADDRESS, "to": to, "value": amount})

    def burn_from(self, owner: str, amount: int) -> None:
        owner = addr(owner)
        held = self.balance(owner)
        if held < amount:
            raise SimRevert.error("ERC20: burn amount exceeds balance")
        self.sstore(held - amount, "balance", owner)
        self.set_supply(self.supply() - amount)
        self.emit("Transfer", **{"from": owner, "to": ZERO_ADDRESS, "value": amount})

    def set_allowance(self, owner: str, spender: str, amount: int) -> None:
        if addr(owner) == ZERO_ADDRESS:
            raise SimRevert.error("ERC20: approve from the zero address")
        if addr(spender) == ZERO_ADDRESS:
            raise SimRevert.error("ERC20: approve to the zero address")
        self.sstore(amount, "allowance", addr(owner), addr(spender))
        self.emit("Approval", owner=addr(owner), spender=addr(spender), value=amount)

    def spend_allowance(self, owner: str, spender: str, amount: int) -> None:
        current = self.allowance_of(owner, spender)
        if current == MAX_UINT256:
            return
        if current < amount:
            raise SimRevert.error("ERC20: insufficient allowance")
        self.sstore(current - amount, "allowance", addr(owner), addr(spender))

    # ------------------------------------------------------------------ ABI

    @external(view=True)
    def balanceOf(self, msg: Msg, account: str) -> int:
        return self.balance(account)

    @external(view=True)
    def allowance(self, msg: Msg, owner: str, spender: str) -> int:
        return self.allowance_of(owner, spender)

    @external(view=True)
    def totalSupply(self, msg: Msg) -> int:
        return self.supply()

    @external
    def approve(self, msg: Msg, spender: str, value: int) -> bool:
        self.set_allowance(msg.sender, spender, value)
        return True

    @external
    def transfer(self, msg: Msg, to: str, value: int) -> bool:
        self.move(msg.sender, to, value)
        return True

    @external
    def transferFrom(self, msg: Msg, from_: str, to: str, value: int) -> bool:
        self.spend_allowance(from_, msg.sender, value)
        self.move(from_, to, value)
        return True


class WETH(ERC20):
    """WETH9: an ERC-20 backed 1:1 by the native ETH the contract holds; `withdraw` unwraps.

    `deposit`/`withdraw` are not in `abis/erc20` (so plans cannot call them); contracts reach them
    internally (Moonwell's mWETH unwraps on redeem).
    """

    kind = "weth"

    @external
    def withdraw(self, msg: Msg, wad: int) -> None:
        if self.balance(msg.sender) < wad:
            raise SimRevert.empty("WETH9: withdraw above balance (require without a reason)")
        self.sstore(self.balance(msg.sender) - wad, "balance", addr(msg.sender))
        self.set_supply(self.supply() - wad)
        self.emit("Withdrawal", src=addr(msg.sender), wad=wad)
        self.chain.transfer_native(self.address, msg.sender, wad)

    @external(payable=True)
    def deposit(self, msg: Msg) -> None:
        self.sstore(self.balance(msg.sender) + msg.value, "balance", addr(msg.sender))
        self.set_supply(self.supply() + msg.value)
        self.emit("Deposit", dst=addr(msg.sender), wad=msg.value)
