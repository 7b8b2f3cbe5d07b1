"""Stage 1: the recommendation a yield optimizer hands to mammon, and reading it from a file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mammon.errors import AmountError, InputError
from mammon.files import parse_model, read_data
from mammon.units import PLAIN_AMOUNT, plain_decimal


class Recommendation(BaseModel):
    """Move `amount` of `token` from one venue to another (None = the wallet), optionally into `to_token`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_protocol: str | None = Field(None, description="venue to withdraw from; None opens a new position from the wallet")
    to_protocol: str | None = Field(None, description="venue to deposit into; None exits to the wallet")
    token: str = Field(description="token symbol leaving `from_protocol`")
    to_token: str | None = Field(None, description="token to end up with; different from `token` adds a swap")
    amount: str = Field(description="decimal string in token units, or 'all'")
    expected_apy: float | None = Field(None, ge=-1, le=100, description="APY of the destination as a fraction")
    reason: str = ""
    confidence: int = Field(50, ge=0, le=100)
    slippage_bps: int = Field(50, ge=0, le=5000, description="swap and step-output tolerance in basis points")
    valid_for: timedelta = Field(timedelta(minutes=10), description="how long the compiled plan stays valid")
    swap_venue: Literal["uniswap_v3", "aerodrome"] = "uniswap_v3"

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_text(cls, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError("amount must be a decimal string (e.g. '1000.50') or 'all'; floats lose precision")
        text = str(value).strip()
        if text.lower() != "all" and not PLAIN_AMOUNT.fullmatch(text):
            try:
                plain_decimal(text)  # the one message for every amount that is not plain digits
            except AmountError as exc:
                raise ValueError(exc.message) from None
        return text

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


RecommendationFile = Annotated[Recommendation | list[Recommendation], Field()]


def load_recommendations(path: str | Path) -> list[Recommendation]:
    """A file holds one recommendation (a mapping) or a list of them."""
    data = read_data(path)
    if isinstance(data, dict) and "recommendations" in data and len(data) == 1:
        data = data["recommendations"]
    if isinstance(data, list):
        if not data:
            raise InputError("the list of recommendations is empty", where=str(path))
        return [parse_model(Recommendation, item, where=f"{path}: [{i}]") for i, item in enumerate(data)]
    if not isinstance(data, dict):
        raise InputError("expected a recommendation (mapping) or a list of them", where=str(path))
    return [parse_model(Recommendation, data, where=str(path))]
