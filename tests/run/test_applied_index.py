"""The replay refusal's question, "was this plan applied already, and where is its record?", answered through
`audit.index` (the log read after the index's line only) says exactly what a full read of the log says: for
logs built as applies build them (simulated and real runs of several plans, crashed and resumed runs keeping
their run id, replays allowed, one-transaction batches), and whatever happened to the index or the log in
between (deleted, stale, garbled, of the older version, the log cut, rewritten or edited)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mammon.run import audit, audit_index

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLANS = [f"sha256:{c * 64}" for c in "abcd"]
RECORDS = ["/runs/a.run.json", "/runs/b.run.json", "/runs/c.run.json"]
Events = list[tuple[str, datetime, dict[str, Any]]]


def full_read(directory: Path, plan_hash: str) -> audit.Applied | None:
    """`audit.applied` as it was before the index: every entry of the log, in order, until the plan's first real
    step_sent (its time; the record of its run's apply_started, else of the latest apply_started before it)."""
    started: dict[str, str] = {}
    record = None
    for e in audit.entries(directory):
        d = e.data
        if d.get("plan") != plan_hash:
            continue
        if d.get("event") == "apply_started":
            record = d.get("record") if isinstance(d.get("record"), str) else None
            started[str(d.get("run", ""))] = str(record)
        if d.get("event") == "step_sent" and not d.get("simulated"):
            return audit.Applied(time=str(d.get("time", "")), record=started.get(str(d.get("run", "")), record))
    return None


def answers(directory: Path, read: Any) -> list[Any]:
    """`read`'s answer for every plan (and one never logged), or the error it raises."""
    out: list[Any] = []
    for plan in [*PLANS, "sha256:never"]:
        try:
            out.append(read(directory, plan))
        except audit.AuditError as exc:
            out.append(str(exc))
    return out


class Applies:
    """Applies as the engine and the atomic runner log them (`session.log_event`): a real run appends each event
    as it happens, a simulated one writes its events at once when it ends."""

    def __init__(self, directory: Path, rng: random.Random) -> None:
        self.directory, self.rng, self.when, self.n = directory, rng, T0, 0
        self.runs: list[tuple[str, str, str | None]] = []  # (plan, run id, record) of real runs begun

    def _events(self, plan: str, run: str, record: str | None, *, simulated: bool, resumed: bool, replay: bool) -> Events:
        rng = self.rng
        base = {"plan": plan, "run": run}
        events: Events = []
        if replay:
            events.append(("replay_allowed", self.when, {**base, "replay_of": record, "replay_first_sent": self.when.isoformat()}))
        start: dict[str, Any] = {**base, "runner": "sim" if simulated else "rpc", "simulated": simulated, "chain": 31337, "wallet": "0xw"}
        if record is not None:
            start["record"] = record
        events.append(("apply_resumed" if resumed else "apply_started", self.when, start))
        if not simulated and rng.random() < 0.15:
            return events  # killed after it started, before it sent anything
        batch = rng.random() < 0.2  # the atomic runner: the whole plan as one transaction
        for i in range(1 if batch else rng.randint(1, 5)):
            tx = f"0x{rng.getrandbits(64):016x}"
            self.when += timedelta(seconds=rng.randint(1, 90))
            sent: dict[str, Any] = {**base, "step": f"s{i}", "tx": tx, "nonce": i, "simulated": simulated}
            if batch:
                sent["batch"] = ["s0", "s1"]
            events.append(("step_sent", self.when, sent))
            if not simulated and rng.random() < 0.1:
                return events  # killed after logging the signature
            events.append(("step_done", self.when, {**base, "step": f"s{i}", "status": "ok", "tx": tx, "simulated": simulated,
                                                     "spent": {} if simulated else {"USDC": str(rng.randint(1, 10**6))}}))
        return events

    def one(self) -> None:
        """A random apply: simulated, fresh real, resumed real (same run id), or real with the replay allowed."""
        rng = self.rng
        self.when += timedelta(minutes=rng.randint(1, 600))
        self.n += 1
        kind = rng.choice(["simulated", "simulated", "real", "resumed", "replay", "odd"])
        plan, record = rng.choice(PLANS), rng.choice([*RECORDS, None])
        if kind == "simulated":
            audit.append_many(self.directory, self._events(plan, f"sim{self.n}", record, simulated=True, resumed=False, replay=False))
            return
        run, resumed = f"run{self.n}", False
        if kind == "resumed" and self.runs:
            plan, run, record = rng.choice(self.runs)
            resumed = rng.random() < 0.7  # else a crashed start redone: apply_started again, same run id
        elif kind == "odd" and self.runs:  # a run id another plan used, or a record another run wrote
            run = rng.choice(self.runs)[1]
        self.runs.append((plan, run, record))
        for event, when, data in self._events(plan, run, record, simulated=False, resumed=resumed, replay=kind == "replay"):
            audit.append(self.directory, event, when, **data)
        if rng.random() < 0.1:  # a crash cut the last write short (the next append removes it)
            with open(self.directory / audit.LOG, "ab") as fh:
                fh.write(b'{"seq": 99, "event": "step_s')


def _rehash(lines: list[bytes]) -> list[bytes]:
    prev, out = audit.GENESIS, []
    for n, line in enumerate(lines, start=1):
        entry = json.loads(line)
        entry["seq"], entry["prev"] = n, prev
        entry["hash"] = prev = audit.entry_hash(entry)
        out.append(json.dumps(entry, sort_keys=True).encode())
    return out


def forge(index: Path, head: dict[str, Any], items: list[Any]) -> None:
    """What a forger with write access does to the index: change its items and fix the hash of them in its head."""
    body = "".join(json.dumps(x) + "\n" for x in items)
    index.write_text(json.dumps({**head, "items": hashlib.sha256(body.encode()).hexdigest()}) + "\n" + body)


def damage(directory: Path, rng: random.Random) -> str:
    """Something that happens to the index or the log between two applies; returns what, for the failure message."""
    index, log = directory / audit_index.INDEX, directory / audit.LOG
    what = rng.choice(["nothing", "nothing", "deleted", "stale", "garbled", "torn", "version 1", "cut", "rewritten", "edited"])
    lines = log.read_bytes().split(b"\n")[:-1] if log.exists() else []
    if what == "deleted":
        index.unlink(missing_ok=True)
    elif what == "stale" and index.exists():  # claims an entry the log does not end that line with
        head, *rest = index.read_bytes().split(b"\n")
        index.write_bytes(b"\n".join([json.dumps({**json.loads(head), "hash": hashlib.sha256(head).hexdigest()}).encode(), *rest]))
    elif what == "garbled" and index.exists():
        raw = bytearray(index.read_bytes())
        for _ in range(3):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        index.write_bytes(bytes(raw))
    elif what == "torn" and index.exists():
        raw = index.read_bytes()
        index.write_bytes(raw[:rng.randrange(len(raw))])
    elif what == "version 1" and index.exists():  # what the older version wrote: where it stands and the spends only
        head, *rest = [json.loads(line) for line in index.read_bytes().split(b"\n") if line]
        index.write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in [{**head, "version": 1}, *(x[1:] for x in rest if x[0] == "spent")]))
    elif what == "cut" and lines:
        log.write_bytes(b"".join(line + b"\n" for line in lines[:rng.randrange(len(lines))]))
    elif what == "rewritten" and lines:  # an entry changed and every hash after it fixed
        n = rng.randrange(len(lines))
        entry = json.loads(lines[n])
        entry["plan"] = rng.choice(PLANS)
        lines[n] = json.dumps(entry).encode()
        log.write_bytes(b"".join(line + b"\n" for line in _rehash(lines)))
    elif what == "edited" and lines:  # an entry changed, the hashes not: the next read fails naming it
        n = rng.randrange(len(lines))
        entry = json.loads(lines[n])
        entry["simulated"] = not entry.get("simulated")
        log.write_bytes(b"".join(line + b"\n" for line in [*lines[:n], json.dumps(entry).encode(), *lines[n + 1:]]))
        return f"edited line {n + 1}"
    return what


@pytest.mark.parametrize("seed", range(6))
def test_the_index_says_what_a_full_read_says(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    applies = Applies(tmp_path, rng)
    found = 0
    for step in range(60):
        applies.one()
        assert answers(tmp_path, audit.applied) == answers(tmp_path, full_read), f"after apply {step}"
        what = damage(tmp_path, rng)
        expected = answers(tmp_path, full_read)
        assert answers(tmp_path, audit.applied) == expected, f"after apply {step}: {what}"
        assert answers(tmp_path, audit.applied) == expected, f"after apply {step}: {what}, read again"
        found += sum(isinstance(a, audit.Applied) for a in expected)
        if what.startswith("edited"):  # no apply goes on from an edited log: the user restores it (here: a fresh one)
            (tmp_path / audit.LOG).unlink()
            applies.runs.clear()
    assert found > 60  # (the logs did hold applied plans)


def test_applied_plans_are_found_in_the_index(tmp_path: Path) -> None:
    """What the replay refusal needs is in the index: the index alone answers once the log's lines are garbage."""
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r1", simulated=False, record=RECORDS[0])
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[1], run="r2", simulated=True, record=RECORDS[1])
    audit.append(tmp_path, "step_sent", T0 + timedelta(seconds=5), plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False)
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[1], run="r2", step="s0", tx="0x02", simulated=True)
    first = audit.Applied(time=(T0 + timedelta(seconds=5)).isoformat(), record=RECORDS[0])
    assert audit.applied(tmp_path, PLANS[0]) == first and audit.applied(tmp_path, PLANS[1]) is None
    path = tmp_path / audit.LOG
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*(b"x" * len(line) for line in lines[:-2]), *lines[-2:]]))  # the index's own line kept
    assert audit.applied(tmp_path, PLANS[0]) == first and audit.applied(tmp_path, PLANS[1]) is None


def test_a_resumed_run_names_its_own_record(tmp_path: Path) -> None:
    """The record is the one the sending run's apply_started named, not the latest apply_started of the plan,
    when the index's line falls between them."""
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r1", simulated=False, record=RECORDS[0])
    assert audit.applied(tmp_path, PLANS[0]) is None  # the index now stands here
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r2", simulated=False, record=RECORDS[1])
    assert audit.applied(tmp_path, PLANS[0]) is None
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False)
    assert audit.applied(tmp_path, PLANS[0]) == audit.Applied(time=T0.isoformat(), record=RECORDS[0]) == full_read(tmp_path, PLANS[0])
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[1], run="r3", simulated=False, record=RECORDS[2])
    assert audit.applied(tmp_path, PLANS[1]) is None
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[1], run="r9", step="s0", tx="0x02", simulated=False)  # a run never started
    assert audit.applied(tmp_path, PLANS[1]) == audit.Applied(time=T0.isoformat(), record=RECORDS[2]) == full_read(tmp_path, PLANS[1])


def test_an_index_of_the_older_version_is_rebuilt(tmp_path: Path) -> None:
    """An index written by the version that kept only the spends says nothing of applied plans: ignored, not
    read as "no plan was applied"."""
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r1", simulated=False, record=RECORDS[0])
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False)
    log = audit.entries(tmp_path)
    old = {"version": 1, "offset": (tmp_path / audit.LOG).stat().st_size, "seq": 2, "hash": log[-1].hash}
    (tmp_path / audit_index.INDEX).write_text(json.dumps(old) + "\n")
    assert audit.applied(tmp_path, PLANS[0]) == audit.Applied(time=T0.isoformat(), record=RECORDS[0])
    assert json.loads((tmp_path / audit_index.INDEX).read_text().splitlines()[0])["version"] == audit_index.VERSION


@pytest.mark.parametrize("forgery", ["applied plan removed", "record changed", "started run removed"])
def test_an_index_hiding_an_applied_plan_fails_verify(tmp_path: Path, forgery: str) -> None:
    """Someone who makes a plan look never applied (or its record another) by editing the index is caught by
    `mammon audit verify`, as one who edits the log is."""
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r1", simulated=False, record=RECORDS[0])
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False)
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[1], run="r2", simulated=False, record=RECORDS[1])
    audit.applied(tmp_path, PLANS[0])
    index = tmp_path / audit_index.INDEX
    head, *items = [json.loads(line) for line in index.read_text().splitlines()]
    if forgery == "applied plan removed":
        items = [x for x in items if x[0] != "applied"]
    elif forgery == "record changed":
        items = [[*x[:3], RECORDS[2]] if x[0] == "applied" else x for x in items]
    else:
        items = [x for x in items if x[0] != "started"]
    forge(index, head, items)
    if forgery == "applied plan removed":
        assert audit.applied(tmp_path, PLANS[0]) is None  # the forged index is believed by the apply ...
    with pytest.raises(audit.AuditError, match=r"audit.index does not hold the applied plans of log entries 1-3 \(edited\)"):
        audit.verify(tmp_path)  # ... and caught by verify
    index.unlink()
    assert audit.verify(tmp_path) == 3 and audit.applied(tmp_path, PLANS[0]) == full_read(tmp_path, PLANS[0])


def test_both_questions_share_one_reading(tmp_path: Path) -> None:
    """The spend and the replay refusal are answered by one index brought up to date once: after either asked,
    the index stands at the log's end and holds both answers."""
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r1", simulated=False, record=RECORDS[0])
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False)
    audit.append(tmp_path, "step_done", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False, spent={"USDC": "5"})
    assert audit.spent_since(tmp_path, T0 - timedelta(days=1)) == {"USDC": 5}
    index = audit_index.read_index(tmp_path)
    assert index.seq == 3 and index.offset == (tmp_path / audit.LOG).stat().st_size
    assert index.applied == {PLANS[0]: audit.Applied(time=T0.isoformat(), record=RECORDS[0])}


def test_an_index_torn_at_a_line_end_is_ignored(tmp_path: Path) -> None:
    """The index is not fsynced: a crash may leave it cut after any of its lines. Every line it keeps still
    parses, so the head says how many bytes follow and their hash; one short of its items is not believed (it
    would say a plan that sent transactions was never applied)."""
    audit.append(tmp_path, "apply_started", T0, plan=PLANS[0], run="r1", simulated=False, record=RECORDS[0])
    audit.append(tmp_path, "step_sent", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False)
    audit.append(tmp_path, "step_done", T0, plan=PLANS[0], run="r1", step="s0", tx="0x01", simulated=False, spent={"USDC": "5"})
    assert audit.applied(tmp_path, PLANS[0]) is not None
    index = tmp_path / audit_index.INDEX
    lines = index.read_bytes().split(b"\n")[:-1]
    for keep in range(1, len(lines)):
        index.write_bytes(b"".join(line + b"\n" for line in lines[:keep]))
        assert audit_index.read_index(tmp_path) == audit_index.Index()
        assert audit.applied(tmp_path, PLANS[0]) == full_read(tmp_path, PLANS[0])
