"""ABI encoding (`abi.encode(types, values)`) without importing eth-abi for the values every plan uses.

Compiling, resolving step references and the simulator encode calldata and return values thousands of
times per apply; eth-abi encodes them correctly but costs about 0.1 s to import (its type grammar, and
eth-utils) and tens of microseconds per call. `encode` lays out the standard head/tail encoding itself for
well-formed values of the elementary types, arrays and tuples, and hands everything else to eth-abi,
imported on first use: a value eth-abi would refuse (out of range, wrong Python type, a mixed-case
address with a bad checksum), and types it does not cover (`fixed`, `function`, `uint` without a size).
So a value is either encoded to eth-abi's exact bytes or raises eth-abi's own error. The tests compare
the two on generated values of every type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from mammon.abidecode import split_components

# A parsed type: ("uint", bits) ("int", bits) ("address",) ("bool",) ("bytesN", n) ("bytes",) ("string",)
# ("array", element, length or None) ("tuple", (components...)).
Kind = tuple[Any, ...]

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ARRAY = re.compile(r"(.*)\[([0-9]*)\]")  # fullmatch; ASCII digits only (int() would read other scripts' digits)
_SIZED = re.compile(r"(uint|int|bytes)([1-9][0-9]*)")


class _Refer(Exception):
    """This value or type is eth-abi's to encode (or to refuse, with its own message)."""


def _refer() -> Kind:
    raise _Refer


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """`eth_abi.encode(types, values)`: the same bytes, or the same error."""
    try:
        if type(types) not in (list, tuple) or type(values) not in (list, tuple) or len(types) != len(values):
            raise _Refer
        kinds = tuple(_kind(t) if type(t) is str else _refer() for t in types)
        return _tuple(kinds, values)
    except _Refer:
        from eth_abi import encode as eth_abi_encode

        return eth_abi_encode(types, values)


@lru_cache(maxsize=512)
def _kind(text: str) -> Kind:
    array = _ARRAY.fullmatch(text)
    if array:
        inner, size = array.group(1), array.group(2)
        if size[:1] == "0":  # T[0] and T[01]: eth-abi decides
            raise _Refer
        return ("array", _kind(inner), int(size) if size else None)
    if text.startswith("("):
        if not text.endswith(")"):
            raise _Refer
        return ("tuple", tuple(_kind(part) for part in _components(text[1:-1])))
    sized = _SIZED.fullmatch(text)
    if sized:
        prefix, size = sized.group(1), int(sized.group(2))
        if not (1 <= size <= 32 if prefix == "bytes" else size <= 256 and size % 8 == 0):
            raise _Refer
        return ("bytesN" if prefix == "bytes" else prefix, size)
    if text in ("address", "bool", "bytes", "string"):
        return (text,)
    raise _Refer


def _components(inner: str) -> list[str]:
    """Top-level parts of a tuple's type list; anything unbalanced or with an empty part is eth-abi's."""
    if inner == "":
        return []
    parts = split_components(inner)
    if inner.count("(") != inner.count(")") or not parts or any(p == "" for p in parts):
        raise _Refer
    return parts


def _dynamic(kind: Kind) -> bool:
    name = kind[0]
    if name in ("bytes", "string"):
        return True
    if name == "array":
        return kind[2] is None or _dynamic(kind[1])
    if name == "tuple":
        return any(_dynamic(k) for k in kind[1])
    return False


def _tuple(kinds: Sequence[Kind], values: Sequence[Any]) -> bytes:
    heads: list[bytes] = []
    tails: list[bytes] = []
    dynamic = [_dynamic(k) for k in kinds]
    offset = sum(32 if d else _static_size(k) for k, d in zip(kinds, dynamic))
    for kind, value, is_dynamic in zip(kinds, values, dynamic):
        encoded = _one(kind, value)
        if is_dynamic:
            heads.append(offset.to_bytes(32, "big"))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def _static_size(kind: Kind) -> int:
    if kind[0] == "array":
        return int(kind[2]) * _static_size(kind[1])
    if kind[0] == "tuple":
        return sum(_static_size(k) for k in kind[1])
    return 32


def _one(kind: Kind, value: Any) -> bytes:
    name = kind[0]
    if name == "uint":
        if type(value) is not int or not 0 <= value < 1 << kind[1]:
            raise _Refer
        return value.to_bytes(32, "big")
    if name == "int":
        if type(value) is not int or not -(1 << (kind[1] - 1)) <= value < 1 << (kind[1] - 1):
            raise _Refer
        return value.to_bytes(32, "big", signed=True)
    if name == "address":
        return bytes(12) + _address(value)
    if name == "bool":
        if type(value) is not bool:
            raise _Refer
        return (1 if value else 0).to_bytes(32, "big")
    if name == "bytesN":
        if type(value) not in (bytes, bytearray) or len(value) > kind[1]:
            raise _Refer
        return bytes(value) + bytes(32 - len(value))
    if name in ("bytes", "string"):
        if name == "string":
            if type(value) is not str:
                raise _Refer
            try:
                raw = value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refer from None
        elif type(value) in (bytes, bytearray):
            raw = bytes(value)
        else:
            raise _Refer
        return len(raw).to_bytes(32, "big") + raw + bytes(-len(raw) % 32)
    if type(value) not in (list, tuple):
        raise _Refer
    if name == "array":
        element, size = kind[1], kind[2]
        if size is not None:
            if len(value) != size:
                raise _Refer
            return _tuple([element] * size, value)
        return len(value).to_bytes(32, "big") + _tuple([element] * len(value), value)
    if len(value) != len(kind[1]):
        raise _Refer
    return _tuple(kind[1], value)


def _address(value: str | bytes) -> bytes:
    """20 address bytes, for what eth-abi accepts without question: 20 raw bytes, or 0x and 40 hex digits in one
    case or with a valid EIP-55 checksum (eth-abi refuses a bad checksum, in its own words)."""
    if type(value) is bytes and len(value) == 20:
        return value
    raw = _hex_address(value) if type(value) is str else None
    if raw is None:
        raise _Refer
    return raw


@lru_cache(maxsize=4096)
def _hex_address(value: str) -> bytes | None:
    """A plan names the same few addresses over and over: each is checked (a keccak for its checksum) once."""
    if not _HEX_ADDRESS.fullmatch(value):
        return None
    body = value[2:]
    if body != body.lower() and body != body.upper():
        from mammon.types import checksum_address

        if checksum_address(value) != value:
            return None
    return bytes.fromhex(body)
