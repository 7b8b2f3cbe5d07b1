"""mammon.abiencode lays out ABI encodings itself: for every type and value, eth-abi's bytes or eth-abi's error."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as eth_abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from mammon.abiencode import encode

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _elementary() -> st.SearchStrategy[tuple[str, st.SearchStrategy[Any]]]:
    """(type, strategy of values): mostly valid values, some just out of range or of the wrong Python type."""
    def uint(bits: int) -> tuple[str, st.SearchStrategy[Any]]:
        return f"uint{bits}", st.one_of(st.integers(0, 2**bits - 1), st.sampled_from([-1, 2**bits, True]))

    def sint(bits: int) -> tuple[str, st.SearchStrategy[Any]]:
        return f"int{bits}", st.one_of(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1), st.sampled_from([2 ** (bits - 1), -(2 ** (bits - 1)) - 1]))

    def fixed_bytes(n: int) -> tuple[str, st.SearchStrategy[Any]]:
        return f"bytes{n}", st.one_of(st.binary(max_size=n), st.binary(min_size=n + 1, max_size=n + 2), st.just("0x00"))

    addresses = st.one_of(st.sampled_from([ADDRESS, ADDRESS.lower(), "0x" + ADDRESS[2:].upper(), ADDRESS[:-1] + "7", "0x12", "0X" + ADDRESS[2:]]),
                          st.binary(min_size=20, max_size=20), st.binary(min_size=19, max_size=19))
    return st.one_of(
        st.sampled_from([8, 24, 160, 256]).map(uint), st.sampled_from([8, 128, 256]).map(sint), st.sampled_from([1, 4, 32]).map(fixed_bytes),
        st.just(("address", addresses)), st.just(("bool", st.one_of(st.booleans(), st.just(1)))),
        st.just(("bytes", st.one_of(st.binary(max_size=70), st.just("0x01")))),
        st.just(("string", st.one_of(st.text(max_size=40), st.just("\ud800"), st.just(b"x")))),
    )


def _type_and_value(depth: int = 2) -> st.SearchStrategy[tuple[str, st.SearchStrategy[Any]]]:
    if depth == 0:
        return _elementary()
    inner = _type_and_value(depth - 1)

    def dynamic_array(t: tuple[str, st.SearchStrategy[Any]]) -> tuple[str, st.SearchStrategy[Any]]:
        return f"{t[0]}[]", st.lists(t[1], max_size=3)

    def fixed_array(t: tuple[str, st.SearchStrategy[Any]], n: int) -> tuple[str, st.SearchStrategy[Any]]:
        return f"{t[0]}[{n}]", st.one_of(st.lists(t[1], min_size=n, max_size=n), st.lists(t[1], min_size=n + 1, max_size=n + 1).map(tuple))

    def tuple_of(ts: list[tuple[str, st.SearchStrategy[Any]]]) -> tuple[str, st.SearchStrategy[Any]]:
        return f"({','.join(t for t, _ in ts)})", st.tuples(*(v for _, v in ts))

    return st.one_of(_elementary(), inner.map(dynamic_array), st.tuples(inner, st.integers(1, 3)).map(lambda a: fixed_array(*a)),
                     st.lists(inner, min_size=1, max_size=3).map(tuple_of))


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[str], list[Any]]:
    pairs = draw(st.lists(_type_and_value(), max_size=4))
    return [t for t, _ in pairs], [draw(v) for _, v in pairs]


def _outcome(fn: Any, types: list[str], values: list[Any]) -> tuple[str, Any]:
    try:
        return "bytes", fn(types, values)
    except Exception as exc:  # noqa: BLE001 - the comparison is the point: same class, same message
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(_case())
def test_every_encoding_is_eth_abis(case: tuple[list[str], list[Any]]) -> None:
    types, values = case
    assert _outcome(encode, types, values) == _outcome(eth_abi_encode, types, values)


@pytest.mark.parametrize(("types", "values"), [
    (["uint"], [1]), (["fixed128x18"], [1]), (["uint7"], [1]), (["bytes33"], [b""]), (["uint8[0]"], [[]]),
    (["(uint8,bool"], [(1, True)]), (["uint256"], (1,)), (["uint256", "bool"], [1]), ("uint8", [1]), (["string", "string"], "ab"),
    (["uint\u0668"], [1]), (["uint8[\u0662]"], [[1, 2]]), (["bytes\u00b2"], [b""]), (["uint08"], [1]), (["uint264"], [1]), (["int0"], [0]),
])
def test_what_it_does_not_lay_out_itself_eth_abi_encodes_or_refuses(types: Any, values: Any) -> None:
    assert _outcome(encode, types, values) == _outcome(eth_abi_encode, types, values)
