"""The venue adapter interface: one venue turns one abstract action into one contract call.

A venue is one module in this package plus its ABI under `abis/<venue>/`, registered in the
`mammon.venues` entry-point group (built-ins are registered exactly like third-party venues).
An adapter never decides the order of steps or the approvals: recipes order actions, and the
compiler inserts an exact `approve` before each spend the adapter declares.

Review checks each compiled call against the rules its venue declares next to the code that emits it
(`Venue.calls`, with `underlying_symbol`, `pool_token` and `lp_labels` for the roles only the venue can
resolve); `mammon.review.roles` gathers them from every installed venue.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel

from mammon.chains import ChainConfig, Token
from mammon.compile.amounts import Amount
from mammon.compile.inputs import per_config
from mammon.errors import InputError
from mammon.files import parse_model
from mammon.market import Market, Portfolio
from mammon.plan.model import Guard, StepKind, Tolerance
from mammon.units import parse_amount

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class PullRule:
    """The call pulls `amount` of a token from the wallet: the token is the address in argument `token`,
    or '@underlying' (the token the target holds: `Venue.underlying_symbol`), or '@lp' (the LP token
    of the pool of tokenA/tokenB: `Venue.pool_token`)."""

    amount: str
    token: str


@dataclass(frozen=True)
class MinOut:
    """Argument `amount` is the least the wallet accepts of the token in argument `token`
    ('@last_route_to': the `to` of the last route)."""

    amount: str
    token: str


@dataclass(frozen=True)
class Rule:
    """A call the compiler emits, as review accepts it (see `mammon.review.roles` for the roles).

    `targets`: the registry labels (regexes) the call may be sent to; `addresses`: each address argument's
    path (regex) -> its role; `pulls`: what the call takes from the wallet; `min_outs`: its minimum outputs.
    """

    kind: str
    targets: tuple[str, ...]
    addresses: dict[str, str] = field(default_factory=dict)
    pulls: tuple[PullRule, ...] = ()
    min_outs: tuple[MinOut, ...] = ()


@dataclass(frozen=True)
class Asset:
    """A token as a venue sees it: underlying tokens, and position tokens (aTokens, mTokens, shares, LP)."""

    symbol: str
    address: str
    decimals: int

    @classmethod
    def of(cls, token: Token) -> Asset:
        return cls(token.symbol, token.address, token.decimals)


@dataclass(frozen=True)
class Spend:
    """`spender` pulls up to `amount` of `token` from the wallet: the compiler adds an approve first."""

    token: Asset
    spender: str
    spender_label: str
    amount: Amount


@dataclass(frozen=True)
class Flow:
    """An expected balance change: `account` gains `amount` of `token` (negative `sign` = loses)."""

    account: str
    label: str
    token: Asset
    amount: Amount
    sign: int
    tolerance: Tolerance = Tolerance(kind="exact")


def lending_flows(wallet: str, token: Asset, holder: str, holder_label: str, moved: Amount, position: Asset,
                  position_moved: Amount, position_tolerance: Tolerance, direction: int) -> list[Flow]:
    """A deposit (+1) or withdrawal (-1) in a lending venue: the underlying moves between the wallet and
    the contract holding the reserve, and the wallet's position token moves the other way."""
    return [
        Flow(wallet, "wallet", token, moved, -direction),
        Flow(holder, holder_label, token, moved, direction),
        Flow(wallet, "wallet", position, position_moved, direction, position_tolerance),
    ]


SECONDS_PER_YEAR = 365 * 24 * 3600
RAY = 10**27


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


EXACT = Tolerance(kind="exact")


def accrual(principal: int, rate_ray: int, window: int) -> int:
    """The most `principal` earns at `rate_ray` per year (1e27 = 100%) in `window` seconds, rounded up."""
    if rate_ray <= 0 or window <= 0 or principal <= 0:
        return 0
    return -(-principal * rate_ray * window // (RAY * SECONDS_PER_YEAR))


@lru_cache(maxsize=4096, typed=True)
def with_interest(base: Tolerance, principal: int, rate_ray: int, window: int, source: str | None = None) -> Tolerance:
    """`base` widened by the interest `principal` can earn at `rate_ray` (a yearly rate, 1e27 = 100%) within
    `window` seconds: a balance that grows with time moves by that much more between the runner's reads.

    Linear, as Aave's `calculateLinearInterest` between updates (compounding within minutes is far below a wei
    per token); rounded up. No rate or no window: `base` unchanged. `source` says where the rate came from
    when that is not the plain reading of a rate view (a vault's measured share-price growth), appended.

    Memoised per (typed) value: a pure function of immutable values, whose result (a frozen model of immutable
    fields) is shared. A plan compiled again (validate, apply) asks for the same tolerances, and formatting the
    reason and validating the model cost more than the look-up. Errors are not memoised.
    """
    interest = accrual(principal, rate_ray, window)
    if not interest:
        return base
    pct = rate_ray * 100 / RAY
    where = f" ({source})" if source else ""
    return Tolerance(kind="wei", value=base.value + interest, reason=f"interest at {pct:.2f}%/yr over at most {_duration(window)}{where}")


def rate_bounds(floor: RateCheck, subject: str, growth: Tolerance) -> list[RateCheck]:
    """`floor` (the rate `subject` is at least the plan's) and, when it grows with time, a ceiling at the plan's
    plus `growth` (the interest of the plan's window): a rate above it moved by more than interest."""
    if not growth.reason:
        return [floor]
    ceiling = RateCheck(contract=floor.contract, abi=floor.abi, function=floor.function, args=floor.args,
                        value=floor.value + growth.value, unit=floor.unit, decimals=floor.decimals,
                        description=f"{subject} is at most the plan's plus {growth.reason}", op="lte")  # `replace`, without its field walk
    return [floor, ceiling]


@dataclass(frozen=True)
class Output:
    token: Asset
    amount: Amount


@dataclass(frozen=True)
class Requirement:
    """A precondition: `account` holds at least `amount` of `token` (position tokens included)."""

    token: Asset
    account: str
    amount: int
    description: str
    op: str = "gte"


@dataclass(frozen=True)
class RateCheck:
    """A precondition on a view of the venue: `function(*args)` of `contract` returns at least `value`
    (at most, with `op="lte"`: a rate that grows with time, bounded by the plan's window).

    Pins the exchange rate or share price the plan's expected amounts were computed with; `unit` and
    `decimals` say how to show it (e.g. USDC per share, 6 decimals).
    """

    contract: str
    abi: str
    function: str
    args: dict[str, Any]
    value: int
    unit: str
    decimals: int
    description: str
    op: Literal["gte", "lte"] = "gte"


@dataclass
class Draft:
    """One call a venue wants made, with everything the plan must say about it."""

    kind: StepKind
    description: str
    target: str
    target_label: str
    abi: str
    function: str
    args: dict[str, Any]
    arg_tokens: dict[str, Asset] = field(default_factory=dict)  # arg path -> unit the amount is shown in
    arg_amounts: dict[str, Amount] = field(default_factory=dict)  # arg path -> amount (refs bind these)
    spends: list[Spend] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    outputs: dict[str, Output] = field(default_factory=dict)
    guards: list[Guard] = field(default_factory=list)
    requires: list[Requirement] = field(default_factory=list)
    rates: list[RateCheck] = field(default_factory=list)
    gas_action: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What an adapter may know: the chain, the market snapshot, the wallet and the plan's policy."""

    chain: ChainConfig
    market: Market
    wallet: str
    slippage_bps: int
    deadline: int  # unix seconds: the plan's valid_until
    consumed: dict[tuple[str, str], int] = field(default_factory=dict)  # (venue, key) -> already withdrawn in this plan
    window: int = 0  # seconds: the longest a step may wait before it runs (created_at to valid_until)
    # venue -> its market state, read once per plan and shared by the plan's recommendations: a later one sees
    # the state as earlier steps left it (a pool's reserves after a swap)
    states: dict[str, BaseModel | None] = field(default_factory=dict)

    @property
    def portfolio(self) -> Portfolio | None:
        return self.market.portfolio_of(self.wallet)

    def price(self, symbol: str) -> Decimal:
        try:
            return self.market.prices_usd[symbol]
        except KeyError:
            raise InputError(f"no USD price for {symbol}: add it to prices_usd", where="--prices") from None

    def held_shares(self, venue: str, key: str) -> int | None:
        """Raw position-token balance (mTokens, vault shares) when read from a node and untouched by this plan."""
        portfolio = self.portfolio
        if portfolio is None or key not in portfolio.shares.get(venue, {}) or self.consumed.get((venue, key)):
            return None
        return int(portfolio.shares[venue][key])

    def held_position(self, venue: str, key: str, decimals: int) -> int | None:
        """Raw position size (underlying units; LP units for pools) left after this plan's earlier withdrawals."""
        portfolio = self.portfolio
        if portfolio is None or key not in portfolio.positions.get(venue, {}):
            return None
        held = parse_amount(portfolio.positions[venue][key], decimals, symbol=key, where=f"portfolio.positions.{venue}.{key}", allow_zero=True)
        return max(held - self.consumed.get((venue, key), 0), 0)


def _no_sections(chain: ChainConfig) -> dict[tuple[str, type[BaseModel]], BaseModel]:
    return {}


_sections = per_config(_no_sections)  # chain config -> {(venue, Config model): its parsed section}


def _section(chain: ChainConfig, name: str, model: type[S]) -> S:
    """`chain.section(name, model)`, parsed once per chain config (an adapter is made per recommendation; a loaded
    config is shared and never changed, and adapters only read their section). Errors are not memoised."""
    memo = _sections(chain)
    found = memo.get((name, model))
    if found is None:
        found = memo[(name, model)] = chain.section(name, model)
    return found  # type: ignore[return-value]  # stored under its own model


class Venue(ABC):
    """Base class of venue adapters; override the actions the venue supports."""

    name: ClassVar[str]  # the key in plans and chain configs; equals the entry-point name
    display: ClassVar[str]  # how people write it ("Aave V3"); shown in reviews
    aliases: ClassVar[tuple[str, ...]] = ()  # other names it answers to ("aave"); matched like `display`
    Config: ClassVar[type[BaseModel]]
    State: ClassVar[type[BaseModel] | None] = None
    config: BaseModel  # an instance of Config; subclasses narrow both annotations
    state: BaseModel | None  # an instance of State, from the market snapshot
    calls: ClassVar[dict[str, Rule]] = {}  # canonical signature -> the rule review checks it by; a call no venue declares is refused
    lp_labels: ClassVar[tuple[str, ...]] = ()  # registry labels of LP tokens: they count as tokens where a call's target is a token

    @classmethod
    def underlying_symbol(cls, chain: ChainConfig, label: str) -> str | None:
        """The symbol of the token held by the registry contract labelled `label` (a market, a vault), for pulls
        written '@underlying'; None when `label` is not such a contract of this venue."""
        return None

    @classmethod
    def pool_token(cls, chain: ChainConfig, token_a: str, token_b: str) -> str | None:
        """The LP token of this venue's registered pool of two token addresses, for pulls written '@lp'; None if none."""
        return None

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config = _section(ctx.chain, self.name, self.Config)
        if self.name not in ctx.states:  # the plan's first use of this venue reads its state from the market snapshot
            raw_state = ctx.market.venues.get(self.name)
            ctx.states[self.name] = parse_model(self.State, raw_state, where=ctx.market.where(f"venues.{self.name}", "market")) if self.State and raw_state is not None else None
        self.state = ctx.states[self.name]

    def token(self, symbol: str) -> Asset:
        return Asset.of(self.ctx.chain.token(symbol, where="recommendation"))

    def unsupported(self, action: str) -> InputError:
        return InputError(f"{self.display} does not support {action}", where="recommendation")

    def withdraw(self, token: Asset, amount: Amount) -> Draft:
        raise self.unsupported("withdraw")

    def deposit(self, token: Asset, amount: Amount) -> Draft:
        raise self.unsupported("deposit")

    def swap(self, token_in: Asset, token_out: Asset, amount: Amount) -> Draft:
        raise self.unsupported("swaps")

    def add_liquidity(self, token_a: Asset, token_b: Asset, amount_a: Amount, amount_b: Amount) -> Draft:
        raise self.unsupported("liquidity positions")

    def remove_liquidity(self, token_a: Asset, token_b: Asset, amount: Amount) -> Draft:
        raise self.unsupported("liquidity positions")

    def position_value(self, token: Asset) -> int | None:
        """Raw underlying held in this venue for `token` per the snapshot (for withdraw-all)."""
        return self.ctx.held_position(self.name, token.symbol, token.decimals)
