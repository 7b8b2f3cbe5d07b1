"""The daily spend reads only the audit log's new lines (`audit.index` summarises the rest), and still says
exactly what a full read of the log says; an edited log fails naming the same line; a forged index fails verify."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mammon.run import audit, audit_index

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def full_read(directory: Path, since: datetime) -> dict[str, int]:
    """The daily spend as it was computed before the index: every entry of the log, in order."""
    totals: dict[str, int] = {}
    seen: set[str] = set()
    for e in audit.entries(directory):
        d = e.data
        if d.get("event") != "step_done" or d.get("simulated") or not isinstance(d.get("spent"), dict):
            continue
        key = str(d.get("tx") or f"{d.get('plan')}:{d.get('step')}:{e.seq}")
        if key in seen:
            continue
        seen.add(key)
        try:
            when = datetime.fromisoformat(str(d["time"]))
        except (KeyError, ValueError):
            continue
        if when > since:
            for token, amount in d["spent"].items():
                totals[token] = totals.get(token, 0) + int(amount)
    return totals


def _run(directory: Path, rng: random.Random, when: datetime, txs: list[str]) -> None:
    """One apply's events: simulated (many, never counted) or real (some spends, a resumed one logs a tx twice)."""
    simulated = rng.random() < 0.6
    events: list[tuple[str, datetime, dict[str, object]]] = [("apply_started", when, {"plan": "sha256:p", "simulated": simulated})]
    for i in range(rng.randint(1, 6)):
        tx = rng.choice(txs) if txs and not simulated and rng.random() < 0.2 else f"0x{rng.getrandbits(64):016x}"
        txs.append(tx)
        spent_now = {rng.choice(["USDC", "WETH"]): str(rng.randint(1, 10**9))} if rng.random() < 0.8 else {}
        data: dict[str, object] = {"plan": "sha256:p", "step": f"s{i}", "status": "ok", "tx": tx, "simulated": simulated, "spent": spent_now}
        if rng.random() < 0.05:
            del data["tx"]  # counted by plan, step and sequence number
        events.append(("step_done", when + timedelta(seconds=i), data))
    if simulated:
        audit.append_many(directory, events)
    else:
        for event, at, data in events:
            audit.append(directory, event, at, **data)


@pytest.mark.parametrize("seed", range(4))
def test_the_index_says_what_a_full_read_says(tmp_path: Path, seed: int) -> None:
    """Random applies over days, the clock sometimes set back (an earlier entry may be newer), transactions
    logged twice; after each apply the spend through the index equals a full read's, for several windows."""
    rng = random.Random(seed)
    txs: list[str] = []
    when = T0
    for _ in range(40):
        when += timedelta(hours=rng.choice([-30, -1, 1, 2, 5, 20]))  # -30 h: a clock set back by more than a day
        _run(tmp_path, rng, when, txs)
        for since in (when - DAY, when - 3 * DAY, T0 - 10 * DAY, when):
            assert audit_index.spent_since(tmp_path, since) == full_read(tmp_path, since)
    index = audit_index.read_index(tmp_path)
    assert index.seq == len(audit.entries(tmp_path)) and index.offset == (tmp_path / audit.LOG).stat().st_size
    assert audit.verify(tmp_path) == index.seq


def test_only_the_lines_after_the_index_are_read(tmp_path: Path) -> None:
    """The lines the index covers are not parsed again: garbage written over them (same length, so the index's
    own line still ends where it did) goes unnoticed by the spend, and `verify`, which reads it all, names it."""
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s0", tx="0x01", simulated=False, spent={"USDC": "5"})
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s1", tx="0x02", simulated=False, spent={"USDC": "7"})
    assert audit_index.spent_since(tmp_path, T0 - DAY) == {"USDC": 12}
    path = tmp_path / audit.LOG
    lines = path.read_bytes().split(b"\n")
    lines[0] = b"x" * len(lines[0])
    path.write_bytes(b"\n".join(lines))
    assert audit_index.spent_since(tmp_path, T0 - DAY) == {"USDC": 12}
    with pytest.raises(audit.AuditError, match="line 1 is not JSON"):
        audit.verify(tmp_path)


def test_an_edited_line_after_the_index_is_named_as_a_full_read_names_it(tmp_path: Path) -> None:
    for i in range(3):
        audit.append(tmp_path, "step_done", T0, plan="sha256:p", step=f"s{i}", tx=f"0x0{i}", simulated=False, spent={"USDC": "5"})
    audit_index.spent_since(tmp_path, T0 - DAY)
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s3", tx="0x03", simulated=False, spent={"USDC": "5"})
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s4", tx="0x04", simulated=False, spent={"USDC": "5"})
    path = tmp_path / audit.LOG
    lines = path.read_text().splitlines()
    entry = json.loads(lines[4])
    entry["spent"] = {"USDC": "1"}
    lines[4] = json.dumps(entry, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(audit.AuditError, match="line 5 was edited"):
        audit_index.spent_since(tmp_path, T0 - DAY)


@pytest.mark.parametrize("damage", ["garbage", "stale", "other log"])
def test_an_index_that_does_not_match_the_log_is_ignored(tmp_path: Path, damage: str) -> None:
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s0", tx="0x01", simulated=False, spent={"USDC": "5"})
    audit_index.spent_since(tmp_path, T0 - DAY)
    index_path = tmp_path / audit_index.INDEX
    if damage == "garbage":
        index_path.write_text('{"version": 1, "offset": ')  # cut short
    elif damage == "stale":  # the index claims an entry the log no longer ends a line with (the log was rewritten)
        head = json.loads(index_path.read_text().splitlines()[0])
        index_path.write_text(json.dumps({**head, "hash": "0" * 64}) + "\n")
    else:
        (tmp_path / audit.LOG).unlink()
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s1", tx="0x02", simulated=False, spent={"USDC": "7"})
    assert audit_index.spent_since(tmp_path, T0 - DAY) == full_read(tmp_path, T0 - DAY)


def test_a_forged_index_fails_verify(tmp_path: Path) -> None:
    """Someone who hides a spend from the daily limit by editing the index is caught as one who edits the log."""
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s0", tx="0x01", simulated=False, spent={"USDC": "5"})
    audit.append(tmp_path, "step_done", T0, plan="sha256:p", step="s1", tx="0x02", simulated=False, spent={"USDC": "7"})
    audit_index.spent_since(tmp_path, T0 - DAY)
    index_path = tmp_path / audit_index.INDEX
    head, first, second = index_path.read_text().splitlines()
    index_path.write_text(f"{head}\n{second}\n")
    assert audit_index.spent_since(tmp_path, T0 - DAY) == {"USDC": 12}  # an index short of its items is not believed ...
    body = f"{second}\n"
    index_path.write_text(json.dumps({**json.loads(head), "items": hashlib.sha256(body.encode()).hexdigest()}) + "\n" + body)
    assert audit_index.spent_since(tmp_path, T0 - DAY) == {"USDC": 7}  # ... the forged one (its hash fixed) is, by the spend ...
    with pytest.raises(audit.AuditError, match=r"audit.index does not hold the spends of log entries 1-2 \(edited\)"):
        audit.verify(tmp_path)  # ... and caught by verify
    index_path.unlink()
    assert audit.verify(tmp_path) == 2 and audit_index.spent_since(tmp_path, T0 - DAY) == {"USDC": 12}



@pytest.mark.parametrize(("offset", "amount"), [("Infinity", "1"), ("1", "x"), ("1", "\u00b2"), ("1", "9" * 5000), (str(10**30), "1")])
def test_an_index_with_numbers_no_writer_makes_is_ignored_not_a_crash(tmp_path: Path, offset: str, amount: str) -> None:
    """A checksum-consistent index (a forger can recompute the checksum) with an offset no file has (Infinity, 10**30)
    or a spend int() refuses ("x", "²", 5,000 digits) is not one of ours: ignored (the whole log answers), where it
    used to crash the apply."""
    body = json.dumps(["spent", "0xtx", "2026-01-01T00:00:00+00:00", {"USDC": amount}]) + "\n"
    head = f'{{"version": {audit_index.VERSION}, "offset": {offset}, "seq": 1, "hash": "h", "items": "{hashlib.sha256(body.encode()).hexdigest()}"}}'
    (tmp_path / audit_index.INDEX).write_text(head + "\n" + body)
    found = audit_index.read_index(tmp_path)
    assert found.offset == 0 and found.spends == []
