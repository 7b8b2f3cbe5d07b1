"""Shared fixtures: a fixed clock, the `mammon` command run in-process, and the example recommendations.

Every test runs with MAMMON_NOW pinned to `NOW`, so created_at/valid_until, deadlines and content hashes
are the same on every run (the snapshots depend on it). A test directory that needs the real clock (a
devnet whose blocks carry today's timestamps) overrides it in its own conftest with an autouse fixture
calling `monkeypatch.delenv("MAMMON_NOW")`; inner autouse fixtures run after this one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mammon.abi import decode_call
from mammon.cli import cli
from mammon.plan.model import Plan, Step
from mammon.plan.planfile import dumps, seal

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "plans" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NOW_TEXT = "2026-01-01T00:00:00Z"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Pin mammon's clock (and keep the developer's own MAMMON_WALLET out of the tests)."""
    monkeypatch.setenv("MAMMON_NOW", NOW_TEXT)
    monkeypatch.delenv("MAMMON_WALLET", raising=False)
    return NOW


@pytest.fixture(autouse=True)
def state_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test its own per-user state directory (never the developer's ~/.local/state/mammon)."""
    directory = tmp_path_factory.mktemp("state-home")
    monkeypatch.setenv("MAMMON_STATE_DIR", str(directory / "mammon"))
    monkeypatch.setenv("MAMMON_RPC_BACKOFF", "0.01")  # retries stay, their waits shrink
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return directory / "mammon"


@dataclass(frozen=True)
class Run:
    """One `mammon` invocation: exit code and the two streams, kept apart."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The single stderr line of a refused command (asserts there is exactly one)."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{self.stderr}"
        return lines[0]


class Mammon:
    """Runs `mammon ARGS...` in-process with click's CliRunner and checks what every run must satisfy."""

    def __call__(self, *args: object, code: int | None = 0, env: dict[str, str] | None = None, tracebacks_ok: bool = False) -> Run:
        argv = tuple(str(a) for a in args)
        result = CliRunner().invoke(cli, list(argv), prog_name="mammon", env=env, catch_exceptions=True)
        exc = result.exception
        if exc is not None and not isinstance(exc, SystemExit):
            raise AssertionError(f"mammon {' '.join(argv)} raised {exc!r} (a traceback, not a clean error)") from exc
        run = Run(argv, result.exit_code, result.stdout, result.stderr)
        assert tracebacks_ok or "Traceback" not in run.stdout + run.stderr
        if code is not None:
            assert run.code == code, f"mammon {' '.join(argv)}: exit {run.code}, expected {code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
        return run

    def refuses(self, *args: object, env: dict[str, str] | None = None) -> str:
        """Run a command that must be refused as bad input: exit 2, one `error: ...` line on stderr, nothing else."""
        run = self(*args, code=2, env=env)
        line = run.error_line
        assert line.startswith("error: "), line
        assert run.stdout == "", f"a refused command printed to stdout:\n{run.stdout}"
        return line.removeprefix("error: ")


@pytest.fixture
def mammon() -> Mammon:
    return Mammon()


# --- helpers for tests that edit plans ------------------------------------------------------------


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as the mapping a file holds (JSON types), for editing."""
    return json.loads(dumps(plan, "json"))


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_plan(path: Path, plan: Plan, *, reseal: bool = True) -> Path:
    """Write `plan` (re-sealing its hash unless told not to) as YAML or JSON by the suffix."""
    plan = seal(plan) if reseal else plan
    path.write_text(dumps(plan, "json" if path.suffix == ".json" else "yaml"), encoding="utf-8")
    return path


def replace_step(plan: Plan, step_id: str, **update: Any) -> Plan:
    steps = [s.model_copy(update=update) if s.id == step_id else s for s in plan.steps]
    return plan.model_copy(update={"steps": steps})


def decoded_args(step: Step) -> dict[str, Any]:
    """The step's call arguments decoded from its bytes (tuples as dicts)."""
    _, args = decode_call(step.call.data)
    return args


def arg(step: Step, name: str) -> int | str:
    """A flattened argument of the stored view by dotted name, integers as int."""
    for a in step.decoded.args:
        if a.name == name:
            return int(a.value) if a.type.startswith("uint") else a.value
    raise KeyError(f"step {step.id} has no argument {name}")


def reverting(w3: Any) -> Iterator[Any]:
    """Yield `w3` and undo every chain change made meanwhile (anvil's evm_snapshot / evm_revert)."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield w3
    w3.provider.make_request("evm_revert", [snap])


def require_anvil(what: str) -> None:
    """Skip without anvil (node_modules not installed), or fail when MAMMON_REQUIRE_ANVIL=1 (as CI sets)."""
    import os

    from mammon.devnet.anvil import find_anvil
    from mammon.errors import DevnetError

    try:
        find_anvil()
    except DevnetError as exc:
        if os.environ.get("MAMMON_REQUIRE_ANVIL") == "1":
            pytest.fail(f"MAMMON_REQUIRE_ANVIL=1 but the {what} cannot run: {exc}")
        pytest.skip(f"{what} need anvil from npm ({exc}); set MAMMON_REQUIRE_ANVIL=1 to fail instead")


@pytest.fixture
def examples() -> Iterator[list[Path]]:
    yield EXAMPLES


def cli_probe(setup: str = "") -> str:
    """A script for `python -c SCRIPT ARGS...`: runs `mammon ARGS` in that fresh interpreter, then prints to stderr,
    as one JSON line, its exit code, the top-level packages it imported and whatever `setup` (run first, before
    mammon.cli is imported) put in the dict `report` (`probe_report` reads it back)."""
    return "import json, sys\nreport = {}\n" + setup + """
from mammon.cli import cli
try:
    cli(sys.argv[1:], prog_name="mammon")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({**report, "code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""


def probe_report(stderr: str) -> dict[str, Any]:
    """What a `cli_probe` script reported (its last line on stderr)."""
    report: dict[str, Any] = json.loads(stderr.strip().splitlines()[-1])
    return report


# Test modules import the helpers above as `from mammon_test_support import ...`: several conftest.py files
# (tests/, tests/devnet/) share the module name `conftest`, so `from conftest import` would find the wrong one.
sys.modules.setdefault("mammon_test_support", sys.modules[__name__])
