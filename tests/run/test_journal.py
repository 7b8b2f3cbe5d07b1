"""The run record as an append-only journal (record format 2.0.0, issue #10).

A real run appends one fsynced change per state change (the write-ahead `sent` entry, with the hash,
lands before the transaction leaves); a simulated run keeps its record in memory and writes it once;
1.x records (one JSON document) are still read and resumed; a change a crash cut short is ignored.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from copy import deepcopy
from pathlib import Path

import pytest

from mammon import Recommendation, compile_plan
from mammon.diff import diff
from mammon.errors import InputError
from mammon.plan.model import Plan
from mammon.run import record as journal
from mammon.run import state
from mammon.run.base import Runner, Signed
from mammon.run.engine import ApplyOptions, apply_plan
from mammon.run.sim import SimRunner
from mammon_test_support import NOW, WALLET


def _plan(moves: int = 1) -> Plan:
    rec = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="10")
    return compile_plan([rec] * moves, chain="base", wallet=WALLET, now=NOW)


class DurableSim(SimRunner):
    """The simulator standing in for a real chain (`simulated = False`): its run is journaled as a real one.
    Before each broadcast it reads the journal from disk, as a crash right then would leave it."""

    simulated = False
    journal_path: Path
    seen_on_disk: list[tuple[str, str | None]]
    trial = False

    def scratch(self) -> AbstractContextManager[Runner]:
        copy = deepcopy(self)
        copy.trial = True  # the preflight's copy: its dry run journals nothing
        return nullcontext(copy)

    def broadcast(self, signed: Signed) -> None:
        if self.trial:
            return super().broadcast(signed)
        rec = journal.load(self.journal_path)
        step = next(s for s in rec.steps if s.tx_hash == signed.tx_hash)
        self.seen_on_disk.append((step.status, step.tx_hash))
        super().broadcast(signed)


def _durable_run(tmp_path: Path, plan: Plan) -> tuple[DurableSim, Path]:
    runner = DurableSim.create(plan, now=NOW)
    runner.journal_path, runner.seen_on_disk = tmp_path / "run.json", []
    rec = apply_plan(plan, runner, ApplyOptions(record_path=runner.journal_path, state_dir=state.state_dir(tmp_path / "s"), now=lambda: NOW))
    assert rec.status == "ok"
    return runner, runner.journal_path


def test_a_real_run_appends_each_change_and_journals_the_hash_before_sending(tmp_path: Path) -> None:
    plan = _plan()
    runner, path = _durable_run(tmp_path, plan)
    assert [status for status, _ in runner.seen_on_disk] == ["sent"] * len(plan.steps), "the write-ahead entry is on disk before each broadcast"
    lines = path.read_text().splitlines()
    header, changes = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["format_version"] == journal.RECORD_VERSION == "2.0.0"
    assert [s["status"] for s in header["steps"]] == ["pending"] * len(plan.steps)
    step_changes = [(c["step"]["id"], c["step"]["status"]) for c in changes if "step" in c]
    assert step_changes == [(s.id, status) for s in plan.steps for status in ("sent", "ok")], "one line per step change, nothing rewritten"
    assert journal.load(path).status == "ok" and diff(plan, journal.load(path)).ok


def test_a_journal_grows_linearly_with_the_plan(tmp_path: Path) -> None:
    sizes = []
    for moves in (1, 4):
        (tmp_path / str(moves)).mkdir()
        _, path = _durable_run(tmp_path / str(moves), _plan(moves))
        sizes.append((len(_plan(moves).steps), len(path.read_text().splitlines())))
    (small_steps, small_lines), (big_steps, big_lines) = sizes
    assert big_lines - small_lines == 2 * (big_steps - small_steps), f"two lines per added step (sent, done): {sizes}"


def test_a_simulated_run_writes_its_record_once(tmp_path: Path) -> None:
    plan = _plan(3)
    opts = ApplyOptions(record_path=tmp_path / "run.json", state_dir=state.state_dir(tmp_path / "s"), now=lambda: NOW)
    rec = apply_plan(plan, SimRunner.create(plan, now=NOW), opts)
    lines = (tmp_path / "run.json").read_text().splitlines()
    assert len(lines) == 1, "one write, at the end"
    assert journal.load(tmp_path / "run.json").model_dump(mode="json") == rec.model_dump(mode="json")
    from mammon.run import audit

    events = [e.data["event"] for e in audit.entries(opts.state_dir)]
    assert events == ["apply_started"] + ["step_sent", "step_done"] * len(plan.steps) + ["apply_finished"]
    assert (rec.audit_seq, rec.audit_hash) == (len(events), audit.entries(opts.state_dir)[-1].hash)
    assert audit.verify(opts.state_dir, [tmp_path / "run.json"]) == len(events)


def test_a_change_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    plan = _plan()
    _, path = _durable_run(tmp_path, plan)
    whole = journal.load(path)
    text = path.read_text()
    last_newline = text.rstrip("\n").rfind("\n")
    path.write_text(text[:last_newline + 1] + text[last_newline + 1:][:20])  # the last change torn mid-line
    torn = journal.load(path)
    assert torn.plan_hash == whole.plan_hash and torn != whole


def test_a_format_1_record_is_read_and_resumed_as_a_journal(tmp_path: Path) -> None:
    plan = _plan()
    _, path = _durable_run(tmp_path, plan)
    old = journal.load(path).model_dump(mode="json", exclude_none=True)
    old["format_version"] = "1.1.0"
    old["status"], old["steps"][-1]["status"] = "stopped", "not_run"
    for key in ("tx_hash", "raw_tx", "nonce", "started_at", "finished_at", "gas_used", "block"):
        old["steps"][-1].pop(key, None)
    path.write_text(json.dumps(old, indent=2) + "\n")  # what mammon wrote before 2.0.0
    rec = journal.load(path)
    assert rec.format_version == "1.1.0" and rec.status == "stopped"
    runner = DurableSim.create(plan, now=NOW)
    runner.journal_path, runner.seen_on_disk = path, []
    for step in plan.steps[:-1]:  # the chain as the first run left it
        runner.send(step.id, step.call)
    resumed = apply_plan(plan, runner, ApplyOptions(record_path=path, state_dir=state.state_dir(tmp_path / "s"), now=lambda: NOW))
    assert resumed.status == "ok" and resumed.format_version == "2.0.0"
    assert json.loads(path.read_text().splitlines()[0])["format_version"] == "2.0.0", "rewritten once as a 2.0.0 journal, then appended to"


def test_a_record_of_an_unknown_major_version_is_refused_by_name(tmp_path: Path) -> None:
    plan = _plan()
    _, path = _durable_run(tmp_path, plan)
    data = json.loads(path.read_text().splitlines()[0])
    data["format_version"] = "3.0.0"
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(InputError, match=r"run record format 3\.0\.0 is not readable by this mammon \(it reads 1\.x, 2\.x\)"):
        journal.load(path)


def test_a_change_that_is_not_one_refuses_the_record(tmp_path: Path) -> None:
    plan = _plan()
    _, path = _durable_run(tmp_path, plan)
    with path.open("a") as fh:
        fh.write(json.dumps({"step": {"id": "no-such-step", "status": "ok"}}) + "\n")
    with pytest.raises(InputError, match=r"line \d+: not a journal change"):
        journal.load(path)
