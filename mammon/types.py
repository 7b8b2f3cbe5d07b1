"""Small validated field types shared by every file format (addresses, base-unit integers, hex data)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from mammon.errors import AmountError
from mammon.hashing import keccak256
from mammon.units import plain_decimal

# A token's decimals: a uint256 has 78 digits, and a file's 10**100000000 would keep every review busy for hours.
Decimals = Annotated[int, Field(ge=0, le=77)]

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")  # fullmatch: `$` would let a trailing newline through
_HEX_DATA = re.compile(r"0x[0-9a-fA-F]*")  # and an even number of digits (a `([0-9a-fA-F]{2})*` group is 10x slower on calldata)
_ANY_HEX_ADDRESS = re.compile(r"(0x)?[0-9a-f]{40}")  # what eth-utils' to_checksum_address accepts, lower-cased


_SHOWN_MAX = 42  # an address with its 0x; a private key (64 hex) or a seed phrase (spaces) is longer


def shown(value: object) -> str:
    """`value` for an error message where it may be a secret pasted into the wrong place (a private key or seed
    phrase given as the wallet): quoted only if it is short and has no whitespace, else described, never echoed."""
    if isinstance(value, str):
        core = value.strip()  # an address pasted with a newline is still shown: the newline is the mistake to see
        spaced = any(c.isspace() for c in core)
        if len(core) <= _SHOWN_MAX and not spaced and len(value) <= 2 * _SHOWN_MAX:
            return repr(value)
        kind = "seed phrase" if spaced else "private key"
        return f"a {len(value)}-character value (not shown: it may be a {kind})"
    if isinstance(value, (bytes, bytearray)):
        return f"a {len(value)}-byte value (not shown)"
    return f"a value of type {type(value).__name__}"


def _eip55(value: str | bytes) -> str:
    """EIP-55: a hex digit is upper case where the keccak of the lower-case address has a nibble >= 8
    (as eth-utils' `to_checksum_address`, whose import costs about 50 ms)."""
    if isinstance(value, (bytes, bytearray)):
        body = bytes(value).hex()
        if len(body) != 40:
            raise ValueError(f"{shown(value)} is not a 20-byte address")
    elif isinstance(value, str) and _ANY_HEX_ADDRESS.fullmatch(value.lower()):
        body = value.lower().removeprefix("0x")
    else:
        raise ValueError(f"{shown(value)} is not a 0x-prefixed 20-byte hex address")
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(body, digest[:40], strict=True))


@lru_cache(maxsize=65536)
def checksum_address(value: str | bytes) -> str:
    """EIP-55 form of a 20-byte address (hex or bytes), memoised: every simulated call and every address in
    a plan goes through here, and each EIP-55 encoding is a keccak of the address."""
    return _eip55(value)


def create2_address(deployer: str, salt: bytes, init_code_hash: bytes) -> str:
    """EIP-1014: where `deployer`'s CREATE2 with `salt` puts a contract whose init code hashes to `init_code_hash`,
    keccak256(0xff ++ deployer ++ salt ++ init_code_hash)[12:], EIP-55 checksummed."""
    if not isinstance(deployer, str) or not _HEX_ADDRESS.fullmatch(deployer):
        raise ValueError(f"CREATE2 takes a 20-byte deployer address (0x and 40 hex digits), not {deployer!r}")
    if len(salt) != 32 or len(init_code_hash) != 32:
        raise ValueError(f"CREATE2 takes a 32-byte salt and init code hash, not {len(salt)} and {len(init_code_hash)} bytes")
    return checksum_address(keccak256(b"\xff" + bytes.fromhex(deployer[2:]) + salt + init_code_hash)[12:])


def checksum(value: str) -> str:
    """Accept an all-lower/all-upper hex address or a correct EIP-55 one; refuse a wrong checksum."""
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not a 0x-prefixed 20-byte hex address")
    return _checksum(value)


@lru_cache(maxsize=65536)
def _checksum(value: str) -> str:
    if not _HEX_ADDRESS.fullmatch(value):
        raise ValueError(f"{shown(value)} is not a 0x-prefixed 20-byte hex address")
    body = value[2:]
    mixed = body != body.lower() and body != body.upper()
    if mixed and checksum_address(value) != value:
        raise ValueError(f"{value} has a bad EIP-55 checksum (expected {checksum_address(value)})")
    return checksum_address(value)


ZERO_ADDRESS = "0x" + "0" * 40


def wallet_address(value: str) -> str:
    """A wallet: a checksummed address that is not the zero address (nobody holds its key)."""
    address = checksum(value)
    if address == ZERO_ADDRESS:
        raise ValueError(f"{address} is the zero address: no one can sign for it")
    return address


def _decimal_text(value: object) -> Decimal:
    """A decimal as written: a plain decimal string, an int, or a finite float/Decimal (never `1,000` or `1e3` text)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return Decimal(str(value))
    try:
        return plain_decimal(value, what="number")  # type: ignore[arg-type]
    except AmountError as exc:
        raise ValueError(exc.message) from None


def _amount_text(value: str) -> str:
    """A token amount as text in a file (holdings, limits): plain decimal digits, kept as written."""
    try:
        plain_decimal(value)
    except AmountError as exc:
        raise ValueError(exc.message) from None
    return value


def _hex_data(value: str) -> str:
    if not isinstance(value, str) or len(value) % 2 or not _HEX_DATA.fullmatch(value):
        raise ValueError("not 0x-prefixed hex bytes")
    return value.lower()


def _bytes32(value: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raise ValueError(f"{value!r} is not a 32-byte hash (0x and 64 hex digits)")
    return value.lower()


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    raise ValueError(f"expected an integer in base units, got {value!r}")


Address = Annotated[str, AfterValidator(_checksum)]  # the str schema has checked the type: `checksum` without its isinstance
Wallet = Annotated[str, AfterValidator(wallet_address)]
# A decimal number (prices, gas price): plain decimal text, an int or a finite float; never a rewritten string.
# A Decimal written as plain digits (format 'f'), as mammon reads decimals back: Decimal('1E-7') is '0.0000001' in a file.
PlainDecimal = Annotated[Decimal, PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="json")]
DecimalText = Annotated[PlainDecimal, BeforeValidator(_decimal_text)]
# A token amount in token units, as text: digits with at most one '.', checked when the file is read.
AmountText = Annotated[str, AfterValidator(_amount_text)]
HexData = Annotated[str, AfterValidator(_hex_data)]
Bytes32 = Annotated[str, AfterValidator(_bytes32)]
# Base-unit integers are written as strings: uint256 values overflow JSON numbers in most readers.
Wei = Annotated[int, BeforeValidator(_as_int), PlainSerializer(str, return_type=str, when_used="json")]
# A base-unit amount held on chain (a uint256): non-negative and at most 2**256-1.
UInt = Annotated[Wei, Field(ge=0, le=2**256 - 1)]
