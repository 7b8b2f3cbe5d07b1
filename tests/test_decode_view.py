"""The decoded view of a call: amounts carry decimals only beside a named token, so a plan's bytes stay the same."""

from __future__ import annotations

import pytest

from mammon.abi import function
from mammon.plan.decode import view

_SPENDER = "0x" + "11" * 20


def _amount(units: dict[str, tuple[str, int]]) -> tuple[str | None, int | None, str | None]:
    data = function("erc20/ERC20", "approve").encode({"spender": _SPENDER, "value": 1_500_000})
    arg = next(a for a in view(data, "USDC", units, {}).args if a.type.startswith("uint"))
    return arg.token, arg.decimals, arg.display


def test_amount_with_a_token_shows_its_decimals() -> None:
    token, decimals, display = _amount({"value": ("USDC", 6)})
    assert (token, decimals) == ("USDC", 6)
    assert display is not None and "1.5" in display and "USDC" in display


def test_amount_with_an_empty_symbol_leaves_decimals_unset() -> None:
    token, decimals, _ = _amount({"value": ("", 6)})
    assert (token, decimals) == ("", None)


def test_views_built_from_the_memo_are_the_views_built_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scalar argument's view is built once and shared (issue #10): every example plan's steps read the same
    whether their arguments come from the memo (twice) or are built afresh with the decoding memos emptied."""
    import mammon.abi as abi
    import mammon.plan.decode as decode
    from mammon.api import compile_plan
    from mammon.compile.inputs import registry_labels
    from mammon.chains import chain_for_plan
    from mammon.recommend import load_recommendations
    from mammon_test_support import EXAMPLES, NOW, WALLET

    steps = [s for path in EXAMPLES for s in compile_plan(load_recommendations(path), chain="base", wallet=WALLET, now=NOW).steps]
    labels = {**registry_labels(chain_for_plan(8453, "base")), WALLET.lower(): "wallet"}

    def views() -> list[dict[str, object]]:
        return [view(s.call.data, s.decoded.contract, decode.units_of(s), labels).model_dump() for s in steps]

    def texts() -> list[tuple[str, dict[str, str]]]:
        return [(signature, dict(args)) for signature, args in (decode.call_texts(s.call.data) for s in steps)]

    memoised, again, memoised_texts = views(), views(), texts()
    monkeypatch.setattr(decode, "arg_view", decode._arg)
    abi._CALLS.clear()
    abi._decode_values.cache_clear()
    decode._flat_call.cache_clear()
    assert memoised == again == views()
    assert memoised == [s.decoded.model_dump() for s in steps]  # and what compile wrote in the plan
    # each argument as text, as derive and the policy read them: the view's values, whether memoised or not
    assert memoised_texts == texts() == [(s.decoded.function, {a.name: str(a.value) for a in s.decoded.args}) for s in steps]


def test_decoded_call_arguments_are_fresh_for_each_caller() -> None:
    """decode_call is memoised per calldata text (issue #10); the engine sets resolved references in the dict it
    gets, nested tuples included, so each caller gets its own."""
    from mammon.abi import decode_call

    route = {"from": _SPENDER, "to": _SPENDER, "stable": False, "factory": _SPENDER}
    data = function("aerodrome/Router", "swapExactTokensForTokens").encode(
        {"amountIn": 5, "amountOutMin": 4, "routes": [route], "to": _SPENDER, "deadline": 9})
    _, first = decode_call(data)
    first["amountIn"] = 6
    first["routes"][0]["stable"] = True
    assert decode_call(data)[1]["amountIn"] == 5
    assert decode_call(data)[1]["routes"][0]["stable"] is False


def test_a_call_decoded_for_its_abi_file_serves_the_selector_look_up_only_when_it_is_what_that_finds() -> None:
    """decode_call(data, file) and decode_call(data) share a memo entry (issue #10: compile names the file, review
    does not) only when both find the same function: several ABI files have balanceOf(address)."""
    import mammon.abi as abi
    from mammon.abi import decode_call

    data = function("erc20/ERC20", "balanceOf").encode({"account": _SPENDER})
    files = sorted({f.abi_file for f in abi._by_selector()[bytes.fromhex(data[2:10])]})
    assert len(files) > 1  # the selector is in several ABI files: only the first is what `decode_call(data)` finds
    for file in reversed(files):
        abi._CALLS.clear()
        assert decode_call(data, file)[0].abi_file == file
        served = decode_call(data)
        abi._CALLS.clear()
        fresh = decode_call(data)
        assert (served[0], served[1]) == (fresh[0], fresh[1])
        assert fresh[0].abi_file == files[0]
        for other in files:  # and the selector's look-up serves each file's own only when it is that file's function
            assert decode_call(data, other) == (abi._CALLS.clear() or decode_call(data, other))


def test_a_call_of_scalars_flattens_as_its_named_arguments_do() -> None:
    """`_flat_call` reads a call of scalars straight from its decoded values (issue #10); for every such function of
    every ABI file the flattened view is what naming the arguments and flattening them gives, types included."""
    import random

    import mammon.abi as abi
    from mammon.abi import decode_call, encode_values
    from mammon.plan import decode

    rng = random.Random(10)
    samples = {"address": lambda: "0x" + rng.randbytes(20).hex(), "bool": lambda: rng.random() < 0.5, "string": lambda: "é, \"x\"" * rng.randrange(3),
               "bytes": lambda: rng.randbytes(rng.randrange(70))}

    def value(kind: str) -> object:
        if kind in samples:
            return samples[kind]()
        if kind.startswith(("uint", "int")):
            bits = int(kind.lstrip("uint") or 256)
            return rng.randrange(2**bits) - (2 ** (bits - 1) if kind.startswith("int") else 0)
        assert kind.startswith("bytes"), kind
        return rng.randbytes(int(kind[5:]))

    functions = [fn for fns in abi._by_selector().values() for fn in fns]
    assert {fn.scalar_inputs is None for fn in functions} == {True, False}  # both paths are in use
    for fn in (fn for fn in functions if fn.scalar_inputs is not None):
        data = "0x" + (fn.selector + encode_values(fn.input_types, [value(t) for t in fn.input_types])).hex()
        args = decode_call(data, fn.abi_file)[1]
        plain = tuple((name, kind, decode._frozen(v), kind.startswith("uint"), kind == "address", type(v) in (list, tuple))
                      for name, kind, v in decode.flatten(fn.inputs, args))
        flat = decode._flat_call(data, fn.abi_file)
        assert flat[:2] == (fn.signature, plain)
        assert [type(f[2]) for f in flat[1]] == [type(p[2]) for p in plain]  # (True is not 1)
        assert dict(flat[2]) == {name: str(decode._json_value(kind, v)) if array else str(v) for name, kind, v, _, _, array in plain}
