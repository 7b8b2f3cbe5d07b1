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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic._internal._model_construction import ModelMetaclass

from mammon.errors import AmountError, InputError
from mammon.files import describe_validation, parse_model, read_data
from mammon.types import PlainDecimal
from mammon.units import PLAIN_AMOUNT, plain_decimal

_MAX_MAGNITUDE = 100  # digits before or after the point; a uint256 has 78
_DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_MAX_NAME = 100  # characters in a protocol, token or venue name; the longest known is far shorter
_MAX_VALID_FOR = timedelta(days=7)  # time for a Safe's owners to sign; past it, quotes and preconditions are long stale
_MESSAGE_CHARS = 40  # of a value quoted in an error message
# Refused in text: C1 controls (YAML reads U+0085 as a line break, so the saved plan would not hash the same)
# and lone surrogates (not encodable as UTF-8, so not hashable).
_BAD_TEXT = re.compile("[\u0080-\u009f\ud800-\udfff]")


def _short(value: Any) -> str:
    """repr(value) for a message, cut to a readable length: a 5000-digit number is not quoted in full."""
    text = str(value) if isinstance(value, (str, Decimal)) else repr(value)
    if len(text) > _MESSAGE_CHARS + 20:
        text = f"{text[:_MESSAGE_CHARS]}… ({len(text)} characters)"
    elif isinstance(value, str):
        return repr(value)
    return f"Decimal({text!r})" if isinstance(value, Decimal) else text


def _exact(value: Any) -> Decimal:
    """A Decimal from a Decimal, int or decimal string; refuses floats, booleans and NaN/infinity.

    Messages leave the field out: pydantic's error location names it."""
    if isinstance(value, bool):
        raise ValueError(f"must be a decimal string (e.g. '1000.50'), an int or a Decimal, got {value!r}")
    if isinstance(value, float):
        raise ValueError(f"got the float {_short(value)}, which has already lost precision: pass Decimal(str(x)) or a decimal string")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"must be a finite number, got {_short(value)}")
        if abs(value.adjusted()) > _MAX_MAGNITUDE:  # written out, Decimal('1E+999999999') would be a gigabyte of zeros
            raise ValueError(f"{_short(value)} is out of range (more than {_MAX_MAGNITUDE} digits)")
        return value
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise ValueError(f"{_short(value)} is not a decimal number (digits with at most one '.')")
        return Decimal(text)
    raise ValueError(f"must be a decimal string (e.g. '1000.50'), an int or a Decimal, got {type(value).__name__}")


def decimal_text(value: Decimal) -> str:
    """Plain positional notation, never an exponent: Decimal('1E+3') -> '1000'."""
    return f"{value:f}"




class _Constructed(ModelMetaclass):
    """`Recommendation(...)` refuses bad values with the InputError `Recommendation.of` raises, not pydantic's
    ValidationError. Only the call: an `__init__` override would also run inside `model_validate` (a plan file's
    recommendations), where the file's reader must still get the ValidationError to name the file and field."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise InputError(describe_validation(exc, cls), where="recommendation") from None


class Recommendation(BaseModel, metaclass=_Constructed):
    """Move `amount` of `token` from one venue to another (None = the wallet), optionally into `to_token`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_protocol: str | None = Field(None, description="venue to withdraw from (key or display name, e.g. 'Aave V3'); None opens a new position from the wallet")
    to_protocol: str | None = Field(None, description="venue to deposit into (key or display name); None exits to the wallet")
    token: str = Field(description="token symbol leaving `from_protocol` (any case)")
    to_token: str | None = Field(None, description="token to end up with; different from `token` adds a swap")
    amount: str = Field(description="in token units: a decimal string ('1000.50'), int or Decimal, or 'all'")
    expected_apy: PlainDecimal | None = Field(None, ge=-100, le=1_000_000, description="expected APY of the destination in percent ('8.5' = 8.5 %)")
    reason: str = ""
    confidence: int = Field(50, ge=0, le=100, description="0..100, as the optimizer scores it")
    slippage_bps: int = Field(50, ge=0, le=5000, description="swap and step-output tolerance in basis points")
    valid_for: timedelta = Field(timedelta(minutes=10), description="how long the compiled plan stays valid")
    swap_venue: str = Field("uniswap_v3", description="venue for the swap of a cross-token move (key or display name)")

    @field_validator("from_protocol", "to_protocol", "token", "to_token", "swap_venue", "reason")
    @classmethod
    def _text(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Text that a plan file holds and hashes as it is: no character YAML reads otherwise, no unencodable one."""
        if value is None:
            return None
        bad = _BAD_TEXT.search(value)
        if bad:
            char = bad.group()
            kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a C1 control character"
            raise ValueError(f"contains U+{ord(char):04X} ({kind}) at character {bad.start() + 1}: remove it or write the intended character")
        if info.field_name != "reason" and len(value) > _MAX_NAME:
            raise ValueError(f"{value[:_MESSAGE_CHARS]!r}… is {len(value)} characters long; names are at most {_MAX_NAME}")
        return value

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
        if isinstance(value, bool) or isinstance(value, float) or (isinstance(value, Decimal) and not (
                value.is_finite() and value == value.to_integral_value() and 0 <= value <= 100)):
            raise ValueError(f"must be a whole number from 0 to 100, got {_short(value)}")
        if isinstance(value, Decimal):
            return int(value)
        return value

    @field_validator("slippage_bps", "valid_for", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any, info: ValidationInfo) -> Any:
        """`true` is not 1 bps nor one second (pydantic would read it so); confidence refuses it the same way."""
        if isinstance(value, bool):
            kind = "a whole number of basis points" if info.field_name == "slippage_bps" else "a duration such as PT10M"
            raise ValueError(f"must be {kind}, got {value!r}")
        return value

    @field_validator("valid_for")
    @classmethod
    def _positive_validity(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("valid_for must be positive")
        if value > _MAX_VALID_FOR:
            raise ValueError(f"at most 7 days (P7D), got {value}: a plan's quotes, preconditions "
                             "and interest allowances are for the near term; compile it again later instead")
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
