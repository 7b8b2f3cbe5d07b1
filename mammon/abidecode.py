"""Strict ABI decoding of calldata, the same rules as eth-abi's `decode(types, data, strict=True)`.

Review decodes every step from its bytes, and `mammon show` should start in a fraction of a second:
importing eth-abi costs about 0.1 s (eth-utils, eth-typing, and a parsimonious grammar built at import),
more than the rest of `show` together. This module decodes the ABI types mammon's ABIs use (address,
bool, intN/uintN, bytesN, bytes, string, fixed and dynamic arrays, tuples) with the standard library.

It follows eth-abi's strict decoder step by step, so a plan is accepted or refused exactly as before:
every head and tail is read from a frame relative to its container; a read past the end, non-zero
padding (sign-extended for intN), a bool other than 0 or 1, bytes/string padding that is not zero, and
an offset that points into its container's head or past the payload are refused; trailing bytes are
ignored. A well-formed head word is read in one step, and a call whose arguments are all such words in one
pass without the cursor (review decodes every step of every plan); any other word goes through the
field-by-field check that words the refusal. Values come back as eth-abi returns
them (tuples for tuples and arrays, lower-case hex addresses, `bytes`, `str`). `tests/test_abi_decode.py`
checks both agree, on valid and on mangled bytes.
Encoding stays with eth-abi (compiling imports it anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

WORD = 32
_ZERO_WORD = bytes(WORD)
_ADDRESS_PAD, _BOOL_PAD = bytes(12), bytes(31)  # the zero bytes before an address and before a bool's one byte
_WORD_KINDS = frozenset({"uint", "int", "address", "bool", "fixed_bytes"})  # a static value in one head word


class DecodeError(ValueError):
    """The bytes are not a strict ABI encoding of the types."""


@dataclass(frozen=True)
class _Type:
    kind: str  # uint, int, address, bool, fixed_bytes, bytes, string, array, tuple
    bits: int = 0  # uint/int bits; fixed_bytes size in bytes
    item: _Type | None = None  # array item
    size: int | None = None  # fixed array length (None: dynamic array)
    components: tuple[_Type, ...] = ()

    @cached_property
    def dynamic(self) -> bool:
        if self.kind in ("bytes", "string"):
            return True
        if self.kind == "array":
            assert self.item is not None
            return self.size is None or self.item.dynamic
        if self.kind == "tuple":
            return any(c.dynamic for c in self.components)
        return False

    @cached_property
    def words(self) -> bool:
        """A tuple of one-word items only (most calls' arguments): decoded word after word, no pointers."""
        return self.kind == "tuple" and all(c.kind in _WORD_KINDS for c in self.components)

    @cached_property
    def word_reads(self) -> tuple[tuple[str, int], ...]:
        """A words tuple's (kind, bits) per item, for `_words`."""
        return tuple((c.kind, c.bits) for c in self.components)

    @cached_property
    def head_words(self) -> int:
        """Words this type counts for in a tuple's head when eth-abi checks pointers: a static fixed array
        counts its length, anything else one word (eth-abi's `array_size`, else 1)."""
        return self.size if self.kind == "array" and self.size is not None and not self.dynamic else 1


def split_components(inner: str) -> list[str]:
    """Top-level comma-separated parts of a tuple's inside (nested parentheses kept whole; shared with
    `mammon.abiencode`)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [] if parts == [""] else parts


@cache
def parse_type(text: str) -> _Type:
    """The type of an ABI type string (`uint256`, `(address,bool)[]`, `bytes32[2]`)."""
    if text.endswith("]"):
        base, _, dim = text[:-1].rpartition("[")
        if not base or (dim and not dim.isdigit()):
            raise ValueError(f"unsupported ABI type {text!r}")
        return _Type("array", item=parse_type(base), size=int(dim) if dim else None)
    if text.startswith("(") and text.endswith(")"):
        return _Type("tuple", components=tuple(parse_type(p) for p in split_components(text[1:-1])))
    for prefix, kind in (("uint", "uint"), ("int", "int")):
        if text.startswith(prefix):
            bits = int(text[len(prefix):] or 256)
            if not (8 <= bits <= 256 and bits % 8 == 0):
                raise ValueError(f"unsupported ABI type {text!r}")
            return _Type(kind, bits)
    if text in ("address", "bool", "bytes", "string"):
        return _Type(text, 160 if text == "address" else 0)
    if text.startswith("bytes") and text[5:].isdigit() and 1 <= int(text[5:]) <= 32:
        return _Type("fixed_bytes", int(text[5:]))
    raise ValueError(f"unsupported ABI type {text!r}")


class _Stream:
    """A cursor over the payload with eth-abi's frames: offsets count from the start of their container."""

    __slots__ = ("data", "pos", "base", "frames")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.base = 0
        self.frames: list[tuple[int, int]] = []

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def word(self) -> bytes:
        chunk = self.read(WORD)
        if len(chunk) < WORD:
            raise DecodeError(f"tried to read {WORD} bytes, only got {len(chunk)}")
        return chunk

    def uint256(self) -> int:
        return int.from_bytes(self.word(), "big")

    def push(self, offset: int) -> None:
        self.frames.append((offset, self.pos))
        self.base += offset
        self.pos = self.base

    def pop(self) -> None:
        offset, back = self.frames.pop()
        self.base -= offset
        self.pos = back


def _padding(padding: bytes, fill: int = 0) -> None:
    if padding != bytes([fill]) * len(padding):
        raise DecodeError(f"padding bytes were not empty: {padding!r}")


def _static_word(t: _Type, s: _Stream) -> Any:
    """One head word, read as eth-abi reads it: the common well-formed word with one `int.from_bytes` and a range
    check; anything else (short, bad padding, a bool not 0 or 1) by `_checked_word`, which words the refusal."""
    pos = s.pos
    raw = s.data[pos:pos + WORD]
    if len(raw) == WORD:
        kind = t.kind
        if kind == "uint":
            value = int.from_bytes(raw, "big")
            if value >> t.bits == 0:
                s.pos = pos + WORD
                return value
        elif kind == "address":
            if raw.startswith(_ADDRESS_PAD):
                s.pos = pos + WORD
                return "0x" + raw[12:].hex()
        elif kind == "int":
            value = int.from_bytes(raw, "big", signed=True)
            if -(1 << (t.bits - 1)) <= value < 1 << (t.bits - 1):
                s.pos = pos + WORD
                return value
        elif kind == "bool":
            value = int.from_bytes(raw, "big")
            if value <= 1:
                s.pos = pos + WORD
                return value == 1
        elif raw.endswith(_ZERO_WORD[t.bits:]):  # fixed_bytes
            s.pos = pos + WORD
            return raw[:t.bits]
    return _checked_word(t, s)


def _checked_word(t: _Type, s: _Stream) -> Any:
    """A head word checked field by field (eth-abi's order of checks, so its refusal names what eth-abi's does)."""
    raw = s.word()
    if t.kind == "fixed_bytes":
        _padding(raw[t.bits:])
        return raw[:t.bits]
    size = t.bits // 8 if t.kind != "bool" else 1
    pad, body = raw[:WORD - size], raw[WORD - size:]
    if t.kind == "bool":
        if body not in (b"\x00", b"\x01"):
            raise DecodeError(f"boolean must be 0 or 1, got {body!r}")
        _padding(pad)
        return body == b"\x01"
    value = int.from_bytes(body, "big")
    if t.kind == "int" and value >= 1 << (t.bits - 1):
        value -= 1 << t.bits
    _padding(pad, 0xFF if value < 0 else 0)
    if t.kind == "address":
        return "0x" + body.hex()
    return value


def _check_pointers(s: _Stream, items: list[_Type]) -> None:
    """Every dynamic item's offset must point past the container's head and inside the payload."""
    start = s.pos
    end_of_head = start + WORD * sum(t.head_words for t in items)
    for t in items:
        if t.dynamic:
            at = start + s.uint256()
            if at < end_of_head or at >= len(s.data):
                raise DecodeError(f"invalid pointer at location {s.pos - WORD} in payload")
        else:
            _decode(t, s)
    s.pos = start


def _dynamic_pointers(s: _Stream, item: _Type, count: int) -> None:
    """An array's offsets, as eth-abi checks them (one word each, a static item's check needs no pass)."""
    if not item.dynamic:
        return
    start = s.pos
    end_of_head = start + WORD * count
    for _ in range(count):
        at = start + s.uint256()
        if at < end_of_head or at >= len(s.data):
            raise DecodeError(f"invalid pointer in array at location {s.pos - WORD} in payload")
    s.pos = start


def _tail(t: _Type, s: _Stream) -> Any:
    """A dynamic value in a container: its offset in the head, the value in the tail."""
    s.push(s.uint256())
    value = _body(t, s)
    s.pop()
    return value


def _decode(t: _Type, s: _Stream) -> Any:
    return _tail(t, s) if t.dynamic else _body(t, s)


def _items(item: _Type, count: int, s: _Stream) -> tuple[Any, ...]:
    _dynamic_pointers(s, item, count)
    out = []
    for _ in range(count):
        out.append(_decode(item, s))
    return tuple(out)


def _body(t: _Type, s: _Stream) -> Any:
    kind = t.kind
    if kind == "tuple":
        if t.words:
            return tuple([_static_word(c, s) for c in t.components])
        if t.dynamic:  # (a static tuple has no pointer; its check would only decode each item twice)
            _check_pointers(s, list(t.components))
        return tuple(_decode(c, s) for c in t.components)
    if kind == "array":
        assert t.item is not None
        if t.size is not None:
            return _items(t.item, t.size, s)
        count = s.uint256()
        s.push(WORD)
        values = _items(t.item, count, s)
        s.pop()
        return values
    if kind in ("bytes", "string"):
        length = s.uint256()
        padded = -(-length // WORD) * WORD
        data = s.read(padded)
        if len(data) < padded:
            raise DecodeError(f"tried to read {padded} bytes, only got {len(data)}")
        _padding(data[length:])
        return data[:length] if kind == "bytes" else data[:length].decode("utf-8")
    return _static_word(t, s)


def _words(t: _Type, data: bytes) -> tuple[Any, ...] | None:
    """A words tuple's values in one pass when every head word is well formed (what `_static_word` reads without
    `_checked_word`); None for anything else, which the cursor's path then decodes or refuses in its own words."""
    if len(data) < WORD * len(t.components):
        return None
    out: list[Any] = []
    pos = 0
    for kind, bits in t.word_reads:
        raw = data[pos:pos + WORD]
        pos += WORD
        if kind == "uint":
            value: Any = int.from_bytes(raw, "big")
            if value >> bits:
                return None
        elif kind == "address":
            if not raw.startswith(_ADDRESS_PAD):
                return None
            value = "0x" + raw[12:].hex()
        elif kind == "int":
            value = int.from_bytes(raw, "big", signed=True)
            if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
                return None
        elif kind == "bool":
            if not raw.startswith(_BOOL_PAD) or raw[31] > 1:
                return None
            value = raw[31] == 1
        else:  # fixed_bytes
            if not raw.endswith(_ZERO_WORD[bits:]):
                return None
            value = raw[:bits]
        out.append(value)
    return tuple(out)


@cache
def _top(types: tuple[str, ...]) -> _Type:
    return parse_type("(" + ",".join(types) + ")")


def decode(types: list[str] | tuple[str, ...], data: bytes) -> tuple[Any, ...]:
    """The values `data` strictly encodes for `types` (as `eth_abi.decode(types, data, strict=True)`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"can only decode bytes, got {type(data).__name__}")
    top = _top(types if type(types) is tuple else tuple(types))
    data = bytes(data)
    if top.words:  # (most calls: every argument one head word)
        values = _words(top, data)
        if values is not None:
            return values
    try:
        return tuple(_body(top, _Stream(data)))
    except UnicodeDecodeError as exc:
        raise DecodeError(f"string is not UTF-8: {exc}") from None
