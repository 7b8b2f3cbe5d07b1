"""What a reviewer sees, and what review refuses, where plan text or files could mislead (hunt_show #3-#6, #9, #12).

Each test runs the real `mammon` command on a plan mammon compiled, edited the way anyone with the file could
(then re-sealed with mammon's own hash), and checks the output, the exit code and the one error line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mammon import compile_plan, load_recommendations
from mammon.compile.batching import SafeState
from mammon.plan.batch import safe_tx_hash
from mammon.plan.model import Plan, SafeTx
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, plan_data, write_plan, write_yaml
from mammon.plan.planfile import content_hash, parse

SAFE = "0x000000000000000000000000000000000000bEEF"
OWNER2 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EVIL = "0x000000000000000000000000000000000000dEaD"


def compiled(example: str = "moonwell-to-aave") -> Plan:
    return compile_plan(load_recommendations(EXAMPLES_DIR / f"{example}.yaml"), chain="base", wallet=WALLET, now=NOW)


def resealed(path: Path, data: dict[str, Any]) -> Path:
    """`data` written to `path` with a hash recomputed by mammon itself (what anyone can do to a plan file)."""
    data["content_hash"] = content_hash(parse(data, where=str(path), verify_hash=False))
    return write_yaml(path, data)


def safe_plan() -> Plan:
    return compile_plan(load_recommendations(EXAMPLES_DIR / "morpho-to-aave.yaml"), chain="base", wallet=SAFE, now=NOW,
                        execution="safe", safe=SafeState(nonce=5, owners=[WALLET, OWNER2], threshold=2))


# --- #3: a Safe plan's refund fields ------------------------------------------------------------------


def test_show_prints_a_safe_plans_refund_fields(mammon: Mammon, tmp_path: Path) -> None:
    out = mammon("show", write_plan(tmp_path / "safe.yaml", safe_plan())).stdout
    zero = "0x0000000000000000000000000000000000000000"
    assert (f"Refund    safeTxGas 0 · baseGas 0 · gasPrice 0 · gasToken {zero} · refundReceiver {zero} "
            "(checked: all zero, the Safe pays no refund)") in out


USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


@pytest.mark.parametrize("field, value, problem", [
    ("gas_price", "1000", "gas_price is 1000, mammon writes 0 (a Safe refund would be paid out of the Safe)"),
    ("base_gas", "1000000", "base_gas is 1000000, mammon writes 0"),
    ("safe_tx_gas", "50000", "safe_tx_gas is 50000, mammon writes 0 (with it a failing batch would not revert)"),
    ("gas_token", USDC, f"gas_token is {USDC}, mammon writes the zero address"),
    ("refund_receiver", EVIL, f"refund_receiver is {EVIL}, mammon writes the zero address"),
])
@pytest.mark.parametrize("command", ["show", "validate"])
def test_a_safe_refund_is_refused_with_its_hash_recomputed(mammon: Mammon, tmp_path: Path, command: str, field: str, value: str, problem: str) -> None:
    data = plan_data(safe_plan())
    tx = data["batch"]["safe"]
    tx[field] = value
    tx["safe_tx_hash"] = safe_tx_hash(data["chain"]["id"], SafeTx.model_validate(tx))  # the owners would sign this hash
    path = resealed(tmp_path / "safe.yaml", data)
    line = mammon.refuses(command, path)
    assert line.startswith(f"{path}: batch.safe.{field}: {problem}"), line


# --- #4: validate's lines are escaped ---------------------------------------------------------------

FAKE_OK = "reverted: x\r\x1b[2K\x1b[32mok: all steps passed the dry run\x1b[0m"


def test_validate_escapes_plan_text_in_its_warnings(mammon: Mammon, tmp_path: Path) -> None:
    """A dry-run failure text survives the recompile (it is a compile input): printed raw, `\\r` + ESC[2K erase the
    FAILED warning on a terminal and print a green "ok" instead. Escaped, the warning stays whole and visible."""
    from mammon.compile.node_gas import with_node_gas
    from mammon.plan.model import NodeGas

    plan = with_node_gas(compiled(), NodeGas(block=1, measured={"deposit_approve": 1, "deposit": 1}, failed={"withdraw": FAKE_OK}))
    path = write_plan(tmp_path / "ng.yaml", plan)
    run = mammon("validate", path, code=1)
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
    assert "warning: step withdraw FAILED the plan's dry run on the node: reverted: x\\r\\x1b[2K\\x1b[32mok: all steps passed" in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_validate_escapes_a_file_name(mammon: Mammon, tmp_path: Path) -> None:
    path = write_plan(tmp_path / "p\x1b[2K\rok.yaml", compiled())
    out = mammon("validate", path).stdout
    assert out.startswith(f"ok: {tmp_path}/p\\x1b[2K\\rok.yaml is valid (3 steps, sha256:") and "\r" not in out and "\x1b" not in out


# --- #5: show --format markdown escapes plan text -------------------------------------------------

EVIL_REASON = ('Higher APY" <br><br><b>Warnings: none. Reviewed and approved by the risk desk — <a href="https://evil.example/sign">sign here</a>'
               '</b> <img src="https://evil.example/p.png"> [docs](javascript:alert(1)) | x *bold* `code` &amp;')


def _rendered(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_markdown_review_shows_a_reason_as_text_not_markup(mammon: Mammon, tmp_path: Path) -> None:
    rec = write_yaml(tmp_path / "rec.yaml", {"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "USDC", "amount": "1000",
                                             "reason": EVIL_REASON})
    plan = tmp_path / "plan.yaml"
    mammon("plan", rec, "--chain", "base", "--wallet", WALLET, "-o", plan)
    assert mammon("validate", plan).stdout.startswith(f"ok: {plan} is valid")  # a reason is a compile input: validate accepts it
    html = _rendered(mammon("show", plan, "--format", "markdown").stdout)
    assert not any(tag in html for tag in ("<br", "<b>", "<a ", "<img", "<em>", 'href="')), html
    moves = next(line for line in html.splitlines() if "moves:" in line)
    assert moves.startswith("<li>moves: ") and moves.endswith("</li>") and moves.count("<") == 2, moves  # no tag of its own
    # the reader sees the reason's characters as they are, and the table still has its 8 columns
    assert '&lt;a href=&quot;https://evil.example/sign&quot;&gt;sign here&lt;/a&gt;' in moves
    assert "[docs](javascript:alert(1)) | x *bold* `code` &amp;amp;" in moves
    assert all(row.count("<td>") == 8 for row in html.split("<tr>")[2:])


def test_markdown_review_keeps_step_ids_and_names_inside_their_cells(tmp_path: Path) -> None:
    """A review rendered without the recompile (the library's `validate_plan(recompile=False)`; `show` refuses this
    plan): a contract name with `|`, backticks or tags stays in its cell, as text."""
    from mammon.api import validate_plan
    from mammon.review.render import RENDERERS

    data = plan_data(compiled())
    data["steps"][2]["decoded"]["contract"] = "Aave | <b>SAFE</b> | `x`"
    path = resealed(tmp_path / "plan.yaml", data)
    html = _rendered(RENDERERS["markdown"](validate_plan(path, now=NOW, recompile=False)))
    assert "<b>" not in html and "&lt;b&gt;SAFE&lt;/b&gt;" in html
    assert all(row.count("<td>") == 8 for row in html.split("<tr>")[2:])


# --- #12: show and validate name the registry they checked against ------------------------------


def test_show_and_validate_name_the_built_in_registry(mammon: Mammon, tmp_path: Path) -> None:
    path = write_plan(tmp_path / "plan.yaml", compiled())
    assert "registry  built-in base (mammon/chains/data/base.yaml)\n" in mammon("show", path).stdout
    run = mammon("validate", path)
    assert run.stdout.splitlines()[1] == "registry: built-in base (mammon/chains/data/base.yaml)" and run.stderr == ""


def test_a_mammon_toml_in_the_working_directory_that_replaces_base_is_named_and_warned_about(
        mammon: Mammon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mammon.chains import DATA

    monkeypatch.chdir(tmp_path)
    evil_pool = "0x000000000000000000000000000000000000dEaD"
    (tmp_path / "chains.yaml").write_text((DATA / "base.yaml").read_text().replace("0xA238Dd80C259a72e81d7e4664a9801593F98d1c5", evil_pool))
    (tmp_path / "mammon.toml").write_text('[chains]\nconfig = "chains.yaml"\n')
    mammon("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--chain", "base", "--wallet", WALLET, "-o", "evil.yaml")
    warning = "the registry is chains.yaml (from ./mammon.toml), not mammon's built-in base: every registry check used that file"
    shown = mammon("show", "evil.yaml").stdout
    assert "registry  chains.yaml (from ./mammon.toml), in place of the built-in base\n" in shown
    assert f"WARNING   {warning}\n" in shown and "Warnings  none" not in shown
    run = mammon("validate", "evil.yaml")
    assert run.stdout.splitlines()[1] == "registry: chains.yaml (from ./mammon.toml), in place of the built-in base"
    assert run.stderr == f"warning: {warning}\n"
    monkeypatch.delenv("MAMMON_NOW")  # (the env var path is named the same way)
    monkeypatch.setenv("MAMMON_NOW", "2026-01-01T00:00:00Z")
    (tmp_path / "mammon.toml").unlink()
    monkeypatch.setenv("MAMMON_CHAIN_CONFIG", "chains.yaml")
    assert "registry  chains.yaml (from MAMMON_CHAIN_CONFIG), in place of the built-in base\n" in mammon("show", "evil.yaml").stdout
    # named on the command line itself: named, not warned about
    monkeypatch.delenv("MAMMON_CHAIN_CONFIG")
    shown = mammon("show", "evil.yaml", "--chain-config", "chains.yaml").stdout
    assert "registry  chains.yaml (from --chain-config), in place of the built-in base\n" in shown and "Warnings  none" in shown


# --- #9: diff reports what the run record holds beyond the plan -------------------------------------


def _applied(mammon: Mammon, tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    plan = write_plan(tmp_path / "plan.yaml", compiled())
    record = tmp_path / "plan.run.json"
    mammon("apply", plan, "--state-dir", tmp_path / "state", "-o", record, "--quiet", "--yes")
    return plan, record, json.loads(record.read_text())


def test_diff_reports_a_record_step_the_plan_does_not_have(mammon: Mammon, tmp_path: Path) -> None:
    plan, record, data = _applied(mammon, tmp_path)
    extra = {**data["steps"][1], "id": "sweep", "status": "reverted", "to": EVIL}
    data["steps"].append(extra)
    record.write_text(json.dumps(data))
    run = mammon("diff", plan, record, code=1)
    assert f"MISMATCH step sweep is in the run record (reverted, tx {extra['tx_hash']}, to {EVIL}) but not in the plan\n" in run.stdout
    assert run.stdout.endswith("result: the run record does not match the plan (MISMATCH above)\n")
    assert json.loads(mammon("diff", plan, record, "--format", "json", code=1).stdout)["mismatches"] == [
        f"step sweep is in the run record (reverted, tx {extra['tx_hash']}, to {EVIL}) but not in the plan"]


def test_diff_reports_a_step_sent_elsewhere_or_with_other_calldata(mammon: Mammon, tmp_path: Path) -> None:
    plan, record, data = _applied(mammon, tmp_path)
    data["steps"][1]["to"] = EVIL
    data["steps"][0]["data"] = data["steps"][0]["data"][:-2] + "ff"
    record.write_text(json.dumps(data))
    out = mammon("diff", plan, record, code=1).stdout
    assert "MISMATCH step withdraw was sent with other calldata than the plan's (redeemUnderlying(uint256))\n" in out
    assert "MISMATCH step deposit_approve was sent to 0x000000000000000000000000000000000000dEaD, the plan calls 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913\n" in out


def test_diff_of_an_untouched_record_is_clean(mammon: Mammon, tmp_path: Path) -> None:
    plan, record, _ = _applied(mammon, tmp_path)
    out = mammon("diff", plan, record).stdout
    assert "MISMATCH" not in out and out.endswith("result: all effects within tolerance\n") and "fees " not in out  # the simulator pays none


# --- hunt_rpc #4: diff compares the fees paid with what the plan was reviewed at --------------------


@pytest.mark.parametrize("multiple, flagged", [(2, False), (10, True)])
def test_diff_compares_fees_paid_with_the_plans_gas_price(mammon: Mammon, tmp_path: Path, multiple: int, flagged: bool) -> None:
    """A record as the rpc runner writes it (fee_wei per step): 10x the reviewed gas price is a mismatch, 2x is not."""
    plan, record, data = _applied(mammon, tmp_path)
    price = int(compiled().market.gas_price_gwei * 10**9)
    for step in data["steps"]:
        step["fee_wei"] = str(step["gas_used"] * price * multiple)
    record.write_text(json.dumps(data))
    run = mammon("diff", plan, record, code=1 if flagged else 0)
    assert f" · the plan's totals: 0.00000336 ETH (L2) · {multiple:.2f} x its gas price per gas\n" in run.stdout
    mismatch = "MISMATCH paid 10.0 x the gas price the plan was reviewed at (0.01 gwei), above the default fee ceiling of 3 x ([policy] max_fee_multiple)\n"
    assert (mismatch in run.stdout) is flagged


def test_diff_takes_the_fee_ceiling_of_the_policy_the_apply_ran_with(mammon: Mammon, tmp_path: Path) -> None:
    """A run that paid 10x under a policy allowing 20x is within it: `diff --policy` (and the apply's own diff) use its ceiling."""
    plan, record, data = _applied(mammon, tmp_path)
    price = int(compiled().market.gas_price_gwei * 10**9)
    for step in data["steps"]:
        step["fee_wei"] = str(step["gas_used"] * price * 10)
    record.write_text(json.dumps(data))
    (tmp_path / "wide.toml").write_text("[policy]\nmax_fee_multiple = 20\n")
    assert "MISMATCH" not in mammon("diff", plan, record, "--policy", tmp_path / "wide.toml", code=0).stdout
    (tmp_path / "narrow.toml").write_text("[policy]\nmax_fee_multiple = 5\n")
    run = mammon("diff", plan, record, "--policy", tmp_path / "narrow.toml", code=1)
    assert "MISMATCH paid 10.0 x the gas price the plan was reviewed at (0.01 gwei), above the policy's fee ceiling of 5 x " in run.stdout


@pytest.mark.parametrize("value, problem", [("0", "max_fee_multiple: Input should be greater than 0"),
                                            ('"lots"', "max_fee_multiple: Input should be a valid number"),
                                            ("2000", "max_fee_multiple: Input should be less than or equal to 1000")])
def test_a_bad_fee_ceiling_in_the_policy_is_one_line(mammon: Mammon, tmp_path: Path, value: str, problem: str) -> None:
    plan = write_plan(tmp_path / "plan.yaml", compiled())
    policy = tmp_path / "policy.toml"
    policy.write_text(f"[policy]\nmax_fee_multiple = {value}\n")
    line = mammon.refuses("apply", plan, "--policy", policy, "--state-dir", tmp_path / "state", "-o", tmp_path / "run.json", "--yes")
    assert line == f"{policy}: [policy]: {problem}"
    assert not (tmp_path / "run.json").exists()


def test_apply_and_rebalance_progress_lines_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """The progress both `apply` and `rebalance` print (a revert reason comes from the node): a line break splits it into
    lines, and nothing in it moves the cursor, erases a line or reorders the text."""
    from mammon.cli import _echo_progress

    _echo_progress("fail  deposit: reverted: \x1b[2K\rok   deposit\u202e\nsecond line")
    out = capsys.readouterr().out
    assert out.splitlines() == ["fail  deposit: reverted: \\x1b[2K\\rok   deposit\\u202e", "second line"]
