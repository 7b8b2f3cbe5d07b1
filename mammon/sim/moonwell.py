"""Moonwell mTokens (Compound v2), matching the devnet stand-in `MoonwellMToken.sol` on the supply side.

- 8 decimals; the exchange rate is underlying raw per mToken raw, scaled by 1e18
  (`venues.moonwell.markets.<SYM>.exchange_rate`).
- Interest accrues per second: `accrueInterest()` runs first in mint, redeem, redeemUnderlying,
  exchangeRateCurrent and balanceOfUnderlying, and grows the stored rate by rate * supplyRate * elapsed / 1e18
  (`venues.moonwell.markets.<SYM>.supply_rate`, per second, 1e18 = 100%). On the chain the rate is
  (cash + borrows - reserves) / supply and the borrowers' interest grows it by exactly that between accruals;
  the simulator keeps no borrows, so the supply rate stays as the world states it (on the chain it moves with
  utilisation after each mint or redeem: over a plan's minutes that is far inside the stated tolerance).
  `exchangeRateStored()` is the rate at the last accrual.
- `mint(amount)` pulls the underlying with transferFrom (a missing allowance or balance REVERTS,
  like MErc20.doTransferIn) and mints received * 1e18 // rate; returns 0.
- `redeem(tokens)` / `redeemUnderlying(amount)`: type(uint256).max = the whole mToken balance;
  underlying = tokens * rate // 1e18, burned = amount * 1e18 // rate (truncated, as Moonwell's redeemFresh).
  Business failures do NOT revert: status ok, nothing moves, a `Failure(error, info, detail)` log, and
  the return value is the TokenErrorReporter code:
      9  MATH_ERROR              more mTokens than the total supply (info 46) or than the balance (info 45)
      14 TOKEN_INSUFFICIENT_CASH the market's underlying cash is short (info 47)
  0 = success. Arithmetic overflow reverts with Panic(0x11), as Solidity 0.8 does.
- Markets listed in the chain config's `redeems_native` (mWETH on Base, MWethDelegate) pay redemptions
  in native ETH: the WETH leaves the market's cash and the redeemer's native balance grows.
- mToken `transfer`/`transferFrom` return false with a Failure log instead of reverting (Compound's
  transferTokens): self-transfer 2 (BAD_INPUT, info 75); above allowance 9 (info 75); above balance 9 (info 76).
"""

from __future__ import annotations

from mammon.sim.core import MAX_UINT256, Chain, Msg, SimRevert, addr, checked, div, external
from mammon.sim.tokens import TokenMetadata

EXP_SCALE = 10**18

NO_ERROR = 0
BAD_INPUT = 2
MATH_ERROR = 9
TOKEN_INSUFFICIENT_CASH = 14

REDEEM_NEW_ACCOUNT_BALANCE_CALCULATION_FAILED = 45
REDEEM_NEW_TOTAL_SUPPLY_CALCULATION_FAILED = 46
REDEEM_TRANSFER_OUT_NOT_POSSIBLE = 47
TRANSFER_NOT_ALLOWED = 75
TRANSFER_NOT_ENOUGH = 76


def default_exchange_rate(underlying_decimals: int, m_token_decimals: int = 8) -> int:
    """Compound's initial rate, 0.02 underlying per mToken: 2e-2 * 10**(18 + dec - 8)."""
    return 2 * 10 ** (16 + underlying_decimals - m_token_decimals)


class MToken(TokenMetadata):
    kind = "mtoken"
    abis = ("moonwell/MToken", "erc20/ERC20")

    def __init__(self, chain: Chain, address: str, label: str, *, symbol: str, underlying: str, decimals: int = 8,
                 pays_native: bool = False, supply_rate: int = 0) -> None:
        super().__init__(chain, address, label)
        self.symbol_, self.underlying_, self.decimals_, self.pays_native = symbol, addr(underlying), decimals, pays_native
        self.supply_rate = supply_rate

    # ------------------------------------------------------------------ state

    def rate(self) -> int:
        """The stored rate (as of the last accrual)."""
        return self.sload("exchangeRate")

    def set_exchange_rate(self, mantissa: int) -> None:
        """The market's rate now (building a world): accrual starts from the current block time."""
        if mantissa <= 0:
            raise ValueError("exchange rate must be greater than zero")
        self.sstore(mantissa, "exchangeRate")
        self.sstore(self.chain.timestamp, "accrualBlockTimestamp")

    def accrue(self) -> None:
        """accrueInterest(): the rate grows by its supply rate times the seconds since the last accrual."""
        now, prior = self.chain.timestamp, self.sload("accrualBlockTimestamp")
        if now == prior:
            return
        if self.supply_rate:
            rate = self.rate()
            self.sstore(rate + rate * self.supply_rate * (now - prior) // EXP_SCALE, "exchangeRate")
        self.sstore(now, "accrualBlockTimestamp")

    def tokens_of(self, owner: str) -> int:
        return self.sload("balance", addr(owner))

    def cash(self) -> int:
        return int(self.call(self.underlying_, "balanceOf", account=self.address))

    def fail(self, error: int, info: int) -> int:
        self.emit("Failure", error=error, info=info, detail=0)
        return error

    # ------------------------------------------------------------------ supply side

    @external
    def accrueInterest(self, msg: Msg) -> int:
        self.accrue()
        return NO_ERROR

    @external
    def mint(self, msg: Msg, mintAmount: int) -> int:
        self.accrue()
        before = self.cash()
        self.call(self.underlying_, "transferFrom", from_=msg.sender, to=self.address, value=mintAmount)
        received = self.cash() - before
        minted = div(checked(received * EXP_SCALE), self.rate())
        self.sstore(checked(self.sload("totalSupply") + minted), "totalSupply")
        self.sstore(checked(self.tokens_of(msg.sender) + minted), "balance", addr(msg.sender))
        self.emit("Mint", minter=addr(msg.sender), mintAmount=received, mintTokens=minted)
        self.emit("Transfer", **{"from": self.address, "to": addr(msg.sender), "amount": minted})
        return NO_ERROR

    @external
    def redeem(self, msg: Msg, redeemTokens: int) -> int:
        self.accrue()
        return self._redeem_fresh(msg.sender, redeemTokens, 0)

    @external
    def redeemUnderlying(self, msg: Msg, redeemAmount: int) -> int:
        self.accrue()
        return self._redeem_fresh(msg.sender, 0, redeemAmount)

    def _redeem_fresh(self, redeemer: str, tokens_in: int, amount_in: int) -> int:
        rate, held = self.rate(), self.tokens_of(redeemer)
        if tokens_in > 0:
            tokens = held if tokens_in == MAX_UINT256 else tokens_in
            amount = checked(rate * tokens) // EXP_SCALE
        elif amount_in == MAX_UINT256:
            tokens = held
            amount = checked(rate * tokens) // EXP_SCALE
        else:
            amount = amount_in
            tokens = div(checked(amount_in * EXP_SCALE), rate)
        if tokens > self.sload("totalSupply"):
            return self.fail(MATH_ERROR, REDEEM_NEW_TOTAL_SUPPLY_CALCULATION_FAILED)
        if tokens > held:
            return self.fail(MATH_ERROR, REDEEM_NEW_ACCOUNT_BALANCE_CALCULATION_FAILED)
        if self.cash() < amount:
            return self.fail(TOKEN_INSUFFICIENT_CASH, REDEEM_TRANSFER_OUT_NOT_POSSIBLE)
        if tokens == 0 and amount > 0:  # Comptroller.redeemVerify, at the end of redeemFresh: the whole call reverts
            raise SimRevert.error("redeemTokens zero")
        self.sstore(self.sload("totalSupply") - tokens, "totalSupply")
        self.sstore(held - tokens, "balance", addr(redeemer))
        self.emit("Transfer", **{"from": addr(redeemer), "to": self.address, "amount": tokens})
        self.emit("Redeem", redeemer=addr(redeemer), redeemAmount=amount, redeemTokens=tokens)
        if self.pays_native:
            # MWethDelegate.doTransferOut: WETH.withdraw(amount), then send the ETH to the redeemer
            self.call(self.underlying_, "withdraw", wad=amount)
            self.chain.transfer_native(self.address, redeemer, amount)
        else:
            self.call(self.underlying_, "transfer", to=redeemer, value=amount)
        return NO_ERROR

    # ------------------------------------------------------------------ views

    @external(view=True)
    def balanceOf(self, msg: Msg, owner: str) -> int:
        return self.tokens_of(owner)

    @external(view=True)
    def allowance(self, msg: Msg, owner: str, spender: str) -> int:
        return self.sload("allowance", addr(owner), addr(spender))

    @external(view=True)
    def totalSupply(self, msg: Msg) -> int:
        return self.sload("totalSupply")

    @external(view=True)
    def underlying(self, msg: Msg) -> str:
        return self.underlying_

    @external(view=True)
    def exchangeRateStored(self, msg: Msg) -> int:
        return self.rate()

    @external
    def exchangeRateCurrent(self, msg: Msg) -> int:
        self.accrue()
        return self.rate()

    @external
    def balanceOfUnderlying(self, msg: Msg, owner: str) -> int:
        self.accrue()
        return checked(self.rate() * self.tokens_of(owner)) // EXP_SCALE

    @external(view=True)
    def supplyRatePerTimestamp(self, msg: Msg) -> int:
        return self.supply_rate

    @external(view=True)
    def getCash(self, msg: Msg) -> int:
        return self.cash()

    # ------------------------------------------------------------------ mToken ERC-20 (Compound semantics)

    @external
    def approve(self, msg: Msg, spender: str, value: int) -> bool:
        self.sstore(value, "allowance", addr(msg.sender), addr(spender))
        self.emit("Approval", owner=addr(msg.sender), spender=addr(spender), amount=value)
        return True

    @external
    def transfer(self, msg: Msg, to: str, value: int) -> bool:
        return self._transfer_tokens(msg.sender, msg.sender, to, value) == NO_ERROR

    @external
    def transferFrom(self, msg: Msg, from_: str, to: str, value: int) -> bool:
        return self._transfer_tokens(msg.sender, from_, to, value) == NO_ERROR

    def _transfer_tokens(self, spender: str, src: str, dst: str, tokens: int) -> int:
        spender, src, dst = addr(spender), addr(src), addr(dst)
        if src == dst:
            return self.fail(BAD_INPUT, TRANSFER_NOT_ALLOWED)
        allowance = MAX_UINT256 if spender == src else self.sload("allowance", src, spender)
        if tokens > allowance:
            return self.fail(MATH_ERROR, TRANSFER_NOT_ALLOWED)
        if tokens > self.tokens_of(src):
            return self.fail(MATH_ERROR, TRANSFER_NOT_ENOUGH)
        self.sstore(self.tokens_of(src) - tokens, "balance", src)
        self.sstore(self.tokens_of(dst) + tokens, "balance", dst)
        if allowance != MAX_UINT256:
            self.sstore(allowance - tokens, "allowance", src, spender)
        self.emit("Transfer", **{"from": src, "to": dst, "amount": tokens})
        return NO_ERROR
