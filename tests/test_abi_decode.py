"""mammon's own ABI decoder accepts and refuses exactly what eth-abi's strict decoder does.

Review trusts only what the bytes decode to, so the decoder `show` uses (without eth-abi's import cost)
is checked against eth-abi itself: every function of mammon's ABIs and a few more shapes, on encodings of
random values and on the same bytes mangled (truncated, extended, a byte or a whole word changed, an
offset pointed elsewhere). Both must give the same values or both must refuse.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import decode as eth_decode
from eth_abi import encode as eth_encode
from eth_abi.tools import get_abi_strategy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mammon.abi import ABI_DIR, type_str
from mammon.abidecode import decode

EXTRA = [
    ["int24", "int256", "bool", "bytes32", "bytes4"],
    ["string", "bytes", "uint8[3]"],
    ["(uint256,bytes)[]", "address[2]"],
    ["(uint256,(bool,string),uint16[])", "bytes[2]"],
    ["uint256", "(address,uint256)", "bytes"],  # a static tuple before a dynamic value in the head
    [],
]


def _abi_signatures() -> list[list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(ABI_DIR.rglob("*.json")):
        for entry in json.loads(path.read_text()):
            if entry.get("type") == "function":
                for params in (entry["inputs"], entry.get("outputs", [])):
                    types = [type_str(p) for p in params]
                    found.setdefault(",".join(types), types)
    return list(found.values())


SIGNATURES = _abi_signatures() + EXTRA


def _outcome(fn: Any, types: list[str], data: bytes) -> tuple[str, Any]:
    try:
        return "ok", fn(types, data)
    except Exception:  # noqa: BLE001 - either decoder refusing, in whatever words
        return "refused", None


def _both(types: list[str], data: bytes) -> None:
    theirs = _outcome(lambda t, d: tuple(eth_decode(t, d, strict=True)), types, data)
    ours = _outcome(decode, types, data)
    assert ours == theirs, f"{types} on {data.hex()}"


def _mangled(data: bytes, how: int, at: int, byte: int) -> bytes:
    words = max(len(data) // 32, 1)
    i = at % max(len(data), 1)
    w = (at % words) * 32
    match how:
        case 0:  # truncated
            return data[:i]
        case 1:  # one byte changed
            return data[:i] + bytes([byte]) + data[i + 1:] if data else bytes([byte])
        case 2:  # a word appended
            return data + bytes([byte]) * 32
        case 3:  # a word removed
            return data[:w] + data[w + 32:]
        case 4:  # a word set to a small number (an offset or length pointed elsewhere)
            return data[:w] + (byte * 16 % 1024).to_bytes(32, "big") + data[w + 32:]
        case _:  # a word's high byte set (padding)
            return data[:w] + bytes([byte | 1]) + data[w + 1:]


@pytest.mark.parametrize("types", SIGNATURES, ids=lambda t: "(" + ",".join(t) + ")")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_decodes_and_refuses_as_eth_abi_does(types: list[str], data: st.DataObject) -> None:
    values = data.draw(get_abi_strategy("(" + ",".join(types) + ")")) if types else ()  # eth-abi has no "()" strategy
    encoded = eth_encode(types, list(values))
    assert decode(types, encoded) == tuple(eth_decode(types, encoded, strict=True))
    for _ in range(4):
        how = data.draw(st.integers(0, 5))
        at = data.draw(st.integers(0, 10_000))
        byte = data.draw(st.integers(0, 255))
        _both(types, _mangled(encoded, how, at, byte))


@pytest.mark.parametrize("payload", [
    b"",  # nothing at all
    (2**255).to_bytes(32, "big"),  # an offset past the payload
    (32).to_bytes(32, "big") + (2**200).to_bytes(32, "big"),  # a length far past the payload
    (32).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\xff" * 32,  # bytes padding not zero
    (0).to_bytes(32, "big") * 2,  # an offset into the head
])
def test_refuses_what_eth_abi_refuses(payload: bytes) -> None:
    _both(["bytes"], payload)
    _both(["string[]"], payload)
    with pytest.raises(Exception):  # noqa: B017,PT011 - each is malformed; the wording is the decoder's
        decode(["bytes"], payload)


STATIC = ["uint8", "uint16", "uint24", "uint160", "uint256", "int8", "int24", "int128", "int256", "address", "bool", "bytes1", "bytes4", "bytes20", "bytes32"]


def _word_outcome(read: Any, kind: str, data: bytes) -> tuple[str, Any, int]:
    from mammon.abidecode import _Stream, parse_type

    s = _Stream(data)
    try:
        return "ok", read(parse_type(kind), s), s.pos
    except Exception as exc:  # noqa: BLE001 - the refusal's words are compared
        return "refused", f"{type(exc).__name__}: {exc}", -1


@pytest.mark.parametrize("kind", STATIC)
@settings(max_examples=60, deadline=None)
@given(fill=st.sampled_from([0, 0xFF, None]), tail=st.binary(min_size=0, max_size=32), cut=st.integers(0, 40))
def test_the_fast_word_reads_and_refuses_in_the_checked_words_own_words(kind: str, fill: int | None, tail: bytes, cut: int) -> None:
    """`_static_word` takes a shortcut for well-formed words; on any word it must give the value, the position and
    the refusal (message included: review quotes it) that the field-by-field `_checked_word` gives."""
    from mammon.abidecode import _checked_word, _static_word

    word = (bytes([fill]) * 32 if fill is not None else bytes(range(1, 33)))[:32 - len(tail)] + tail
    for data in (word, word[:cut] if cut < 32 else word + bytes(cut - 32)):
        assert _word_outcome(_static_word, kind, data) == _word_outcome(_checked_word, kind, data)


@pytest.mark.parametrize("types", SIGNATURES, ids=lambda t: "(" + ",".join(t) + ")")
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_refusals_read_as_the_checked_decoders(types: list[str], data: st.DataObject) -> None:
    """Whole calls, mangled: the decoder with its word shortcut refuses in the words of the field-by-field one."""
    import mammon.abidecode as abidecode

    values = data.draw(get_abi_strategy("(" + ",".join(types) + ")")) if types else ()
    encoded = eth_encode(types, list(values))
    mangled = [_mangled(encoded, data.draw(st.integers(0, 5)), data.draw(st.integers(0, 10_000)), data.draw(st.integers(0, 255)))
               for _ in range(4)]
    fast = [_message(types, m) for m in [encoded, *mangled]]
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(abidecode, "_static_word", abidecode._checked_word)
        patched.setattr(abidecode, "_words", lambda t, d: None)  # (and no one-pass read of a words tuple)
        checked = [_message(types, m) for m in [encoded, *mangled]]
    assert fast == checked


@settings(max_examples=300, deadline=None)
@given(kinds=st.lists(st.sampled_from(STATIC), max_size=5), words=st.lists(st.tuples(st.sampled_from([0, 0xFF, None]), st.binary(max_size=32)), max_size=6),
       extra=st.binary(max_size=40))
def test_a_words_tuple_read_in_one_pass_is_what_the_checked_words_give(kinds: list[str], words: list[tuple[int | None, bytes]], extra: bytes) -> None:
    """`_words` reads a call of one-word arguments without the cursor; where it answers, the value is what the
    field-by-field decoding gives, and it answers for every well-formed call (a refusal is left to the cursor's path)."""
    import mammon.abidecode as abidecode

    data = b"".join((bytes([fill]) * 32 if fill is not None else bytes(range(1, 33)))[:32 - len(tail)] + tail for fill, tail in words)
    data += extra[:len(extra) % 33]
    top = abidecode._top(tuple(kinds))
    fast = abidecode._words(top, data)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(abidecode, "_static_word", abidecode._checked_word)
        try:
            checked: Any = tuple(abidecode._body(top, abidecode._Stream(data)))
        except Exception:  # noqa: BLE001 - a refusal: the one-pass read must not answer
            checked = None
    if fast is not None or checked is not None:
        assert fast == checked
        assert [type(v) for v in fast] == [type(v) for v in checked]


def _message(types: list[str], data: bytes) -> Any:
    try:
        return decode(types, data)
    except Exception as exc:  # noqa: BLE001 - the words are what is compared
        return f"{type(exc).__name__}: {exc}"


def test_an_array_of_bytes_reads_as_hex_texts() -> None:
    """SwapRouter02's `multicall(uint256,bytes[])`: the decoder gives the array as a tuple, read as a list of hex texts."""
    from mammon.abi import decode_call, load_abi

    fn = load_abi("uniswap_v3/SwapRouter02")["multicall"]
    data = "0x" + (fn.selector + eth_encode(["uint256", "bytes[]"], [5, [b"\x12\x34", b"\xab\xcd\xef"]])).hex()
    found, args = decode_call(data)
    assert found == fn
    assert args == {"deadline": 5, "data": ["0x1234", "0xabcdef"]}
