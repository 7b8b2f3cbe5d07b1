"""Step-output references patched into the calldata word by word (`engine._patched`) give the bytes decoding the
call, setting the argument and encoding it again (`engine._reencoded`) gives, and the patch declines every call
where that would not hold (the caller then re-encodes).

Differential: every function of abis/ whose parameters are all one word, on random valid calldata, each uint256
argument set to edge and random values; and every reference of the example plans."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mammon import compile_plan, load_recommendations
from mammon.abi import ABI_DIR, ONE_WORD_TYPES, Function, decode_call, load_abi
from mammon.run import engine
from mammon_test_support import EXAMPLES, NOW, WALLET

EDGES = (0, 1, 10**6, 2**128, 2**255, 2**256 - 1)


def _functions() -> list[Function]:
    names = sorted(p.relative_to(ABI_DIR).with_suffix("").as_posix() for p in ABI_DIR.rglob("*.json"))
    return [fn for name in names for fn in load_abi(name).values()]


def _word(kind: str, rng: random.Random) -> bytes:
    """A random word that strictly decodes as `kind` (one of ONE_WORD_TYPES)."""
    if kind == "address":
        return bytes(12) + rng.randbytes(20)
    if kind == "bool":
        return bytes(31) + bytes([rng.randint(0, 1)])
    if kind.startswith("bytes"):
        n = int(kind[5:])
        return rng.randbytes(n) + bytes(32 - n)
    bits = int(kind.lstrip("uint") or 256)
    if kind.startswith("u"):
        return rng.getrandbits(bits).to_bytes(32, "big")
    return rng.randrange(-(2 ** (bits - 1)), 2 ** (bits - 1)).to_bytes(32, "big", signed=True)


def _both(fn: Function, data: str, values: tuple[tuple[str, int], ...]) -> tuple[str | None, str]:
    patched = engine._patched(fn, data, values)
    _, args = decode_call(data)
    return patched, engine._reencoded(fn, args, values)


ONE_WORD = [fn for fn in _functions() if fn.inputs and all(p["type"] in ONE_WORD_TYPES for p in fn.inputs)]


@pytest.mark.parametrize("fn", ONE_WORD, ids=lambda fn: f"{fn.abi_file}:{fn.signature}")
def test_patch_equals_reencoding_for_one_word_calls(fn: Function) -> None:
    rng = random.Random(fn.signature)
    targets = [p["name"] for p in fn.inputs if p["type"] == "uint256" and p["name"]]
    for _ in range(20):
        data = "0x" + (fn.selector + b"".join(_word(p["type"], rng) for p in fn.inputs)).hex()
        assert decode_call(data, abi=fn.abi_file)[0] == fn
        for name in targets:
            for value in (*EDGES, rng.getrandbits(rng.randint(1, 256))):
                patched, reencoded = _both(fn, data, ((name, value),))
                assert patched == reencoded
        if len(targets) > 1:
            values = tuple((name, rng.getrandbits(200)) for name in targets)
            patched, reencoded = _both(fn, data, values)
            assert patched == reencoded


def test_patch_declines_what_it_cannot_lay_out() -> None:
    fn = load_abi("erc20/ERC20")["approve"]
    data = fn.encode({"spender": "0x" + "11" * 20, "value": 5})
    assert engine._patched(fn, data, (("value", 7),)) == fn.encode({"spender": "0x" + "11" * 20, "value": 7})
    assert engine._patched(fn, data + "00" * 32, (("value", 7),)) is None  # trailing bytes: re-encoding drops them
    assert engine._patched(fn, data.upper().replace("0X", "0x"), (("value", 7),)) is None
    assert engine._patched(fn, data, (("spender", 7),)) is None  # not a uint256
    assert engine._patched(fn, data, (("nothing", 7),)) is None
    assert engine._patched(fn, data, (("value", 2**256),)) is None  # out of range: re-encoding refuses it
    assert engine._patched(fn, data, (("value", -1),)) is None
    assert engine._patched(fn, data, (("value", True),)) is None
    # A bytesN neighbour decodes to "0x…" text the encoder refuses; a repeated name is written twice on re-encoding.
    tagged = Function("custom/Tagged", "tagged", ({"name": "tag", "type": "bytes32"}, {"name": "amount", "type": "uint256"}), ())
    assert engine._patched(tagged, "0x" + tagged.selector.hex() + "00" * 64, (("amount", 7),)) is None
    twice = Function("custom/Twice", "twice", ({"name": "amount", "type": "uint256"}, {"name": "x", "type": "uint256"},
                                               {"name": "x", "type": "uint256"}), ())
    assert engine._patched(twice, "0x" + twice.selector.hex() + "00" * 96, (("amount", 7),)) is None
    swap = next(f for f in _functions() if any(p["type"].startswith("tuple") for p in f.inputs))
    assert engine._patched(swap, "0x" + swap.selector.hex() + "00" * 32 * 8, (("params.amountIn", 1),)) is None


def _refs() -> list[tuple[str, str, int, tuple[tuple[str, int], ...]]]:
    found = []
    for example in EXAMPLES:
        for rec in load_recommendations(example):
            plan = compile_plan(rec, chain="base", wallet=WALLET, now=NOW)
            found += [(s.call.to, s.call.data, s.call.value, tuple((r.arg, v) for r in s.refs))
                      for s in plan.steps if s.refs for v in (s.refs[0].expected, s.refs[0].min, s.refs[0].max, s.refs[0].expected + 12345)]
    return found


def test_every_reference_of_the_examples_resolves_as_reencoded() -> None:
    refs = _refs()
    assert refs
    patched = 0
    for to, data, value, values in refs:
        fn, args = decode_call(data)
        expected = engine._reencoded(fn, args, values)
        engine._resolved_call.cache_clear()
        call: Any = engine._resolved_call(to, value, data, values)
        assert call.data == expected
        patched += engine._patched(fn, data, values) is not None
    assert patched  # the examples' approve / supply amounts take the patch
