"""Aave V3 Pool and aTokens.

- `supply(asset, amount, onBehalfOf, referralCode)`: amount 0 reverts '26' (INVALID_AMOUNT), an asset
  without a reserve '27' (RESERVE_INACTIVE); pulls `amount` of the underlying from msg.sender into the
  reserve's aToken contract and mints scaled = rayDiv(amount, liquidityIndex) to `onBehalfOf`
  (a scaled amount of 0 reverts '24', INVALID_MINT_AMOUNT).
- `withdraw(asset, amount, to)`: type(uint256).max = the whole balance; 0 reverts '26'; more than the
  balance reverts '32' (NOT_ENOUGH_AVAILABLE_USER_BALANCE); burns rayDiv(amount, index) scaled
  (the whole scaled balance when the whole balance is withdrawn), pays `to` from the aToken's cash
  and returns the amount.
- aToken `balanceOf` = rayMul(scaledBalance, index). Ray math rounds half up (WadRayMath).

The liquidity index of each reserve comes from the world (`venues.aave_v3.reserves.<SYM>`): constant
by default, or growing linearly with time from `liquidity_rate` (ray per year), as Aave's
`calculateLinearInterest` does between updates.
"""

from __future__ import annotations


from mammon.sim.core import MAX_UINT256, Chain, Contract, Msg, SimRevert, addr, external
from mammon.protocols.aave_v3 import ReserveState
from mammon.sim.tokens import TokenMetadata

RAY = 10**27
HALF_RAY = RAY // 2
SECONDS_PER_YEAR = 365 * 24 * 3600

INVALID_MINT_AMOUNT = "24"
INVALID_BURN_AMOUNT = "25"
INVALID_AMOUNT = "26"
RESERVE_INACTIVE = "27"
NOT_ENOUGH_AVAILABLE_USER_BALANCE = "32"


def ray_mul(a: int, b: int) -> int:
    return (a * b + HALF_RAY) // RAY


def ray_div(a: int, b: int) -> int:
    if b == 0:
        raise SimRevert.panic(0x12)
    return (a * RAY + b // 2) // b


class AToken(TokenMetadata):
    kind = "atoken"
    abis = ("aave_v3/AToken", "erc20/ERC20")

    def __init__(self, chain: Chain, address: str, label: str, *, symbol: str, decimals: int, underlying: str,
                 reserve: ReserveState, since: int) -> None:
        super().__init__(chain, address, label)
        self.symbol_, self.decimals_, self.underlying = symbol, decimals, addr(underlying)
        self.index0, self.rate, self.since = reserve.liquidity_index, reserve.liquidity_rate, since

    def index(self) -> int:
        """The reserve's normalized income at the current block time."""
        if not self.rate:
            return self.index0
        elapsed = max(0, self.chain.timestamp - self.since)
        return ray_mul(RAY + self.rate * elapsed // SECONDS_PER_YEAR, self.index0)

    def scaled(self, user: str) -> int:
        return self.sload("scaled", addr(user))

    def balance(self, user: str) -> int:
        return ray_mul(self.scaled(user), self.index())

    def mint(self, on_behalf_of: str, amount: int) -> None:
        self.chain.charge(self.kind, "mint")
        scaled = ray_div(amount, self.index())
        if scaled == 0:
            raise SimRevert.error(INVALID_MINT_AMOUNT, detail="INVALID_MINT_AMOUNT")
        self.sstore(self.scaled(on_behalf_of) + scaled, "scaled", addr(on_behalf_of))
        self.sstore(self.sload("scaledSupply") + scaled, "scaledSupply")
        self.emit("Transfer", **{"from": "0x" + "00" * 20, "to": addr(on_behalf_of), "value": amount})

    def burn(self, user: str, receiver: str, amount: int, *, whole: bool) -> None:
        self.chain.charge(self.kind, "burn")
        held = self.scaled(user)
        scaled = held if whole else min(ray_div(amount, self.index()), held)
        if scaled == 0:
            raise SimRevert.error(INVALID_BURN_AMOUNT, detail="INVALID_BURN_AMOUNT")
        self.sstore(held - scaled, "scaled", addr(user))
        self.sstore(self.sload("scaledSupply") - scaled, "scaledSupply")
        self.emit("Transfer", **{"from": addr(user), "to": "0x" + "00" * 20, "value": amount})
        self.call(self.underlying, "transfer", to=receiver, value=amount)

    # ------------------------------------------------------------------ ABI

    @external(view=True)
    def balanceOf(self, msg: Msg, account: str) -> int:
        return self.balance(account)

    @external(view=True)
    def scaledBalanceOf(self, msg: Msg, user: str) -> int:
        return self.scaled(user)

    @external(view=True)
    def totalSupply(self, msg: Msg) -> int:
        return ray_mul(self.sload("scaledSupply"), self.index())

    @external(view=True)
    def UNDERLYING_ASSET_ADDRESS(self, msg: Msg) -> str:
        return self.underlying

    @external(view=True)
    def allowance(self, msg: Msg, owner: str, spender: str) -> int:
        return 0


class AavePool(Contract):
    kind = "aave_pool"
    abis = ("aave_v3/Pool",)

    def __init__(self, chain: Chain, address: str, label: str) -> None:
        super().__init__(chain, address, label)
        self.reserves: dict[str, AToken] = {}  # underlying address -> aToken

    def add_reserve(self, a_token: AToken) -> None:
        self.reserves[a_token.underlying] = a_token

    def _a_token(self, asset: str) -> AToken | None:
        a_token = self.reserves.get(addr(asset))
        if a_token is not None:
            self.chain.touch(a_token.address)
        return a_token

    @external
    def supply(self, msg: Msg, asset: str, amount: int, onBehalfOf: str, referralCode: int) -> None:
        a_token = self._a_token(asset)
        if amount == 0:
            raise SimRevert.error(INVALID_AMOUNT, detail="INVALID_AMOUNT")
        if a_token is None:
            raise SimRevert.error(RESERVE_INACTIVE, detail="RESERVE_INACTIVE: no reserve for this asset")
        self.call(asset, "transferFrom", from_=msg.sender, to=a_token.address, value=amount)
        a_token.mint(onBehalfOf, amount)
        self.emit("Supply", reserve=addr(asset), user=msg.sender, onBehalfOf=addr(onBehalfOf), amount=amount, referralCode=referralCode)

    @external
    def withdraw(self, msg: Msg, asset: str, amount: int, to: str) -> int:
        a_token = self._a_token(asset)
        user_balance = a_token.balance(msg.sender) if a_token else 0
        to_withdraw = user_balance if amount == MAX_UINT256 else amount
        if to_withdraw == 0:
            raise SimRevert.error(INVALID_AMOUNT, detail="INVALID_AMOUNT")
        if to_withdraw > user_balance:
            raise SimRevert.error(NOT_ENOUGH_AVAILABLE_USER_BALANCE, detail="NOT_ENOUGH_AVAILABLE_USER_BALANCE")
        if a_token is None:
            raise SimRevert.error(RESERVE_INACTIVE, detail="RESERVE_INACTIVE: no reserve for this asset")
        a_token.burn(msg.sender, to, to_withdraw, whole=to_withdraw == user_balance)
        self.emit("Withdraw", reserve=addr(asset), user=msg.sender, to=addr(to), amount=to_withdraw)
        return to_withdraw

    @external(view=True)
    def getReserveNormalizedIncome(self, msg: Msg, asset: str) -> int:
        a_token = self.reserves.get(addr(asset))
        return a_token.index() if a_token else 0
