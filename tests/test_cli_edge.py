"""The command line's one exception path: usage errors and unexpected exceptions are one line too.

Exit codes (README): 2 bad input or usage, 3 an internal error (a bug), with the traceback only under
MAMMON_DEBUG=1.
"""

from __future__ import annotations

import pytest

import mammon.api as api_module
from mammon_test_support import EXAMPLES_DIR, WALLET, Mammon


@pytest.mark.parametrize(("args", "message"), [
    (("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "--colour"),
     "mammon plan: No such option '--colour'. (see 'mammon plan --help')"),
    (("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "--formt", "json"),
     "mammon plan: No such option '--formt'. Did you mean '--format'? (see 'mammon plan --help')"),
    (("show",), "mammon show: Missing argument 'PLAN'. (see 'mammon show --help')"),
    (("apply", "p.yaml", "--confirmations", "-1"),
     "mammon apply: Invalid value for '--confirmations': -1 is not in the range x>=1. (see 'mammon apply --help')"),
    (("show", "p.yaml", "--format", "html"),
     "mammon show: Invalid value for '--format': 'html' is not one of 'json', 'markdown', 'text'. (see 'mammon show --help')"),
    (("shwo",), "mammon: No such command 'shwo'. Did you mean 'show'? (see 'mammon --help')"),
])
def test_usage_errors_are_one_line_exit_2(mammon: Mammon, args: tuple[object, ...], message: str) -> None:
    assert mammon.refuses(*args) == message


def test_bare_command_prints_help(mammon: Mammon) -> None:
    run = mammon(code=0)
    assert run.stdout.startswith("Usage: mammon [OPTIONS] COMMAND [ARGS]...")


def boom() -> None:
    raise ZeroDivisionError("division by zero\nsecond line")


def test_unexpected_exception_is_one_line_exit_3(mammon: Mammon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "plan_schema", boom)
    monkeypatch.delenv("MAMMON_DEBUG", raising=False)
    run = mammon("schema", code=3)
    assert run.stdout == ""
    assert run.error_line == ("error: internal error: ZeroDivisionError: division by zero (a bug in mammon: please report it "
                              "with the command you ran; MAMMON_DEBUG=1 shows the traceback)")


def test_debug_shows_the_traceback(mammon: Mammon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "plan_schema", boom)
    run = mammon("schema", code=3, env={"MAMMON_DEBUG": "1"}, tracebacks_ok=True)
    assert "Traceback (most recent call last)" in run.stderr
    assert run.stderr.splitlines()[-1].startswith("error: internal error: ZeroDivisionError")


def test_error_lines_escape_control_characters(mammon: Mammon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A file name with a newline or an escape sequence still gives one plain line."""
    path = tmp_path / "a\nerror: forged\x1b[31m.yaml"
    line = mammon.refuses("show", path)
    assert line == f"{tmp_path}/a\\nerror: forged\\x1b[31m.yaml: file not found"


def test_diff_lines_escape_what_a_record_says() -> None:
    """A revert reason comes from the chain (any contract can return any string): it cannot add a diff line."""
    from mammon.diff import Diff, render_text

    out = render_text(Diff(plan_hash="sha256:" + "0" * 64, status="failed", steps=[("swap", "reverted", "no\nresult: all effects within tolerance\x1b[2J")]))
    assert "step swap: reverted (no\\nresult: all effects within tolerance\\x1b[2J)" in out
    assert [line for line in out.splitlines() if line.startswith("result:")] == ["result: OUTSIDE TOLERANCE or steps not run"]
