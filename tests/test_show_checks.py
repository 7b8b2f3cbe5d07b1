"""What `show` prints is what mammon compiles, and a plan file cannot stall, crash or blur a review.

Findings of the review-path hunt (hunt_show): show checked a plan without compiling it again (#2), looked its
registry up by the plan's free-text chain name (#1), accepted a post-dated created_at (#7), crashed with exit 3
on a few malformed fields (#8), computed 10**decimals for any decimals (#14), printed any format_version (#15),
rounded amounts of 10**28 base units or more (#10) and quoted unbounded file content in an error line (#11).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mammon import Recommendation, compile_plan
from mammon.compile.batching import SafeState
from mammon.plan.planfile import parse
from mammon.recommend import load_recommendations
from mammon.units import format_amount
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, plan_data, write_plan, write_yaml

EVIL = "0x000000000000000000000000000000000000dEaD"
CHECKED = "   ok  compiled again from its own recorded inputs: identical"


@pytest.fixture(scope="module")
def plan_dict() -> dict[str, Any]:
    rec = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    return plan_data(compile_plan(rec, chain="base", wallet=WALLET, now=NOW))


def _data(plan_dict: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(plan_dict)


def _resealed(path: Path, data: dict[str, Any]) -> Path:
    """Anyone can edit a plan and compute its hash again: the edit is sealed as mammon would seal it."""
    return write_plan(path, parse(data, where="edit", verify_hash=False))


def _refused_by_all(mammon: Mammon, path: Path, tmp_path: Path) -> str:
    """show, validate and apply refuse the file with one and the same line (exit 2), and apply sends nothing."""
    line = mammon.refuses("show", path)
    assert mammon.refuses("validate", path) == line
    record = tmp_path / "run.json"
    assert mammon.refuses("apply", path, "--yes", "--state-dir", tmp_path / "state", "-o", record) == line
    assert not record.exists(), "nothing was sent"
    return line


# --- #2: show compiles the plan again, as validate does --------------------------------------------


def test_show_says_it_compiled_the_plan_again(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    path = write_plan(tmp_path / "plan.yaml", parse(_data(plan_dict), where="x"))
    out = mammon("show", path).stdout
    assert CHECKED in out.splitlines()
    assert out.rstrip().endswith("Warnings  none")


def test_show_refuses_token_units_the_compile_does_not_give(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    """1,000 USDC relabelled as 18 decimals read 0.000000001 USDC in every amount show printed."""
    data = _data(plan_dict)
    for step in data["steps"]:
        for a in step["decoded"]["args"]:
            if a.get("token") == "USDC":
                a["decimals"] = 18
                a.pop("display", None)
        for e in step["effects"]:
            if e["token"] in ("USDC", "aUSDC"):
                e["decimals"] = 18
    path = _resealed(tmp_path / "units.yaml", data)
    assert _refused_by_all(mammon, path, tmp_path) == (
        f"{path}: steps[0].decoded.args[0].decimals: the file says 18 but compiling the plan's own inputs gives 6: "
        "the plan is not what mammon compiles")


def test_show_refuses_deleted_effects_and_a_reworded_step(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    data = _data(plan_dict)
    data["steps"][2]["description"] = "Refresh Aave V3 position (no transfer)"
    path = _resealed(tmp_path / "reworded.yaml", data)
    line = mammon.refuses("show", path)
    assert line.startswith(f"{path}: steps[2].description: the file says Refresh Aave V3 position (no transfer) but compiling")
    data["steps"][2]["effects"] = []
    path = _resealed(tmp_path / "deleted.yaml", data)
    assert mammon.refuses("show", path).startswith(f"{path}: steps[2].description: ")  # the first field that differs


# --- #1: the registry is the plan's chain id's, and a renamed chain is refused ---------------------


def test_a_renamed_chain_is_refused_not_reviewed_without_a_registry(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    """chain.name base-mainnet with id 8453 turned every registry check off while show still printed them as ok."""
    data = _data(plan_dict)
    data["chain"]["name"] = "base-mainnet"
    approve, deposit = data["steps"][1], data["steps"][2]
    pool = approve["decoded"]["args"][0]["value"]
    approve["call"]["data"] = approve["call"]["data"].replace(pool[2:].lower(), EVIL[2:].lower())
    approve["decoded"]["args"][0]["value"] = EVIL
    approve["decoded"]["args"][0].pop("display", None)
    approve["allowances"][0]["spender"] = EVIL
    deposit["call"]["to"] = EVIL
    deposit["pulls"][0]["spender"] = EVIL
    path = _resealed(tmp_path / "renamed.yaml", data)
    assert _refused_by_all(mammon, path, tmp_path) == (
        f"{path}: chain.name: the plan names chain id 8453 'base-mainnet', but the registry's chain 8453 is base: "
        "pass the --chain-config it was compiled with")


def test_a_renamed_chain_cannot_hide_an_eip7702_delegate(mammon: Mammon, tmp_path: Path) -> None:
    recs = load_recommendations(EXAMPLES_DIR / "wallet-to-aave.yaml")
    data = plan_data(compile_plan(recs, chain="base", wallet=WALLET, now=NOW, execution="batch"))
    data["chain"]["name"] = "base-mainnet"
    data["batch"]["delegate"] = EVIL
    path = _resealed(tmp_path / "delegate.yaml", data)
    line = mammon.refuses("show", path)
    assert line.startswith(f"{path}: chain.name: the plan names chain id 8453 'base-mainnet'")


def test_without_a_registry_review_claims_no_registry_check() -> None:
    """The library's review of a chain no registry knows warns, and never says a registry role was checked."""
    from mammon.chains import load_chain
    from mammon.review import review

    cfg = load_chain("base").model_copy(update={"name": "myfork", "chain_id": 990_001})
    rec = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    rv = review(compile_plan(rec, chain=cfg, wallet=WALLET, now=NOW), now=NOW)
    assert rv.chain is None
    assert "chain myfork is not in the registry: targets cannot be checked (pass --chain-config)" in rv.warnings
    assert not [c for c in rv.checks if "registry" in c], rv.checks


def test_the_registry_is_found_by_the_chain_id() -> None:
    from mammon.chains import chain_for_plan
    from mammon.errors import PlanError, UnknownNameError

    assert chain_for_plan(8453, "base").name == "base"
    with pytest.raises(PlanError, match=r"^x.yaml: chain.name: the plan names chain id 8453 'Base', but the registry's chain 8453 is base"):
        chain_for_plan(8453, "Base", where="x.yaml")
    with pytest.raises(UnknownNameError, match=r"chain.id: unknown chain 'base': no chain file has its id 1 "):
        chain_for_plan(1, "base")


# --- #7: a post-dated plan ---------------------------------------------------------------------------


def test_a_plan_created_in_the_future_is_refused(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    """A post-dated created_at reproduced itself in the recompile and kept the plan valid for years."""
    data = _data(plan_dict)
    data["created_at"], data["valid_until"] = "2030-01-01T00:00:00Z", "2030-01-01T00:10:00Z"
    path = _resealed(tmp_path / "future.yaml", data)
    assert _refused_by_all(mammon, path, tmp_path) == (
        f"{path}: created_at: created_at 2030-01-01T00:00:00+00:00 is in the future (now 2026-01-01T00:00:00+00:00, "
        "allowing 5 min of clock skew); compile it again")


@pytest.mark.parametrize(("ahead", "refused"), [(timedelta(minutes=5), False), (timedelta(minutes=5, seconds=1), True)])
def test_a_clock_skew_of_five_minutes_is_allowed(mammon: Mammon, tmp_path: Path, ahead: timedelta, refused: bool) -> None:
    rec = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    path = write_plan(tmp_path / "plan.yaml", compile_plan(rec, chain="base", wallet=WALLET, now=NOW + ahead))
    if refused:
        assert ": created_at: created_at 2026-01-01T00:05:01+00:00 is in the future" in mammon.refuses("show", path)
    else:
        assert CHECKED in mammon("show", path).stdout.splitlines()


# --- #8: fields that crashed every command with exit 3 ------------------------------------------------


def _safe_dict() -> dict[str, Any]:
    recs = load_recommendations(EXAMPLES_DIR / "wallet-to-aave.yaml")
    owners = ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"]
    return plan_data(compile_plan(recs, chain="base", wallet=WALLET, now=NOW, execution="safe",
                                  safe=SafeState(nonce=5, owners=owners, threshold=2)))


@pytest.mark.parametrize(("edit", "where", "message"), [
    (lambda d: d.update(valid_until="2026-01-01T00:10:00"), "valid_until", "Input should have timezone info"),
    (lambda d: d.update(created_at="2026-01-01T00:00:00"), "created_at", "Input should have timezone info"),
    (lambda d: d["steps"][1]["refs"][0].update(den="0"), "steps.1.refs.0.den", "Input should be greater than or equal to 1"),
    (lambda d: d["steps"][1]["refs"][0].update(num="-1"), "steps.1.refs.0.num", "Input should be greater than or equal to 0"),
])
def test_malformed_fields_are_refused_by_name(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any], edit: Any, where: str,
                                              message: str) -> None:
    data = _data(plan_dict)
    edit(data)
    path = write_yaml(tmp_path / "bad.yaml", data)
    assert _refused_by_all(mammon, path, tmp_path) == f"{path}: {where}: {message}"


def test_an_unquoted_yaml_timestamp_without_a_zone_is_refused(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    path = write_yaml(tmp_path / "plan.yaml", _data(plan_dict))
    text = "\n".join("valid_until: 2026-01-01 00:10:00" if line.startswith("valid_until:") else line
                     for line in path.read_text().splitlines())
    path.write_text(text + "\n")
    assert mammon.refuses("show", path) == f"{path}: valid_until: Input should have timezone info"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("nonce", str(2**256), "Input should be less than or equal to"),
    ("safe_tx_gas", "-1", "Input should be greater than or equal to 0"),
    ("gas_price", str(2**256), "Input should be less than or equal to"),
])
def test_safe_integers_outside_uint256_are_refused_by_name(mammon: Mammon, tmp_path: Path, field: str, value: str, message: str) -> None:
    data = _safe_dict()
    data["batch"]["safe"][field] = value
    path = write_yaml(tmp_path / "safe.yaml", data)
    line = mammon.refuses("show", path)
    assert line.startswith(f"{path}: batch.safe.{field}: {message}")
    assert mammon.refuses("validate", path) == line


# --- #14: decimals are bounded -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["steps.0.decoded.args.0.decimals", "steps.0.effects.0.decimals", "preconditions.0.decimals"])
def test_an_unbounded_decimals_is_refused_at_once(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any], where: str) -> None:
    """decimals 30000000 kept show busy for minutes computing 10**decimals before anything was refused."""
    data = _data(plan_dict)
    node: Any = data
    *parents, last = where.split(".")
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = 30_000_000
    path = write_yaml(tmp_path / "decimals.yaml", data)
    started = time.process_time()
    assert mammon.refuses("show", path) == f"{path}: {where}: Input should be less than or equal to 77"
    assert time.process_time() - started < 5


def test_decimals_of_a_uint256_are_allowed_and_no_more() -> None:
    from mammon.plan.model import Effect

    effect = {"account": WALLET, "account_label": "wallet", "token": "X", "token_address": WALLET, "delta": "1"}
    assert Effect.model_validate({**effect, "decimals": 77}).decimals == 77
    for bad in (78, -1):
        with pytest.raises(ValueError, match="decimals"):
            Effect.model_validate({**effect, "decimals": bad})


# --- #15: format_version is a version --------------------------------------------------------------


def test_format_version_free_text_is_refused(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    data = _data(plan_dict)
    data["format_version"] = "2.0.0) AUDITED + APPROVED by security team, no review needed (x"
    path = write_yaml(tmp_path / "fv.yaml", data)
    line = mammon.refuses("show", path)
    assert line.startswith(f"{path}: format_version: String should match pattern ")
    assert mammon.refuses("validate", path) == line


# --- #10: big amounts are exact ----------------------------------------------------------------------


def test_amounts_of_ten_to_the_28_or_more_are_shown_exactly() -> None:
    assert format_amount(10**28 + 1, 18, "WETH") == "10,000,000,000.000000000000000001 WETH"
    assert format_amount(2**256 - 2, 18, "WETH") == (
        "115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457.584007913129639934 WETH")
    assert format_amount(-(10**40 + 7), 6) == "-10,000,000,000,000,000,000,000,000,000,000,000.000007"
    assert format_amount(10**29, 0) == "100,000,000,000,000,000,000,000,000,000.00"


# --- #11: an error line stays short -------------------------------------------------------------------


def test_an_error_quoting_a_huge_format_version_stays_short(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    data = _data(plan_dict)
    data["format_version"] = "3" + "9" * 300_000
    path = write_yaml(tmp_path / "fv.yaml", data)
    assert mammon.refuses("show", path) == (
        f"{path}: format_version 39999999999999999999… (300001 characters) is not supported (this mammon reads 2.x)")


def test_an_error_quoting_any_huge_value_stays_one_short_line(mammon: Mammon, tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    """Every refusal goes through the command line's one exit: a word longer than any address or hash is cut to its ends."""
    data = _data(plan_dict)
    data["inputs"]["compiler"] = "x" * 50_000
    path = _resealed(tmp_path / "compiler.json", data)
    line = mammon.refuses("show", path)
    assert len(line) < 600, line
    assert line.startswith(f"{path}: inputs.compiler: the file says ")
    assert "(50001 characters)" in line



def test_the_library_review_without_the_recompile_says_what_it_did_not_check(tmp_path: Path, plan_dict: dict[str, Any]) -> None:
    from mammon.api import validate_plan

    path = write_plan(tmp_path / "plan.yaml", parse(_data(plan_dict), where="x"))
    rv = validate_plan(path, now=NOW, recompile=False)
    assert "compiled again from its own recorded inputs: identical" not in rv.checks
    assert rv.warnings == ["not compiled again from its recorded inputs: the descriptions, token units, effects, totals and notes "
                           "shown are the file's own claims (run `mammon validate`)"]
    assert validate_plan(path, now=NOW).checks[-1] == "compiled again from its own recorded inputs: identical"
