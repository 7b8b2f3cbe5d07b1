"""The audit log proves itself: an edited, removed, cut, rehashed or deleted log fails `verify` (exit 1, one line),
a crash inside an append never leaves it unverifiable, and garbage never raises a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mammon.run import audit

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _log(tmp_path: Path, n: int = 4) -> Path:
    for i in range(n):
        audit.append(tmp_path, "step_done", T0, plan="sha256:abc", step=f"s{i}", status="ok")
    return tmp_path / "audit.jsonl"


def _rehash(lines: list[str]) -> list[str]:
    """What a forger with write access does: fix every hash after an edit."""
    prev, out = audit.GENESIS, []
    for n, line in enumerate(lines, start=1):
        entry = json.loads(line)
        entry["seq"], entry["prev"] = n, prev
        body = {k: v for k, v in entry.items() if k != "hash"}
        entry["hash"] = prev = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        out.append(json.dumps(entry, sort_keys=True))
    return out


def test_intact_log_verifies(tmp_path: Path) -> None:
    _log(tmp_path)
    assert audit.verify(tmp_path) == 4
    assert audit.read_anchor(tmp_path) == (4, audit.entries(tmp_path)[-1].hash)


def test_edited_line_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["status"] = "reverted"
    lines[1] = json.dumps(entry, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(audit.AuditError, match="line 2 was edited"):
        audit.verify(tmp_path)


def test_removed_middle_line_breaks_the_chain(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    with pytest.raises(audit.AuditError, match="line 2 does not follow"):
        audit.verify(tmp_path)


def test_truncated_tail_is_caught_by_the_anchor(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(audit.AuditError, match=r"log holds 3 entries but the anchor \(audit.anchor\) records entry 4: the log was cut"):
        audit.verify(tmp_path)


def test_rehashed_log_is_caught_by_the_anchor(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["status"] = "reverted"
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(_rehash(lines)) + "\n")
    with pytest.raises(audit.AuditError, match="entry 4 differs from the one the anchor"):
        audit.verify(tmp_path)


def test_cut_log_with_a_rewritten_anchor_is_caught_by_a_run_record(tmp_path: Path) -> None:
    """The forger cuts the log and rewrites the anchor to match; the run record's own anchor still says more."""
    record = tmp_path / "run.json"
    audit.append(tmp_path, "apply_started", T0, plan="sha256:abc", record=str(record))
    seq, digest = audit.append(tmp_path, "step_done", T0, plan="sha256:abc", step="s0", status="ok")
    record.write_text(json.dumps({"audit_seq": seq, "audit_hash": digest}))
    path = tmp_path / "audit.jsonl"
    first = path.read_text().splitlines()[0]
    path.write_text(first + "\n")
    (tmp_path / "audit.anchor").write_text(f"1 {json.loads(first)['hash']}\n")
    with pytest.raises(audit.AuditError, match=f"log holds 1 entries but run record {record} records entry 2: the log was cut"):
        audit.verify(tmp_path)


def test_missing_log_with_applies_in_the_state_directory_fails(tmp_path: Path) -> None:
    path = _log(tmp_path)
    path.unlink()
    with pytest.raises(audit.AuditError, match="the audit log is missing but .*audit.anchor shows 4 entries"):
        audit.verify(tmp_path)
    (tmp_path / "audit.anchor").unlink()
    assert audit.verify(tmp_path) == 0  # a state directory that never applied anything


def test_crash_between_the_line_and_the_anchor_keeps_the_log_verifiable(tmp_path: Path) -> None:
    """The log alone is the truth: an anchor that lags behind (kill -9 after the fsynced line) is fine, and the
    next append continues the sequence from the log, not from the anchor."""
    _log(tmp_path, 2)
    anchor = (tmp_path / "audit.anchor").read_text()
    audit.append(tmp_path, "step_done", T0, plan="sha256:abc", step="s2", status="ok")
    (tmp_path / "audit.anchor").write_text(anchor)  # as if killed before the anchor was replaced
    assert audit.verify(tmp_path) == 3
    seq, _ = audit.append(tmp_path, "step_done", T0, plan="sha256:abc", step="s3", status="ok")
    assert seq == 4 and audit.verify(tmp_path) == 4


def test_killed_inside_an_append_in_a_real_process(tmp_path: Path) -> None:
    code = ("import sys; from datetime import datetime, UTC; from pathlib import Path; from mammon.run import audit;"
            "[audit.append(Path(sys.argv[1]), 'e', datetime(2026, 1, 1, tzinfo=UTC), n=i) for i in range(5)]")
    env = {**os.environ, "MAMMON_TEST_KILL_AT": "audit_appended:3"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True)
    assert proc.returncode == -9
    assert audit.verify(tmp_path) == 3 and audit.read_anchor(tmp_path) is not None and audit.read_anchor(tmp_path)[0] == 2
    assert audit.append(tmp_path, "e", T0)[0] == 4 and audit.verify(tmp_path) == 4


def test_a_torn_last_line_is_ignored_then_removed(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    with open(path, "a") as fh:
        fh.write('{"seq": 3, "ev')  # a write cut short by a power loss
    assert audit.verify(tmp_path) == 2
    assert audit.append(tmp_path, "e", T0)[0] == 3
    assert audit.verify(tmp_path) == 3


@pytest.mark.parametrize("log, anchor, message", [
    (b"not json\n", None, "line 1 is not JSON"),
    (b"[1, 2]\n", None, "line 1 is not an audit entry"),
    (b"\xff\xfe\n", None, "line 1 is not JSON"),
    (b"[" * 100_000 + b"\n", None, "line 1 is not JSON"),
    (b'{"a": ' * 50_000 + b"\n", None, "line 1 is not JSON"),
    (None, "garbage", "the anchor is garbled"),
    (None, "3 " + "zz" * 32, "the anchor is garbled"),
    (None, "\xff", "the anchor is garbled"),
])
def test_garbage_is_one_line_exit_1_never_a_traceback(tmp_path: Path, mammon: object, log: bytes | None, anchor: str | None,
                                                        message: str) -> None:
    if log is not None:
        (tmp_path / "audit.jsonl").write_bytes(log)
    else:
        _log(tmp_path, 1)
    if anchor is not None:
        (tmp_path / "audit.anchor").write_bytes(anchor.encode("latin-1"))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # as importing py_ecc does: deep JSON would then crash the parser's C stack
    try:
        run = mammon("audit", "verify", "--state-dir", tmp_path, code=1)  # type: ignore[operator]
    finally:
        sys.setrecursionlimit(limit)
    assert message in run.error_line


def test_append_refuses_to_extend_a_garbled_log(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_text("not json\n")
    with pytest.raises(audit.AuditError, match="the last line is not an audit entry"):
        audit.append(tmp_path, "e", T0)


def test_verify_cli_names_a_cut_log(tmp_path: Path, mammon: object) -> None:
    path = _log(tmp_path)
    path.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n")
    run = mammon("audit", "verify", "--state-dir", tmp_path, code=1)  # type: ignore[operator]
    assert run.error_line == f"error: {path}: log holds 2 entries but the anchor (audit.anchor) records entry 4: the log was cut (truncated)"
    ok = mammon("audit", "verify", "--state-dir", tmp_path / "fresh")  # type: ignore[operator]
    assert ok.stdout.startswith("ok: 0 entries")


@pytest.mark.parametrize("entry", [
    {"seq": 1, "time": T0.isoformat(), "event": "step_done", "plan": "sha256:abc", "simulated": False, "nonce": None, "spent": {"USDC": "5", "DAI": "7"}},
    {"reason": 'quote " backslash \\ newline \n tab \t, comma: colon', "é": "ü€😀", "n": 10**80, "neg": -3, "f": 2.5, "nan": float("nan"),
     "inf": float("-inf"), "zero": -0.0, "deep": [[{"b": [1, {}], "a": []}]], "empty": ""},
])
def test_lines_and_hashes_are_json_dumps_with_sorted_keys(entry: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoders built once write exactly what json.dumps writes: old logs keep verifying, new lines read the same."""
    assert audit._line(entry) == json.dumps(entry, sort_keys=True)
    assert audit.entry_hash({**entry, "hash": "x"}) == hashlib.sha256(json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)  # where there is no C encoder: json's own
    assert audit._encoder(", ", ": ")(entry) == json.dumps(entry, sort_keys=True)


_SEALED = [  # what an event may hold, the texts the one-encoding seal works with among them (each sealed the plain way)
    {"plan": "sha256:abc", "simulated": True, "nonce": None, "spent": {"USDC": "5", "DAI": "7"}, "reason": "a, b: c"},
    {"reason": 'quote " backslash \\ newline \n tab \t, comma: colon', "é": "ü€😀", "n": 10**80, "f": 2.5, "nan": float("nan"),
     "deep": [[{"b": [1, {}], "a": []}]], "empty": "", "zero": "\x00\x01"},
    {"note": "\x02"}, {"note": "\\u0002"}, {"nested": {"hash": "\x02"}}, {"nested": [{"hash": "\x02", "z": 1}]},
    {"hash": "claimed"}, {"a": "\\\x02"}, {"time": "then"},
]


def _dumped(events: list[tuple[str, datetime, dict[str, object]]]) -> bytes:
    """The log json.dumps writes for `events` (as audit wrote it before sealing each entry in one encoding)."""
    prev, lines = audit.GENESIS, []
    for n, (event, when, data) in enumerate(events, start=1):
        entry: dict[str, object] = {"seq": n, "time": when.isoformat(), "event": event, **data, "prev": prev}
        body = {k: v for k, v in entry.items() if k != "hash"}
        entry["hash"] = prev = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        lines.append(json.dumps(entry, sort_keys=True) + "\n")
    return "".join(lines).encode()


@pytest.mark.parametrize("c_encoder", [True, False])
def test_appended_lines_are_json_dumps_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, c_encoder: bool) -> None:
    """append_many and append write exactly the bytes and hashes json.dumps gives, whatever the event holds
    (the placeholder's own text, control characters, a `hash` of its own), with or without the C encoder."""
    if not c_encoder:
        monkeypatch.setattr(audit, "_marked", None)
    elif getattr(json.encoder, "c_make_encoder", None) is not None:
        assert audit._marked is not None  # CPython: the one-encoding seal is in use
    events = [("step_done", T0, data) for data in _SEALED]
    (tmp_path / "many").mkdir()
    head = audit.append_many(tmp_path / "many", events)
    assert (tmp_path / "many" / "audit.jsonl").read_bytes() == _dumped(events)
    (tmp_path / "one").mkdir()
    for event, when, data in events:
        last = audit.append(tmp_path / "one", event, when, **data)
    assert (tmp_path / "one" / "audit.jsonl").read_bytes() == _dumped(events)
    assert last == head == (len(events), json.loads(_dumped(events).splitlines()[-1])["hash"])
    assert audit.verify(tmp_path / "many") == audit.verify(tmp_path / "one") == len(events)


def test_an_entry_longer_than_the_first_read_continues_the_chain(tmp_path: Path) -> None:
    """An append reads the log's last 64 KiB first, and further back (up to 1 MiB) when the last line starts there."""
    audit.append(tmp_path, "step_done", T0, note="x" * 200_000)
    assert audit.append(tmp_path, "step_done", T0, note="y" * 100_000)[0] == 2
    with open(tmp_path / "audit.jsonl", "a") as fh:
        fh.write('{"seq": 3, "note": "' + "z" * 100_000)  # a torn line longer than the first read
    assert audit.append(tmp_path, "e", T0)[0] == 3
    assert audit.verify(tmp_path) == 3
