"""The ABI codec is memoised per distinct value (issue #10): the bytes stay eth-abi's, bad values are still refused."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_abi.exceptions import EncodingError

from mammon.abi import encode_values, load_abi

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
TYPES = ["uint256", "address", "bool", "bytes", "uint24[]", "(address,uint256)[]"]
VALUES = [10**24, WALLET, True, b"\x01\x02", [3000, 500], [(WALLET, 7)]]


def test_memoised_encoding_is_eth_abis_encoding_every_time() -> None:
    for _ in range(2):
        assert encode_values(TYPES, VALUES) == encode(TYPES, VALUES)


def test_a_value_of_another_type_is_not_served_from_the_memo() -> None:
    assert encode_values(["uint256"], [1]) == encode(["uint256"], [1])
    with pytest.raises(EncodingError):
        encode_values(["uint256"], [True])  # equal to 1 and hashing alike, yet eth-abi refuses a bool for a uint
    with pytest.raises(EncodingError):
        encode_values(["uint8"], [256])
    with pytest.raises(EncodingError):
        encode_values(["uint8"], [256])  # a failure is never memoised as anything else


def test_unhashable_values_are_encoded_directly() -> None:
    assert encode_values(["bytes"], [bytearray(b"\x01")]) == encode(["bytes"], [b"\x01"])
    with pytest.raises(EncodingError):
        encode_values(["uint256"], [{"not": "hashable"}])


def test_decoded_arguments_are_fresh_for_each_caller() -> None:
    fn = load_abi("erc20/ERC20")["approve"]
    data = bytes.fromhex(fn.encode({"spender": WALLET, "value": 5})[2:])
    first = fn.decode_args(data)
    first["value"] = 6  # the engine sets resolved references in place
    assert fn.decode_args(data) == {"spender": WALLET, "value": 5}


def test_every_abi_functions_arguments_read_as_the_generic_conversion_reads_them() -> None:
    """Each parameter's conversion is chosen once per function (issue #10): the same values as `_from_abi`,
    on every function of every ABI file, over the example plans' own calldata and a zero-filled call."""
    from mammon.abi import _by_selector, _decode_values, _from_abi, decode_call
    from mammon_test_support import EXAMPLES, NOW
    from mammon.api import compile_plan
    from mammon.recommend import load_recommendations

    calls: list[bytes] = []
    for path in EXAMPLES:
        plan = compile_plan(load_recommendations(path), chain="base", wallet=WALLET, now=NOW)
        calls += [bytes.fromhex(s.call.data[2:]) for s in plan.steps]
    for fns in _by_selector().values():
        for fn in fns:
            try:
                calls.append(fn.selector + encode(fn.input_types, [_zero(t) for t in fn.input_types]))
            except (EncodingError, ValueError):
                pass
    kinds = set()
    for raw in calls:
        fn, args = decode_call("0x" + raw.hex())
        values = _decode_values(tuple(fn.input_types), raw[4:])
        assert args == {p["name"]: _from_abi(p, v) for p, v in zip(fn.inputs, values, strict=True)}
        kinds |= {p["type"] for p in fn.inputs}
    assert {"address", "uint256", "tuple", "tuple[]", "bytes"} <= kinds


def _zero(kind: str) -> object:
    if kind.endswith("[]"):
        return []
    if kind.startswith("("):
        from mammon.abidecode import split_components

        return tuple(_zero(k) for k in split_components(kind[1:-1]))
    if kind == "address":
        return "0x" + "00" * 20
    if kind == "bool":
        return False
    if kind == "string":
        return ""
    if kind.startswith("bytes"):
        return b"" if kind == "bytes" else b"\x00" * int(kind[5:])
    return 0


def test_every_functions_encoding_is_the_generic_conversions_encoding() -> None:
    """Each parameter's conversion for encoding is chosen once per function (issue #10): the example plans' calls
    (tuples and tuple arrays included) encode to their own bytes, and to what the generic `_to_abi` gives."""
    from mammon.abi import _to_abi, decode_call
    from mammon.api import compile_plan
    from mammon.recommend import load_recommendations
    from mammon_test_support import EXAMPLES, NOW

    kinds = set()
    for path in EXAMPLES:
        for step in compile_plan(load_recommendations(path), chain="base", wallet=WALLET, now=NOW).steps:
            fn, args = decode_call(step.call.data)
            generic = [_to_abi(p, args[p["name"]]) for p in fn.inputs]
            assert fn.encode(args) == step.call.data == "0x" + (fn.selector + encode(fn.input_types, generic)).hex()
            kinds |= {p["type"] for p in fn.inputs}
    assert {"tuple", "tuple[]"} <= kinds
