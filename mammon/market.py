"""What mammon believes about the chain when it compiles: prices, gas price, venue rates and holdings.

One model serves two readers: the compiler (expected amounts, USD cost, preconditions) and the
simulator (its starting world). `plans/worlds/default.yaml` is the embedded default for both, so a
plan compiled on defaults applies cleanly on the default simulated world.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mammon.errors import InputError, UnknownNameError
from mammon.filecache import FileCache
from mammon.files import load_model
from mammon.types import Address, AmountText, DecimalText

MAX_GAS_PRICE_GWEI = Decimal(1_000_000)  # far above any real gas price; bounds the arithmetic on it
MAX_PRICE_USD = 10**12
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORLD = ROOT / "plans" / "worlds" / "default.yaml"


class Allowance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    token: str
    spender: Address
    amount: AmountText | Literal["max", "unlimited"] = Field(description="token units, or max (2**256-1)")


class Portfolio(BaseModel):
    """Holdings of one address, in token units (human), positions keyed by venue then token or pair."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    wallet: dict[str, AmountText] = {}
    positions: dict[str, dict[str, AmountText]] = {}
    shares: dict[str, dict[str, AmountText]] = Field(default_factory=dict, description="raw position-token balances (mTokens, vault shares) when read from a node")
    allowances: list[Allowance] = []


class Market(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gas_price_gwei: DecimalText = Field(Decimal("0.01"), gt=0, le=MAX_GAS_PRICE_GWEI)
    prices_usd: dict[str, Annotated[DecimalText, Field(ge=0, le=MAX_PRICE_USD)]] = Field(description="USD price per token symbol (ETH for gas)")
    venues: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per-venue state, validated by the venue")
    portfolio: Portfolio | None = Field(None, description="holdings assumed for the plan's wallet; None = unknown")
    holdings: dict[Address, Portfolio] = Field(default_factory=dict, description="holdings of named addresses")
    source: str = "embedded defaults"

    def where(self, field: str, default: str = "world") -> str:
        """Where an error about `field` points: the file it came from, else `default` (the embedded world)."""
        embedded = self.source.startswith("embedded") or "://" in self.source
        return f"{default} {field}" if embedded else f"{self.source}: {field}"

    def portfolio_of(self, address: str) -> Portfolio | None:
        for owner, portfolio in self.holdings.items():
            if owner.lower() == address.lower():
                return portfolio
        return self.portfolio

    @field_validator("gas_price_gwei")
    @classmethod
    def _gas_price(cls, value: Decimal) -> Decimal:
        return whole_wei(value)

    def with_overrides(self, *, gas_price_gwei: Decimal | None = None, where: str = "--gas-price-gwei") -> Market:
        if gas_price_gwei is None:
            return self
        try:
            whole_wei(gas_price_gwei)
        except ValueError as exc:
            raise InputError(str(exc), where=where) from None
        return self.model_copy(update={"gas_price_gwei": gas_price_gwei})


def whole_wei(gwei: Decimal) -> Decimal:
    """`gwei` unless it is finer than one wei (a gas price is a whole number of wei: 9 decimal places of gwei at most)."""
    exponent = gwei.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        raise ValueError(f"{gwei:f} gwei is not a whole number of wei (1 wei is 0.000000001 gwei)")
    return gwei


def gas_cost_usd(cost_eth: Decimal, prices_usd: Mapping[str, Decimal]) -> Decimal:
    """`cost_eth` in USD (to 0.0001), at the ETH price of `prices_usd` (its ETH, else its WETH, else 0:
    a market without either prices gas at nothing rather than refusing). Callers round `cost_eth` as they show it."""
    eth_price = prices_usd.get("ETH", prices_usd.get("WETH", Decimal(0)))
    return (cost_eth * eth_price).quantize(Decimal("0.0001"))


def _load_world(path: Path) -> Market:
    """A world/market file, its venue names checked when it is read: a misspelt venue (`moonwel`) would
    otherwise be ignored by compile and only refused once a simulation needed it."""
    from mammon.protocols import venue_names  # the installed venues (their adapters import this module)

    market = load_model(Market, path)
    for venue in market.venues:
        if venue not in venue_names():
            raise UnknownNameError("venue", venue, venue_names(), where=f"{path}: venues.{venue}")
    return market


_PARSED: FileCache[Market] = FileCache(_load_world)


def load_market(path: str | Path | None = None) -> Market:
    """Read a market/world file (the embedded default world when `path` is None); parsed once per process
    while the file stays the same."""
    market = _PARSED.get(path or DEFAULT_WORLD)
    return market.model_copy(update={"source": str(path) if path else "embedded defaults (plans/worlds/default.yaml)"})
