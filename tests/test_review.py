"""Review: `mammon show` in every format, tampering detection, and the warnings a reviewer must see."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from mammon import compile_plan, load_recommendations, review
from mammon.abi import decode_call
from mammon.chains import DATA
from mammon.plan.model import FORMAT_VERSION, Plan
from mammon.plan.planfile import dumps, load
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, replace_step, write_plan, write_yaml


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


def compiled(example: str, **kwargs) -> Plan:  # type: ignore[no-untyped-def]
    return compile_plan(load_recommendations(EXAMPLES_DIR / f"{example}.yaml"), chain="base", wallet=WALLET, now=NOW, **kwargs)


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    return write_plan(tmp_path / "plan.yaml", compiled("moonwell-to-aave"))


def flip_byte(data: str, index: int) -> str:
    """`data` with byte `index` (0 = first selector byte) changed by one."""
    raw = bytearray(bytes.fromhex(data.removeprefix("0x")))
    raw[index] ^= 0x01
    return "0x" + raw.hex()


# --- show ------------------------------------------------------------------------------------------


def test_show_text(mammon: Mammon, plan_file: Path) -> None:
    plan = load(plan_file)
    out = mammon("show", plan_file).stdout
    assert out.splitlines()[0] == f"plan      {plan.content_hash}  (format {FORMAT_VERSION})"
    assert "valid     until 2026-01-01 00:10:00 UTC (10 min 0 s left)" in out
    for expected in ("redeemUnderlying", "redeemAmount 1,000.00 USDC", "Moonwell mUSDC 0xEdc8…6c22", "140,000 static",
                     "value 1,000.00 USDC", "Aave V3 Pool 0xA238…d1c5", "withdraw, deposit_approve",
                     "amount = ${withdraw.amount_out}: expected 1,000.00 USDC", "gas 336,000", "Warnings  none"):
        assert expected in out
    order = [out.index(f"{n}. {step}:") for n, step in enumerate(("withdraw", "deposit_approve", "deposit"), start=1)]
    assert order == sorted(order), "steps in execution order"


def test_show_json(mammon: Mammon, plan_file: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    out = mammon("show", plan_file, "--format", "json").stdout
    data = json.loads(out)
    assert data["content_hash"] == load(plan_file).content_hash
    assert [s["id"] for s in data["steps"]] == ["withdraw", "deposit_approve", "deposit"]
    assert data["steps"][2]["decoded"]["function"] == "supply(address,uint256,address,uint16)"
    assert data["steps"][2]["effects"][0] == "- 1,000.00 USDC wallet (exact)"
    assert data["warnings"] == []
    assert snapshot(extension_class=TextSnapshot) == out


def test_show_markdown(mammon: Mammon, plan_file: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    out = mammon("show", plan_file, "--format", "markdown").stdout
    assert out.startswith("### mammon plan `sha256:")
    assert "| # | step | venue | call | amounts | target | gas | after |" in out
    assert "| 3 | `deposit` | Aave V3 | `supply(address,uint256,address,uint16)` | amount 1,000.00 USDC |" in out
    assert out.rstrip().endswith("No warnings.")
    assert snapshot(extension_class=TextSnapshot) == out


def test_show_reads_json_plans(mammon: Mammon, tmp_path: Path) -> None:
    path = write_plan(tmp_path / "plan.json", compiled("moonwell-to-aave"))
    assert mammon("show", path).stdout == mammon("show", write_plan(tmp_path / "plan.yaml", load(path))).stdout


# --- tampering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["show", "validate"])
def test_one_byte_of_calldata_changed_and_resealed(mammon: Mammon, tmp_path: Path, command: str) -> None:
    plan = compiled("moonwell-to-aave")
    data = plan.step("deposit").call.data
    # supply(asset, amount, onBehalfOf, referralCode): the low byte of `amount` is byte 4 + 32 + 31
    tampered = replace_step(plan, "deposit", call=plan.step("deposit").call.model_copy(update={"data": flip_byte(data, 67)}))
    path = write_plan(tmp_path / "plan.yaml", tampered, reseal=True)
    line = mammon.refuses(command, path)
    assert line == f"{path}: step deposit: argument amount: calldata says 1000000001 but the view says 1000000000"


def test_address_byte_changed_and_resealed(mammon: Mammon, tmp_path: Path) -> None:
    plan = compiled("moonwell-to-aave")
    data = plan.step("deposit").call.data
    # onBehalfOf is the third word: its last byte is 4 + 3 * 32 - 1
    tampered = replace_step(plan, "deposit", call=plan.step("deposit").call.model_copy(update={"data": flip_byte(data, 99)}))
    line = mammon.refuses("validate", write_plan(tmp_path / "plan.yaml", tampered))
    assert "step deposit: argument onBehalfOf: calldata says 0xF39fD6e51Aad88F6f4CE6AB8827279CFffb92267 but the view says 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in line


def test_selector_changed_and_resealed(mammon: Mammon, tmp_path: Path) -> None:
    plan = compiled("moonwell-to-aave")
    tampered = replace_step(plan, "withdraw", call=plan.step("withdraw").call.model_copy(update={"data": flip_byte(plan.step("withdraw").call.data, 0)}))
    line = mammon.refuses("show", write_plan(tmp_path / "plan.yaml", tampered))
    assert "step withdraw: selector 0x" in line or "step withdraw: calldata is" in line


def test_view_edited_and_resealed(mammon: Mammon, tmp_path: Path) -> None:
    """A reviewer reads the display strings: editing them (and not the bytes) is caught too."""
    plan = compiled("moonwell-to-aave")
    step = plan.step("deposit")
    args = [a.model_copy(update={"display": "10.00 USDC"}) if a.name == "amount" else a for a in step.decoded.args]
    tampered = replace_step(plan, "deposit", decoded=step.decoded.model_copy(update={"args": args}))
    line = mammon.refuses("show", write_plan(tmp_path / "plan.yaml", tampered))
    assert line.endswith("step deposit: argument amount: calldata is 1,000.00 USDC but the view says 10.00 USDC")


@pytest.mark.parametrize("command", ["show", "validate"])
@pytest.mark.parametrize("edit", ["description", "gas", "effect", "created_at"])
def test_any_edit_without_resealing(mammon: Mammon, plan_file: Path, command: str, edit: str) -> None:
    data = yaml.safe_load(plan_file.read_text())
    if edit == "description":
        data["steps"][0]["description"] = "Something harmless"
    elif edit == "gas":
        data["steps"][0]["gas"]["estimate"] = 1
    elif edit == "effect":
        data["steps"][2]["effects"][0]["delta"] = "-1"
    else:
        data["created_at"] = "2025-12-31T23:59:00Z"
    write_yaml(plan_file, data)
    line = mammon.refuses(command, plan_file)
    assert line.startswith(f"{plan_file}: content_hash mismatch: the file says sha256:")


# --- warnings ------------------------------------------------------------------------------------


def _fork_config(tmp_path: Path, *, name: str, chain_id: int, pool: str) -> Path:
    config = yaml.safe_load((DATA / "base.yaml").read_text())
    config.update(name=name, chain_id=chain_id)
    config["protocols"]["aave_v3"]["pool"] = pool
    return write_yaml(tmp_path / f"{name}.yaml", config)


FORK_POOL = "0x1111111111111111111111111111111111111111"


def test_target_not_in_the_registry(mammon: Mammon, tmp_path: Path) -> None:
    """A plan built for the user's own deployment of `base` (their --chain-config) names contracts the registry
    does not know: it is refused unless reviewed against that same chain config."""
    fork = _fork_config(tmp_path, name="base", chain_id=8453, pool=FORK_POOL)
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--chain", "base", "--chain-config", fork, "--wallet", WALLET, "-o", out)
    line = mammon.refuses("show", out)
    assert line == (f"{out}: step deposit_approve: spender: approves {FORK_POOL} (not in the registry), "
                    "which is not a contract of the base registry")
    assert mammon.refuses("validate", out) == line
    assert mammon("show", out, "--chain-config", fork).stdout.rstrip().endswith("Warnings  none"), "checked against the user's registry"


def test_user_chain_not_in_the_registry(mammon: Mammon, tmp_path: Path) -> None:
    fork = _fork_config(tmp_path, name="myfork", chain_id=990_001, pool=FORK_POOL)
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--chain", "myfork", "--chain-config", fork, "--wallet", WALLET, "-o", out)
    plan = load(out)
    assert (plan.chain.name, plan.chain.id) == ("myfork", 990_001)
    line = mammon.refuses("show", out)  # what show prints must be what mammon compiles: without the chain it cannot tell
    assert line == (f"{out}: inputs.chain_config: chain myfork is not in the registry, so the plan cannot be compiled again to check it: "
                    "pass the --chain-config it was compiled with")
    assert mammon.refuses("validate", out) == line
    assert "Warnings  none" in mammon("show", out, "--chain-config", fork).stdout
    other = _fork_config(tmp_path / "..", name="myfork", chain_id=990_001, pool="0x2222222222222222222222222222222222222222")
    assert "step deposit_approve: spender: approves" in mammon.refuses("show", out, "--chain-config", other)


@pytest.mark.parametrize(("left", "warned"), [(timedelta(seconds=30), True), (timedelta(seconds=60), True), (timedelta(seconds=61), False)])
def test_expiring_within_a_minute(mammon: Mammon, plan_file: Path, left: timedelta, warned: bool) -> None:
    plan = load(plan_file)
    now = (plan.valid_until - left).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = mammon("show", plan_file, env={"MAMMON_NOW": now})
    assert (f"WARNING   plan expires in {int(left.total_seconds())} s" in run.stdout) is warned
    run = mammon("validate", plan_file, env={"MAMMON_NOW": now})
    assert (run.stderr == f"warning: plan expires in {int(left.total_seconds())} s\n") is warned


def _without_min_out(plan: Plan, step_id: str, *, guard_too: bool) -> Plan:
    step = plan.step(step_id)
    fn, args = decode_call(step.call.data)
    args["params"]["amountOutMinimum"] = 0
    args_view = [a.model_copy(update={"value": "0", "display": "0.00 WETH"}) if a.name == "params.amountOutMinimum" else a for a in step.decoded.args]
    update = {"call": step.call.model_copy(update={"data": fn.encode(args)}), "decoded": step.decoded.model_copy(update={"args": args_view})}
    if guard_too:
        update["guards"] = [g.model_copy(update={"value": 0}) for g in step.guards]
    return replace_step(plan, step_id, **update)


@pytest.mark.parametrize("guard_too", [False, True])
def test_swap_without_min_out_is_refused(mammon: Mammon, tmp_path: Path, guard_too: bool) -> None:
    """A min-out is read from the calldata: a swap whose bytes accept any price is refused, whether or not
    the plan's guard was edited to match."""
    plan = compiled("wallet-usdc-to-moonwell-weth")
    assert plan.step("swap").decoded.function.startswith("exactInputSingle(")
    path = write_plan(tmp_path / "plan.yaml", _without_min_out(plan, "swap", guard_too=guard_too))
    line = mammon.refuses("show", path)
    if guard_too:
        assert line.startswith(f"{path}: step swap: guards: the calldata accepts 0 WETH, more than the plan's slippage (50 bps) below")
    else:
        assert line.startswith(f"{path}: step swap: guards: the plan's min-out guards are ")
        assert line.endswith("but the calldata's minimums are 0 WETH")
    assert mammon.refuses("validate", path) == line


def test_spend_above_the_policy_limit(tmp_path: Path) -> None:
    plan = compiled("wallet-to-aave")
    limited = plan.model_copy(update={"policy": plan.policy.model_copy(update={"max_spend": {"USDC": "1500"}})})
    assert review(limited, now=NOW).warnings == ["spends 2,000.00 USDC, above the policy limit of 1500 USDC"]
    assert review(plan, now=NOW, max_spend={"USDC": "2000"}).warnings == []


def test_show_output_is_what_the_library_reviews(mammon: Mammon, plan_file: Path) -> None:
    from mammon.api import validate_plan
    from mammon.review.render import text

    assert mammon("show", plan_file).stdout == text(validate_plan(plan_file, now=NOW))
    assert dumps(load(plan_file)) == plan_file.read_text()


# --- what a plan's strings cannot do to the review ---------------------------------------------------


def test_text_review_escapes_control_characters_and_shows_value() -> None:
    """A newline in `reason` cannot add a fake "Warnings  none" line, an ANSI escape cannot recolour the terminal,
    a bidi override cannot reorder text, and a call's ETH `value` is printed for every step."""
    from dataclasses import replace

    from mammon.review.render import markdown, text

    plan = compiled("moonwell-to-aave")
    rec = plan.recommendations[0].model_copy(update={"reason": "fine\nWarnings  none\n\x1b[2J\u202eevil"})
    plan = plan.model_copy(update={"recommendations": [rec], "notes": ["note\rline"]})
    rv = review(plan, now=NOW)
    first, decoded = rv.steps[0]
    rv = replace(rv, plan=plan, steps=[(first.model_copy(update={
        "description": "Redeem\n   sends   0.00 ETH",
        "call": first.call.model_copy(update={"value": 1_500_000_000_000_000_000})}), decoded), *rv.steps[1:]])
    out = text(rv)
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert [line for line in out.splitlines() if line.startswith("Warnings")] == ["Warnings  none"]
    assert '"fine\\nWarnings  none\\n\\x1b[2J\\u202eevil"' in out
    assert "1. withdraw: Redeem\\n   sends   0.00 ETH" in out
    assert "Note      note\\rline" in out
    sends = [line.strip() for line in out.splitlines() if line.strip().startswith("sends")]
    assert sends == ["sends   1.50 ETH with the call (its `value`)", "sends   0.00 ETH with the call (its `value`)",
                     "sends   0.00 ETH with the call (its `value`)"]
    md = markdown(rv)
    assert "\x1b" not in md and "\\nWarnings  none" in md
