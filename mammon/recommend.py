"""Stage 1: the recommendation a yield optimizer hands to mammon, and reading it from a file.

The MAMMON optimizer's own spelling goes in unchanged: protocols by display name ("Aave V3",
resolved by the compiler, see `mammon.protocols.resolve_venue`), token symbols in any case, and
numbers as `decimal.Decimal`, `int` or decimal strings. A `float` is refused: it has already lost
precision before mammon sees it (pass `Decimal(str(x))`).

`expected_apy` is a percentage, as the optimizer writes it: "8.5" is 8.5 % a year. (Plans of format
1.x held a fraction there, 0.085; format 2 plans hold the percentage, so an old plan is refused by
its format_version rather than shown with an APY a hundred times off.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mammon.errors import AmountError, InputError
from mammon.files import parse_model, read_data
from mammon.units import PLAIN_AMOUNT, plain_decimal

_MAX_MAGNITUDE = 100  # digits before or after the point; a uint256 has 78
_DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def _exact(value: Any) -> Decimal:
    """A Decimal from a Decimal, int or decimal string; refuses floats, booleans and NaN/infinity.

    Messages leave the field out: pydantic's error location names it."""
    if isinstance(value, bool):
        raise ValueError(f"must be a decimal string (e.g. '1000.50'), an int or a Decimal, got {value!r}")
    if isinstance(value, float):
        raise ValueError(f"got the float {value!r}, which has already lost precision: pass Decimal(str(x)) or a decimal string")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"must be a finite number, got Decimal({str(value)!r})")
        if abs(value.adjusted()) > _MAX_MAGNITUDE:  # written out, Decimal('1E+999999999') would be a gigabyte of zeros
            raise ValueError(f"Decimal({str(value)!r}) is out of range")
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise ValueError(f"{value!r} is not a decimal number (digits with at most one '.')")
        return Decimal(text)
    raise ValueError(f"must be a decimal string (e.g. '1000.50'), an int or a Decimal, got {type(value).__name__}")


def decimal_text(value: Decimal) -> str:
    """Plain positional notation, never an exponent: Decimal('1E+3') -> '1000'."""
    return f"{value:f}"


class Recommendation(BaseModel):
    """Move `amount` of `token` from one venue to another (None = the wallet), optionally into `to_token`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_protocol: str | None = Field(None, description="venue to withdraw from (key or display name, e.g. 'Aave V3'); None opens a new position from the wallet")
    to_protocol: str | None = Field(None, description="venue to deposit into (key or display name); None exits to the wallet")
    token: str = Field(description="token symbol leaving `from_protocol` (any case)")
    to_token: str | None = Field(None, description="token to end up with; different from `token` adds a swap")
    amount: str = Field(description="in token units: a decimal string ('1000.50'), int or Decimal, or 'all'")
    expected_apy: Decimal | None = Field(None, ge=-100, le=1_000_000, description="expected APY of the destination in percent ('8.5' = 8.5 %)")
    reason: str = ""
    confidence: int = Field(50, ge=0, le=100, description="0..100, as the optimizer scores it")
    slippage_bps: int = Field(50, ge=0, le=5000, description="swap and step-output tolerance in basis points")
    valid_for: timedelta = Field(timedelta(minutes=10), description="how long the compiled plan stays valid")
    swap_venue: str = Field("uniswap_v3", description="venue for the swap of a cross-token move (key or display name)")

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_text(cls, value: Any) -> str:
        if isinstance(value, str):
            text = value.strip()
            if text.lower() == "all":
                return "all"
            if not PLAIN_AMOUNT.fullmatch(text):
                try:
                    plain_decimal(text)  # the one message for every amount that is not plain digits
                except AmountError as exc:
                    raise ValueError(exc.message) from None
            return text  # the token's decimals are not known here: the compiler parses it exactly (units.parse_amount)
        return decimal_text(_exact(value))

    @field_validator("expected_apy", mode="before")
    @classmethod
    def _apy(cls, value: Any) -> Decimal | None:
        return None if value is None else _exact(value)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> Any:
        if isinstance(value, bool) or isinstance(value, float) or (isinstance(value, Decimal) and value != value.to_integral_value()):
            raise ValueError(f"must be a whole number from 0 to 100, got {value!r}")
        if isinstance(value, Decimal):
            return int(value)
        return value

    @field_validator("valid_for")
    @classmethod
    def _positive_validity(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("valid_for must be positive")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Recommendation:
        if self.from_protocol is None and self.to_protocol is None:
            raise ValueError("from_protocol and to_protocol are both empty: nothing to move")
        if self.to_token == self.token:
            object.__setattr__(self, "to_token", None)
        if self.from_protocol == self.to_protocol and self.to_token is None:
            raise ValueError(f"from_protocol and to_protocol are both {self.from_protocol!r} with the same token: nothing to move")
        return self

    @property
    def final_token(self) -> str:
        return self.to_token or self.token

    @property
    def is_all(self) -> bool:
        return self.amount.lower() == "all"

    @classmethod
    def of(cls, obj: Any, *, where: str = "recommendation") -> Recommendation:
        """A recommendation from what an optimizer hands over: a Recommendation, a mapping (unknown keys
        refused, as in a file) or any object with these attributes (others ignored). Raises InputError."""
        if isinstance(obj, Recommendation):
            return obj
        if isinstance(obj, Mapping):
            return parse_model(cls, dict(obj), where=where)
        data = {name: getattr(obj, name) for name in cls.model_fields if hasattr(obj, name)}
        if not data:
            raise InputError(f"expected a recommendation (a mapping or an object with from_protocol, to_protocol, token, amount), got {type(obj).__name__}", where=where)
        return parse_model(cls, data, where=where)


RecommendationFile = Annotated[Recommendation | list[Recommendation], Field()]


def load_recommendations(path: str | Path) -> list[Recommendation]:
    """A file holds one recommendation (a mapping) or a list of them."""
    data = read_data(path, exact_numbers=True)  # `amount: 1000.5` is the decimal written, not a float
    if isinstance(data, dict) and "recommendations" in data and len(data) == 1:
        data = data["recommendations"]
    if isinstance(data, list):
        if not data:
            raise InputError("the list of recommendations is empty", where=str(path))
        return [parse_model(Recommendation, item, where=f"{path}: [{i}]") for i, item in enumerate(data)]
    if not isinstance(data, dict):
        raise InputError("expected a recommendation (mapping) or a list of them", where=str(path))
    return [parse_model(Recommendation, data, where=str(path))]
