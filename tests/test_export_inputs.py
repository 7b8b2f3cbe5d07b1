"""Export files checked by `mammon validate --export` are user files: read as every other one (size, UTF-8,
nesting depth, duplicate keys), and nothing after the read recurses deeper than the reader allows.

A hostile file that is well-formed JSON (10^5 nested brackets, a valid-looking Transaction Builder batch
with 900 levels under `meta`, a tuple argument's JSON text nested 10^5 deep, a `contractMethod` type with
10^5 array suffixes) is one line naming the file, exit 2; the library raises a MammonError, never
RecursionError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mammon import compile_plan, load_recommendations, review
from mammon.errors import MammonError
from mammon.export import export, verify_export
from mammon.export.safe_tx_builder import checksum
from mammon.files import MAX_DEPTH
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, write_plan

DEEP = 100_000


def _plan(tmp_path: Path, example: str) -> Path:
    plan = compile_plan(load_recommendations(EXAMPLES_DIR / f"{example}.yaml"), chain="base", wallet=WALLET, now=NOW)
    return write_plan(tmp_path / f"{example}.yaml", plan)


@pytest.fixture
def swap(tmp_path: Path, mammon: Mammon) -> tuple[Path, Path]:
    """A plan whose third call takes a struct (Uniswap's exactInputSingle) and its Transaction Builder export."""
    plan = _plan(tmp_path, "aave-weth-to-wallet-usdc")
    out = tmp_path / "batch.json"
    mammon("export", plan, "--format", "safe-tx-builder", "-o", out)
    return plan, out


def _rewrite(path: Path, edit: Any) -> None:
    data = json.loads(path.read_text())
    edit(data)
    data["meta"]["checksum"] = checksum(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("text", "message"), [
    ("[" * DEEP + "]" * DEEP, f"nested deeper than {MAX_DEPTH} levels"),
    ('{"meta": {}, "meta": {}, "transactions": []}', "duplicate key 'meta'"),
    ('[{"calls": [], "value": NaN}]', "NaN is not a JSON number"),
    ("\ufeff[" + " " * (5 * 1024 * 1024) + "]", "file is larger than 4096 KiB: refusing to read it"),
    ("[\"\xff\"]", None),
], ids=["nested-1e5", "duplicate-key", "nan", "over-4-mib", "latin-1"])
def test_a_hostile_export_file_is_one_line(text: str, message: str | None, swap: tuple[Path, Path], mammon: Mammon) -> None:
    plan, out = swap
    out.write_bytes(text.encode("latin-1" if message is None else "utf-8"))
    line = mammon.refuses("validate", plan, "--export", out)
    assert line.startswith(f"{out}: "), line
    assert message is None and "not UTF-8 text: byte 0xff" in line or message is not None and message in line, line


def test_a_valid_looking_batch_nested_900_deep_under_meta_is_refused_by_the_reader(swap: tuple[Path, Path], mammon: Mammon) -> None:
    """Its checksum could only be computed by recursing 900 levels: the reader refuses it first."""
    plan, out = swap
    data = json.loads(out.read_text())
    data["meta"]["extra"] = json.loads("[" * 900 + "]" * 900)
    data["meta"]["checksum"] = "0x" + "00" * 32
    out.write_text(json.dumps(data))
    assert mammon.refuses("validate", plan, "--export", out) == f"{out}: nested deeper than {MAX_DEPTH} levels"


def test_the_library_raises_a_mammon_error_not_recursion_error(tmp_path: Path) -> None:
    plan = compile_plan(load_recommendations(EXAMPLES_DIR / "moonwell-to-aave.yaml"), chain="base", wallet=WALLET, now=NOW)
    rv = review(plan, now=NOW)
    path = tmp_path / "deep.json"
    path.write_text("[" * DEEP + "]" * DEEP)
    with pytest.raises(MammonError, match="nested deeper than"):
        verify_export(rv, path)
    batch = export(rv, "safe-tx-builder")
    batch["meta"]["extra"] = json.loads("[" * 900 + "]" * 900)
    path.write_text(json.dumps(batch))
    with pytest.raises(MammonError, match="nested deeper than"):
        verify_export(rv, path)


def _params(data: dict[str, Any], text: str) -> None:
    data["transactions"][2]["contractInputsValues"]["params"] = text


def _deep_method_type(data: dict[str, Any]) -> None:
    data["transactions"][2]["contractMethod"]["inputs"][0] = {"name": "params", "type": "uint256" + "[]" * DEEP}


def _renamed_method(data: dict[str, Any]) -> None:
    data["transactions"][2]["contractMethod"]["name"] = "exactInput"


def _extra_value(data: dict[str, Any]) -> None:
    data["transactions"][0]["contractInputsValues"]["note"] = "send to 0xattacker"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: _params(d, "[" * DEEP + "]" * DEEP), f"transactions[2]: contractInputsValues: nested deeper than {MAX_DEPTH} levels"),
    (lambda d: _params(d, '["0x1", "0x1", "0x1", "0x1", "0x1", "0x1", "0x1", {"a": 1, "a": 2}]'),
     "transactions[2]: contractInputsValues: duplicate key 'a'"),
    (_deep_method_type, "transactions[2]: contractMethod is exactInputSingle(uint256[][][]"),
    (_renamed_method, "transactions[2]: contractMethod is exactInput((address,address,uint24,address,uint256,uint256,uint160)), "
                      "step swap calls exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))"),
    (_extra_value, "transactions[0]: contractInputsValues has 'note', which withdraw(address,uint256,address) has no argument of that name"),
], ids=["tuple-text-nested-1e5", "tuple-text-duplicate-key", "method-type-1e5-arrays", "other-method", "extra-value"])
def test_builder_fields_are_checked_without_unbounded_recursion(edit: Any, message: str, swap: tuple[Path, Path], mammon: Mammon) -> None:
    plan, out = swap
    _rewrite(out, edit)
    line = mammon.refuses("validate", plan, "--export", out)
    assert line.startswith(f"{out}: {message}"), line
    assert len(line) < 1000, "the line quotes a bounded part of what the file says"


def test_an_untouched_export_still_checks(swap: tuple[Path, Path], mammon: Mammon) -> None:
    plan, out = swap
    assert f"ok: {out} is a safe-tx-builder export of it (3 calls, same order)" in mammon("validate", plan, "--export", out).stdout


@pytest.mark.parametrize(("fmt", "edit", "message"), [
    ("eip5792", lambda d: d[0].update(chainId=8453), "chainId is 8453, not a 0x-prefixed hex string: EIP-5792 writes chain 8453 as '0x2105'"),
    ("safe-tx-builder", lambda d: (d.update(chainId=8453), d["meta"].update(checksum=checksum(d))),
     "chainId is the int 8453, not a string: the Transaction Builder writes chain 8453 as '8453'"),
], ids=["eip5792", "safe-tx-builder"])
def test_a_chain_id_of_the_wrong_type_says_so(fmt: str, edit: Any, message: str, tmp_path: Path, mammon: Mammon) -> None:
    """Not "chainId is 8453, the plan is for chain 8453": the number is right, its spelling is not the format's."""
    plan = _plan(tmp_path, "moonwell-to-aave")
    out = tmp_path / "export.json"
    mammon("export", plan, "--format", fmt, "-o", out)
    data = json.loads(out.read_text())
    edit(data)
    out.write_text(json.dumps(data))
    assert mammon.refuses("validate", plan, "--export", out) == f"{out}: {message}"
