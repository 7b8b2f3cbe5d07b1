"""Bad input: each case exits 2 with exactly one line on stderr naming the file and the field, and no traceback.

`mammon.refuses` (tests/conftest.py) asserts the exit code, the single `error: ` line, an empty stdout and
no "Traceback"; every `plan` case also asserts that nothing was written to the `-o` path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mammon import compile_plan, load_recommendations
from mammon.chains import DATA
from mammon.plan.planfile import seal
from mammon_test_support import EXAMPLES_DIR, NOW, NOW_TEXT, ROOT, WALLET, Mammon, plan_data, write_plan, write_yaml

GOOD = {"from_protocol": "moonwell", "to_protocol": "aave_v3", "token": "USDC", "amount": "1000"}


def refuse_plan(mammon: Mammon, tmp_path: Path, rec_file: Path, *extra: object) -> str:
    """`mammon plan` must refuse `rec_file` and write nothing."""
    out = tmp_path / "out" / "plan.yaml"
    out.parent.mkdir(exist_ok=True)
    line = mammon.refuses("plan", rec_file, "--wallet", WALLET, "-o", out, *extra)
    assert list(out.parent.iterdir()) == [], "nothing written to the -o path on failure"
    return line


def rec_file(tmp_path: Path, text: str, name: str = "rec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rec(tmp_path: Path, **fields: object) -> Path:
    data = {k: v for k, v in {**GOOD, **fields}.items() if v is not None}
    return write_yaml(tmp_path / "rec.yaml", data)


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    recs = load_recommendations(EXAMPLES_DIR / "moonwell-to-aave.yaml")
    return write_plan(tmp_path / "plan.yaml", compile_plan(recs, chain="base", wallet=WALLET, now=NOW))


# --- files that do not parse ---------------------------------------------------------------------


def test_malformed_yaml(mammon: Mammon, tmp_path: Path) -> None:
    path = rec_file(tmp_path, "to_protocol: aave_v3\ntoken: [USDC\namount: '10'\n")
    line = refuse_plan(mammon, tmp_path, path)
    assert line.startswith(f"{path}: malformed YAML at line ")


def test_malformed_json(mammon: Mammon, tmp_path: Path) -> None:
    path = rec_file(tmp_path, '{"to_protocol": "aave_v3", "token": "USDC",}', "rec.json")
    line = refuse_plan(mammon, tmp_path, path)
    assert line == f"{path}: malformed JSON at line 1 column 44: Expecting property name enclosed in double quotes"


def test_malformed_plan_json(mammon: Mammon, tmp_path: Path, plan_file: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(plan_data_text(plan_file)[:-30], encoding="utf-8")
    for command in ("show", "validate"):
        assert mammon.refuses(command, path).startswith(f"{path}: malformed JSON at line ")


def plan_data_text(plan_file: Path) -> str:
    from mammon.plan.planfile import dumps, load

    return dumps(load(plan_file), "json")


def test_missing_file(mammon: Mammon, tmp_path: Path) -> None:
    assert refuse_plan(mammon, tmp_path, tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: file not found"
    assert mammon.refuses("show", tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: file not found"


# --- wrong schema --------------------------------------------------------------------------------


def test_unknown_field(mammon: Mammon, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "rec.yaml", {"to_protocol": "aave_v3", "token": "USDC", "amount": "10", "reasn": "x"})
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: reasn: unknown field; did you mean 'reason'?"
    path = rec(tmp_path, colour="red")
    assert refuse_plan(mammon, tmp_path, path) == (f"{path}: colour: unknown field; known: amount, confidence, expected_apy, from_protocol, "
                                                   "reason, slippage_bps, swap_venue, to_protocol, to_token, token, valid_for")


def test_missing_field(mammon: Mammon, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "rec.yaml", {"to_protocol": "aave_v3", "amount": "10"})
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: token: Field required"


def test_wrong_type(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, confidence="very")
    assert refuse_plan(mammon, tmp_path, path).startswith(f"{path}: confidence: Input should be a valid integer")


def test_not_a_recommendation(mammon: Mammon, tmp_path: Path) -> None:
    path = rec_file(tmp_path, "just a string\n")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: expected a recommendation (mapping) or a list of them"


def test_unquoted_yaml_amount_is_exact_so_extra_places_are_refused(mammon: Mammon, tmp_path: Path) -> None:
    # a YAML number is read as the Decimal written (never a float), so it is held to the token's decimals like a string
    path = rec_file(tmp_path, "to_protocol: aave_v3\ntoken: USDC\namount: 10.1234567\n")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: amount: amount 10.1234567 has more decimals than USDC (6)"


def test_nan_amount_in_yaml(mammon: Mammon, tmp_path: Path) -> None:
    path = rec_file(tmp_path, "to_protocol: aave_v3\ntoken: USDC\namount: .nan\n")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: number '.nan' at line 3 column 9 is not finite"


def test_plan_with_unknown_field(mammon: Mammon, tmp_path: Path, plan_file: Path) -> None:
    data = yaml.safe_load(plan_file.read_text())
    data["steps"][1]["approve_everything"] = True
    path = write_yaml(tmp_path / "edited.yaml", data)
    assert mammon.refuses("validate", path) == (f"{path}: steps.1.approve_everything: unknown field; known: allowances, call, decoded, "
                                                "depends_on, description, effects, gas, guards, id, kind, outputs, pulls, refs, venue")
    data["steps"][1].pop("approve_everything")
    data["steps"][1]["call"]["vaule"] = "1"
    path = write_yaml(tmp_path / "edited.yaml", data)
    assert mammon.refuses("validate", path) == f"{path}: steps.1.call.vaule: unknown field; did you mean 'value'?"


@pytest.mark.parametrize("version", ["1.0.0", "3.0.0"], ids=["older (APY as a fraction)", "newer"])
def test_plan_of_another_major_format_version(mammon: Mammon, tmp_path: Path, plan_file: Path, version: str) -> None:
    from mammon.plan.model import FORMAT_VERSION
    from mammon.plan.planfile import load

    plan = load(plan_file)
    other = seal(plan.model_copy(update={"format_version": version}))
    path = write_plan(tmp_path / "other.yaml", other, reseal=False)
    major = FORMAT_VERSION.split(".")[0]
    for command in ("show", "validate"):
        assert mammon.refuses(command, path) == f"{path}: format_version {version} is not supported (this mammon reads {major}.x)"


# --- unknown names --------------------------------------------------------------------------------


def test_unknown_protocol(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol="moonwel")
    known = "known: Aave V3 (aave_v3), Aerodrome (aerodrome), ERC-4626 (erc4626), Moonwell (moonwell), Morpho (morpho), Uniswap V3 (uniswap_v3)"
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: from_protocol: unknown protocol 'moonwel'; did you mean 'Moonwell'? {known}"
    path = rec(tmp_path, to_protocol="Compound V2")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: to_protocol: unknown protocol 'Compound V2'; {known}"


def test_unknown_token(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, token="USDT")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: token: unknown token on base 'USDT'; did you mean 'USDC'?"
    path = rec(tmp_path, to_token="WETH9")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: to_token: unknown token on base 'WETH9'; did you mean 'WETH'?"


def test_unknown_chain(mammon: Mammon, tmp_path: Path) -> None:
    line = refuse_plan(mammon, tmp_path, EXAMPLES_DIR / "moonwell-to-aave.yaml", "--chain", "bsae")
    assert line == "--chain: unknown chain 'bsae'; did you mean 'base'?"


# --- addresses ------------------------------------------------------------------------------------


def test_wallet_with_a_bad_checksum(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    bad = "0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266"
    line = mammon.refuses("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", bad, "-o", out)
    assert line == f"--wallet: {bad} has a bad EIP-55 checksum (expected {WALLET})"
    assert not out.exists()


def test_wallet_not_an_address(mammon: Mammon, tmp_path: Path) -> None:
    line = mammon.refuses("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", "0x1234")
    assert line == "--wallet: '0x1234' is not a 0x-prefixed 20-byte hex address"


def test_chain_config_with_a_bad_checksum(mammon: Mammon, tmp_path: Path) -> None:
    config = yaml.safe_load((DATA / "base.yaml").read_text())
    config["name"] = "myfork"
    config["tokens"][0]["address"] = "0x833589fcd6eDb6E08f4c7C32D4f71b54bdA02913"
    fork = write_yaml(tmp_path / "fork.yaml", config)
    line = refuse_plan(mammon, tmp_path, EXAMPLES_DIR / "moonwell-to-aave.yaml", "--chain", "myfork", "--chain-config", fork)
    assert line.startswith(f"{fork}: tokens.0.address: 0x833589fcd6eDb6E08f4c7C32D4f71b54bdA02913 has a bad EIP-55 checksum")


# --- amounts --------------------------------------------------------------------------------------


NOT_PLAIN = ("is not a plain decimal number: write digits with at most one '.' "
             "(no thousands separators, commas, underscores, exponents or spaces)")


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "amount must be positive, got 0"),
    ("0.000", "amount must be positive, got 0.000"),
    ("-5", "amount must be positive, got -5"),
    ("1.0000001", "amount 1.0000001 has more decimals than USDC (6)"),
    ("ten", f"amount 'ten' {NOT_PLAIN}"),
    ("NaN", f"amount 'NaN' {NOT_PLAIN}"),
    ("1.000,50", f"amount '1.000,50' {NOT_PLAIN}"),
    ("1,0,0,0", f"amount '1,0,0,0' {NOT_PLAIN}"),
    ("1,000", f"amount '1,000' {NOT_PLAIN}"),
    ("1_000", f"amount '1_000' {NOT_PLAIN}"),
    ("1e3", f"amount '1e3' {NOT_PLAIN}"),
    ("0x10", f"amount '0x10' {NOT_PLAIN}"),
    ("1.", f"amount '1.' {NOT_PLAIN}"),
    ("1 000", f"amount '1 000' {NOT_PLAIN}"),
])
def test_bad_amount(mammon: Mammon, tmp_path: Path, amount: str, message: str) -> None:
    path = rec(tmp_path, amount=amount)
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: amount: {message}"


def test_more_decimals_than_weth(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol=None, token="WETH", amount="0.0000000000000000001")
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: amount: amount 0.0000000000000000001 has more decimals than WETH (18)"


def test_all_from_the_wallet(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol=None, amount="all")
    line = refuse_plan(mammon, tmp_path, path)
    assert line == f"{path}: amount: amount 'all' is only allowed when withdrawing from a venue (the wallet balance is not known)"


def test_wallet_balance_too_small(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol=None, amount="10000.000001")
    line = refuse_plan(mammon, tmp_path, path)
    assert line == f"{path}: amount: the wallet holds 10,000.00 USDC but the plan spends 10,000.000001 USDC"


def test_position_too_small(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol="aave_v3", to_protocol="morpho", amount="5000.01")
    line = refuse_plan(mammon, tmp_path, path)
    assert line == f"{path}: amount: the Aave V3 USDC position is 5,000.00 USDC, less than the 5,000.01 USDC to withdraw"


def test_partial_lp_exit(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol="aerodrome", to_protocol=None, amount="100")
    line = refuse_plan(mammon, tmp_path, path)
    assert line.startswith(f"{path}: amount: a partial Aerodrome LP exit is not supported: use amount 'all'")


# --- shapes ---------------------------------------------------------------------------------------


def test_from_equals_to_with_the_same_token(mammon: Mammon, tmp_path: Path) -> None:
    path = rec(tmp_path, from_protocol="aave_v3", to_protocol="aave_v3")
    line = refuse_plan(mammon, tmp_path, path)
    assert line == f"{path}: (top level): from_protocol and to_protocol are both 'aave_v3' with the same token: nothing to move"


def test_nothing_to_move(mammon: Mammon, tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "rec.yaml", {"token": "USDC", "amount": "1"})
    assert "from_protocol and to_protocol are both empty" in refuse_plan(mammon, tmp_path, path)


def test_moonwell_weth_withdrawal_is_refused(mammon: Mammon, tmp_path: Path) -> None:
    """mWETH on Base redeems to native ETH (MWethDelegate): mammon refuses rather than plan a WETH it never gets."""
    path = rec(tmp_path, token="WETH", amount="1")
    line = refuse_plan(mammon, tmp_path, path)
    assert line == f"{path}: token: Moonwell mWETH on base redeems to native ETH, not WETH (MWethDelegate); mammon does not wrap ETH"


def test_bad_item_in_a_list(mammon: Mammon, tmp_path: Path) -> None:
    """Nothing is written when any item fails, even the items before it; the error names the item."""
    path = write_yaml(tmp_path / "recs.yaml", [GOOD, {**GOOD, "amount": "0"}])
    assert refuse_plan(mammon, tmp_path, path) == f"{path}: [1].amount: amount must be positive, got 0"
    assert refuse_plan(mammon, tmp_path, path, "--combine") == f"{path}: [1].amount: amount must be positive, got 0"
    path = write_yaml(tmp_path / "recs.yaml", [GOOD, {**GOOD, "colour": "red"}])
    assert refuse_plan(mammon, tmp_path, path).startswith(f"{path}: [1]: colour: unknown field; known: amount, ")


def test_bad_gas_price(mammon: Mammon, tmp_path: Path) -> None:
    line = refuse_plan(mammon, tmp_path, EXAMPLES_DIR / "moonwell-to-aave.yaml", "--gas-price-gwei", "-1")
    assert line == "--gas-price-gwei: must be positive, got -1"
    line = refuse_plan(mammon, tmp_path, EXAMPLES_DIR / "moonwell-to-aave.yaml", "--gas-price-gwei", "1e3")
    assert line == f"--gas-price-gwei: gas price '1e3' {NOT_PLAIN}"


def test_zero_wallet(mammon: Mammon, tmp_path: Path) -> None:
    line = refuse_plan(mammon, tmp_path, EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", "0x" + "0" * 40)
    assert line == "--wallet: 0x0000000000000000000000000000000000000000 is the zero address: no one can sign for it"


def test_bad_clock(mammon: Mammon, tmp_path: Path) -> None:
    line = mammon.refuses("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, env={"MAMMON_NOW": "yesterday"})
    assert line == "MAMMON_NOW: 'yesterday' is not an ISO 8601 time"


# --- plans that must not be used -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["show", "validate"])
def test_expired_plan(mammon: Mammon, plan_file: Path, command: str) -> None:
    line = mammon.refuses(command, plan_file, env={"MAMMON_NOW": "2026-01-01T00:10:00Z"})
    assert line == (f"{plan_file}: valid_until: valid_until 2026-01-01T00:10:00+00:00 has passed "
                    "(now 2026-01-01T00:10:00+00:00); compile it again")


@pytest.mark.parametrize("command", ["show", "validate"])
def test_tampered_plan(mammon: Mammon, tmp_path: Path, plan_file: Path, command: str) -> None:
    data = plan_data(__import__("mammon").load_plan(plan_file))
    data["steps"][2]["call"]["to"] = "0x1111111111111111111111111111111111111111"
    path = write_yaml(tmp_path / "tampered.yaml", data)
    line = mammon.refuses(command, path)
    assert line.startswith(f"{path}: content_hash mismatch: the file says sha256:")
    assert line.endswith("the plan was changed after it was compiled, compile it again")


def test_plan_for_a_chain_config_of_another_chain(mammon: Mammon, plan_file: Path) -> None:
    line = mammon.refuses("show", plan_file, "--chain-config", DATA / "base-sepolia.yaml")
    assert line == "--chain-config: chain config base-sepolia is chain id 84532, the plan is for 8453"


# --- the real process -----------------------------------------------------------------------------


def test_the_installed_command_exits_2_with_one_line(tmp_path: Path) -> None:
    """Through the console script: the exit code and stderr a shell sees."""
    exe = Path(sys.executable).with_name("mammon")
    path = write_yaml(tmp_path / "rec.yaml", {**GOOD, "token": "USDT"})
    proc = subprocess.run([str(exe), "plan", str(path), "--wallet", WALLET, "-o", str(tmp_path / "p.yaml")],
                          capture_output=True, text=True, env={**os.environ, "MAMMON_NOW": NOW_TEXT}, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"error: {path}: token: unknown token on base 'USDT'; did you mean 'USDC'?\n"
    assert not (tmp_path / "p.yaml").exists()
