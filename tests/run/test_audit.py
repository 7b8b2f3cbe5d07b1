"""The audit log catches an edited line, a removed line and a truncated tail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mammon.run import audit

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _log(tmp_path: Path, n: int = 4) -> Path:
    for i in range(n):
        audit.append(tmp_path, "step_done", T0, plan="sha256:abc", step=f"s{i}", status="ok")
    return tmp_path / "audit.jsonl"


def test_intact_log_verifies(tmp_path: Path) -> None:
    _log(tmp_path)
    assert audit.verify(tmp_path) == 4


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


def test_truncated_tail_is_caught_by_the_head(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(audit.AuditError, match="truncated"):
        audit.verify(tmp_path)
