"""Small validated field types shared by every file format (addresses, base-unit integers, hex data)."""

from __future__ import annotations

import re
from typing import Annotated

from eth_utils import is_checksum_address, to_checksum_address
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX_DATA = re.compile(r"^0x([0-9a-fA-F]{2})*$")


def checksum(value: str) -> str:
    """Accept an all-lower/all-upper hex address or a correct EIP-55 one; refuse a wrong checksum."""
    if not isinstance(value, str) or not _HEX_ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    body = value[2:]
    mixed = body != body.lower() and body != body.upper()
    if mixed and not is_checksum_address(value):
        raise ValueError(f"{value} has a bad EIP-55 checksum (expected {to_checksum_address(value)})")
    return to_checksum_address(value)


def _hex_data(value: str) -> str:
    if not isinstance(value, str) or not _HEX_DATA.match(value):
        raise ValueError("not 0x-prefixed hex bytes")
    return value.lower()


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    raise ValueError(f"expected an integer in base units, got {value!r}")


Address = Annotated[str, AfterValidator(checksum)]
HexData = Annotated[str, AfterValidator(_hex_data)]
# Base-unit integers are written as strings: uint256 values overflow JSON numbers in most readers.
Wei = Annotated[int, BeforeValidator(_as_int), PlainSerializer(str, return_type=str, when_used="json")]
# A base-unit amount held on chain (a uint256): non-negative and at most 2**256-1.
UInt = Annotated[Wei, Field(ge=0, le=2**256 - 1)]
