"""Outputs a user names that cannot be written: one line naming the path and why, exit 2, nothing written.

Every command that writes where it is told (`plan -o`, `export -o`, `rebalance -o`, `apply -o`, `approve -o`)
and the library's writers (`planfile.dump`, `Rebalancer`'s plan directory, run records) refuse a path inside
a file, in a missing directory, at a directory, or one the file system refuses (/proc), before any work,
and leave no file behind: not the output, not a temporary file, not an audit entry.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mammon import Rebalancer, Recommendation, compile_plan
from mammon.errors import InputError, MammonError
from mammon.files import check_output, write_output
from mammon.plan.planfile import dump, dumps, load
from mammon.run import record as journal
from mammon.run.record import RunRecord, StepRecord
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon

REC = EXAMPLES_DIR / "moonwell-to-aave.yaml"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's first account: WALLET
SEED = {"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "USDC", "amount": "10"}
PROC = Path("/proc/mammon-cannot-write-here.json")

# (name, output relative to the work directory, what the error line says after "<path>: ")
BAD = [
    ("inside-a-file", "afile/out.json", "cannot write this file: {work}/afile is a file, not a directory"),
    ("deep-inside-a-file", "afile/sub/out.json", "cannot write this file: {work}/afile is a file, not a directory"),
    ("missing-directory", "missing/out.json", "cannot write this file: directory {work}/missing does not exist"),
]
if PROC.parent.is_dir():
    BAD.append(("file-system-refuses", str(PROC), "cannot write this file (No such file or directory)"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory holding a plain file `afile` and a directory `adir`, and nothing else."""
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "adir").mkdir()
    return tmp_path


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def plan_file(work: Path) -> Path:
    plan = compile_plan(Recommendation.of(SEED), chain="base", wallet=WALLET, now=NOW)
    path = work / "plan.yaml"
    path.write_text(dumps(plan), encoding="utf-8")
    return path


def _command(name: str, plan: Path, out: str, state: Path) -> tuple[Any, ...]:
    return {
        "plan": ("plan", REC, "--wallet", WALLET, "-o", out),
        "export": ("export", plan, "--format", "safe-tx-builder", "-o", out),
        "rebalance": ("rebalance", REC, "--wallet", WALLET, "--yes", "--state-dir", state, "-o", out),
        "apply": ("apply", plan, "--yes", "--state-dir", state, "-o", out),
        "approve": ("approve", plan, "-o", out),
    }[name]


COMMANDS = ["plan", "export", "rebalance", "apply", "approve"]


# `rebalance` creates its plan file's directory, as it does its default plan directory (tests/run/test_rebalancer.py).
CASES = [pytest.param(command, out, message, id=f"{command}-{case}") for command in COMMANDS for case, out, message in BAD
         if not (command == "rebalance" and case == "missing-directory")]


@pytest.mark.parametrize(("command", "out", "message"), CASES)
def test_an_output_that_cannot_be_written_is_one_line_and_nothing_is_written(
        command: str, out: str, message: str, work: Path, plan_file: Path, mammon: Mammon) -> None:
    target = out if os.path.isabs(out) else str(work / out)
    before = listing(work)
    line = mammon.refuses(*_command(command, plan_file, target, work / "state"), env={"MAMMON_PRIVATE_KEY": KEY})
    assert line == f"{target}: {message.format(work=work)}"
    assert listing(work) == before, "no output, no temporary file, no state directory or audit entry"


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_is_a_directory_is_one_line(command: str, work: Path, plan_file: Path, mammon: Mammon) -> None:
    before = listing(work)
    line = mammon.refuses(*_command(command, plan_file, str(work / "adir"), work / "state"), env={"MAMMON_PRIVATE_KEY": KEY})
    assert "adir" in line and "is a directory" in line
    assert listing(work) == before


@pytest.mark.parametrize("command", ["apply", "approve"])
@pytest.mark.parametrize(("out", "message"), [
    ("", "'': the output path is empty: name a file to write"),
    ("/dev/full", "/dev/full: is not a regular file (a device or a pipe): name a file mammon can read back"),
], ids=["empty", "device"])
def test_a_file_mammon_reads_back_must_be_a_regular_file(command: str, out: str, message: str, work: Path, plan_file: Path,
                                                         mammon: Mammon) -> None:
    if out.startswith("/dev/") and not os.path.exists(out):
        pytest.skip(f"no {out} here")
    before = listing(work)
    assert mammon.refuses(*_command(command, plan_file, out, work / "state"), env={"MAMMON_PRIVATE_KEY": KEY}) == message
    assert listing(work) == before


@pytest.mark.parametrize("command", ["plan", "export", "rebalance"])
def test_an_empty_output_path_is_refused(command: str, work: Path, plan_file: Path, mammon: Mammon) -> None:
    before = listing(work)
    assert mammon.refuses(*_command(command, plan_file, "", work / "state")) == "'': the output path is empty: name a file to write"
    assert listing(work) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_ending_in_a_slash_is_not_written_as_a_file(command: str, work: Path, plan_file: Path, mammon: Mammon) -> None:
    before = listing(work)
    out = f"{work}/newdir/"
    line = mammon.refuses(*_command(command, plan_file, out, work / "state"), env={"MAMMON_PRIVATE_KEY": KEY})
    assert line == f"{out}: names a directory (it ends in /): name a file to write"
    assert listing(work) == before


@pytest.mark.parametrize(("option", "content", "message"), [
    ("--world", None, "{work}/input: file not found"),
    ("--policy", None, "{work}/input: policy file not found"),
    ("--policy", "[policy]\nmax_slippage_bps = 1\n", "{work}/input: [policy]: plan slippage 50 bps exceeds max_slippage_bps 1"),
    ("--world", "tokens: [\n", "{work}/input: malformed YAML"),
], ids=["missing-world", "missing-policy", "breached-policy", "malformed-world"])
def test_rebalance_reads_every_input_before_writing_the_plan(option: str, content: str | None, message: str, work: Path,
                                                             mammon: Mammon) -> None:
    """A bad world or policy used to be found by apply, after the plan file was written (and its line printed)."""
    if content is not None:
        (work / "input").write_text(content)
    before = listing(work)
    line = mammon.refuses("rebalance", REC, "--wallet", WALLET, "--yes", "--state-dir", work / "state", "-o", work / "p.yaml",
                          option, work / "input")
    assert line.startswith(message.format(work=work)), line
    assert listing(work) == before


def test_a_rebalancer_refuses_a_breached_policy_before_writing_the_plan(work: Path) -> None:
    (work / "policy.toml").write_text("[policy]\nmax_slippage_bps = 1\n")
    r = Rebalancer(wallet=WALLET, plan_dir=work / "plans", state_dir=work / "state", policy_file=work / "policy.toml")
    with pytest.raises(MammonError, match="plan slippage 50 bps exceeds max_slippage_bps 1"):
        r.execute(SEED)
    assert listing(work) == ["adir", "afile", "policy.toml"]


def test_several_plans_are_written_all_or_none(work: Path, mammon: Mammon) -> None:
    """`plan -o out.yaml` of two recommendations writes out-1.yaml and out-2.yaml: a blocked second one stops both."""
    recs = work / "recs.yaml"
    recs.write_text(
        "- {from_protocol: Moonwell, to_protocol: Aave V3, token: USDC, amount: '10'}\n"
        "- {from_protocol: Moonwell, to_protocol: Morpho, token: USDC, amount: '10'}\n", encoding="utf-8")
    (work / "out-2.yaml").mkdir()
    before = listing(work)
    line = mammon.refuses("plan", recs, "--wallet", WALLET, "-o", work / "out.yaml")
    assert line == f"{work / 'out-2.yaml'}: is a directory: name a file to write"
    assert listing(work) == before, "out-1.yaml was not written either"
    (work / "out-2.yaml").rmdir()
    mammon("plan", recs, "--wallet", WALLET, "-o", work / "out.yaml")
    assert load(work / "out-1.yaml").recommendations[0].to_protocol != load(work / "out-2.yaml").recommendations[0].to_protocol


# --- the library -----------------------------------------------------------------------------------


def test_a_plan_directory_that_is_a_file_is_refused_when_the_rebalancer_is_built(work: Path) -> None:
    with pytest.raises(InputError) as err:
        Rebalancer(wallet=WALLET, plan_dir=work / "afile", state_dir=work / "state")
    assert str(err.value) == f"{work / 'afile'}: the plan directory is a file, not a directory"


@pytest.mark.parametrize(("options", "message"), [
    ({"plan_dir": "afile/plans"}, "{work}/afile/plans: cannot create the plan directory (a file is in the way)"),
    ({"plan_path": "afile/p.yaml"}, "{work}/afile: cannot create the plan directory (a file is in the way)"),
    ({"plan_path": "adir"}, "{work}/adir: is a directory: name a plan file (-o)"),
    ({"plan_path": str(PROC)}, f"{PROC}: cannot write this file (No such file or directory)"),
], ids=["plan-dir-under-a-file", "plan-path-under-a-file", "plan-path-a-directory", "plan-path-in-proc"])
def test_rebalancer_outputs_that_cannot_be_written_raise_input_errors_and_write_nothing(
        options: dict[str, str], message: str, work: Path) -> None:
    if str(PROC) in options.values() and not PROC.parent.is_dir():
        pytest.skip("no /proc here")
    plan_path = options.get("plan_path")
    r = Rebalancer(wallet=WALLET, plan_dir=work / options.get("plan_dir", "plans"), state_dir=work / "state")
    before = listing(work)
    with pytest.raises(InputError) as err:
        r.execute(SEED, plan_path=(plan_path if os.path.isabs(plan_path) else work / plan_path) if plan_path else None)
    assert str(err.value) == message.format(work=work)
    assert listing(work) == before


def test_dump_to_a_path_that_cannot_be_written_leaves_nothing(work: Path) -> None:
    plan = compile_plan(Recommendation.of(SEED), chain="base", wallet=WALLET, now=NOW)
    for bad in ("afile/p.yaml", "missing/p.yaml", "adir"):
        with pytest.raises(InputError, match=rf"^{work / bad}: "):
            dump(plan, work / bad)
    assert listing(work) == ["adir", "afile"]


def _record() -> RunRecord:
    return RunRecord(plan_hash="sha256:ab", chain_id=1, wallet=WALLET, runner="rpc", started_at=datetime(2026, 1, 1, tzinfo=UTC),
                     steps=[StepRecord(id="a")])


def test_a_run_record_that_cannot_be_written_is_refused_before_the_run(work: Path) -> None:
    """The journal refuses its path when it is opened (before any step or audit event), and a write that fails is one line."""
    with pytest.raises(InputError, match=rf"^{work / 'afile'}/run.json: cannot write this file: {work / 'afile'} is a file"):
        journal.Journal(work / "afile" / "run.json")
    with pytest.raises(InputError, match=rf"^{work / 'missing'}/run.json: cannot write this file: directory"):
        journal.write(_record(), work / "missing" / "run.json")
    assert listing(work) == ["adir", "afile"]


# --- how a write replaces a file -------------------------------------------------------------------


@pytest.mark.parametrize("new", ["new é\n", "new é\n".encode()], ids=["text", "bytes"])
def test_a_write_replaces_the_whole_file_keeps_its_mode_and_leaves_no_temporary_file(work: Path, new: str | bytes) -> None:
    path = work / "out.json"
    path.write_text("an older, longer file\n" * 100)
    path.chmod(0o640)
    write_output(path, new)
    assert path.read_text(encoding="utf-8") == "new é\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert listing(work) == ["adir", "afile", "out.json"]


@pytest.mark.parametrize("new", ["new\n", b"new\n"], ids=["text", "bytes"])
def test_a_write_through_a_symlink_replaces_its_target_and_keeps_the_link(work: Path, new: str | bytes) -> None:
    (work / "adir" / "real.json").write_text("old\n")
    link = work / "latest.json"
    link.symlink_to(work / "adir" / "real.json")
    write_output(link, new)
    assert link.is_symlink() and (work / "adir" / "real.json").read_text() == "new\n"


@pytest.mark.parametrize("new", ["nothing\n", b"nothing\n"], ids=["text", "bytes"])
def test_a_device_is_written_in_place(work: Path, new: str | bytes) -> None:
    write_output("/dev/null", new)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is still the device"


def test_a_read_only_file_is_refused_not_replaced(work: Path) -> None:
    path = work / "locked.json"
    path.write_text("keep\n")
    path.chmod(0o444)
    if os.access(path, os.W_OK):
        pytest.skip("running as root: permissions do not stop this process")
    with pytest.raises(InputError, match="it is read-only"):
        write_output(path, "new\n")
    assert path.read_text() == "keep\n"


def test_check_output_accepts_what_can_be_written_and_leaves_nothing(work: Path) -> None:
    check_output(work / "new.json", probe=True)
    check_output(work / "afile", probe=True)
    check_output("/dev/null", probe=True)
    assert listing(work) == ["adir", "afile"]


# --- bad inputs of the same commands (exit 2, not 1 or 3) ------------------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("nothere.json", None, "nothere.json: file not found"),
    ("garbage.json", "garbage\n", "garbage.json: malformed JSON at line 1 column 1"),
    ("plan.yaml", "format_version: 2.0.0\n", "plan.yaml: malformed JSON at line 1 column 1"),
], ids=["missing", "garbage", "a-plan-file"])
def test_audit_verify_refuses_a_record_that_is_not_one_as_bad_input(name: str, content: str | None, message: str, work: Path,
                                                                  mammon: Mammon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(work)
    if content is not None:
        (work / name).write_text(content)
    assert mammon.refuses("audit", "verify", "--state-dir", work / "state", "--record", name).startswith(message)


def test_allow_failing_without_a_node_is_refused(mammon: Mammon) -> None:
    line = mammon.refuses("plan", REC, "--wallet", WALLET, "--allow-failing")
    assert line == "--allow-failing: keeps a plan whose dry run on a node failed, so it needs --rpc URL (the node to try it on)"


@pytest.mark.parametrize("name, kind", [("audit.anchor", "file"), ("audit.jsonl", "file"), ("audit.index", "file"), ("locks", "directory")])
def test_a_state_directory_entry_of_the_wrong_kind_is_refused_before_the_run(name: str, kind: str, work: Path, plan_file: Path,
                                                                           mammon: Mammon) -> None:
    """`audit.anchor` a directory or `locks` a file: refused naming it before anything runs (the run used to
    happen, its audit events be logged, and the command end with an internal error)."""
    from mammon.run import audit, audit_index, state

    assert dict(state.OWN_ENTRIES) == {audit.LOG: "file", audit.ANCHOR: "file", audit_index.INDEX: "file", "locks": "directory"}
    directory = work / "state"
    directory.mkdir()
    entry = directory / name
    if kind == "file":
        entry.mkdir()
    else:
        entry.write_text("in the way\n")
    record = work / "run.json"
    line = mammon.refuses("apply", plan_file, "--quiet", "-o", record, "--state-dir", directory)
    assert line == f"{entry}: mammon keeps a {kind} here, but something else is in the way: move it aside"
    assert not record.exists() and sorted(p.name for p in directory.iterdir()) == [name]


def test_apply_file_refuses_a_record_path_it_cannot_write_before_any_runner_exists(work: Path, plan_file: Path) -> None:
    """The library's `apply_file` (every runner, the atomic ones included): the record path is checked first."""
    from mammon.run.api import apply_file

    record = work / "nodir" / "run.json"
    with pytest.raises(InputError) as exc:
        apply_file(plan_file, runner_name="sim", record_path=record, state_dir=work / "state")
    assert str(exc.value) == f"{record}: cannot write this file: directory {record.parent} does not exist"
    assert not (work / "state").exists()
