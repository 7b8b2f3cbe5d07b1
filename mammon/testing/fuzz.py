"""A seeded mutation fuzzer for every file mammon reads: nothing a file holds may crash, hang or send.

Each kind starts from a valid file (a recommendation, a plan, a world, a chain config, a policy, a run
record, an audit log), mutates it (byte flips, truncations, duplicated lines, renamed keys, swapped value types, deep
nesting, huge inputs, YAML aliases, control characters, rewritten numbers) and runs the `mammon` command
that reads it, in-process through click's CliRunner. Every outcome must be: exit 0, 1 or 2 (never 3, an
internal error), no traceback, one `error:` line when refused, within `HANG_SECONDS`, and nothing written
or applied when refused. `tests/test_fuzz.py` runs a few hundred mutants per kind; `bench/fuzz.py` more.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "plans" / "examples" / "moonwell-to-aave.yaml"
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NOW = "2026-01-01T00:00:00Z"
HANG_SECONDS = 5.0

__all__ = ["KINDS", "Finding", "Fuzzer", "Outcome"]


class Hang(BaseException):
    """Raised by the alarm inside a mutant that runs too long (BaseException: the CLI edge must not catch it)."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    mutation: str
    code: int
    seconds: float
    stderr: str
    problem: str | None = None  # None: the outcome is acceptable


@dataclass
class Finding:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def problems(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problem]


# --- the valid seeds and the command that reads each --------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    suffix: str
    command: Callable[[Path, Path], list[str]]  # (mutant file, work dir) -> argv
    writes: Callable[[Path], list[Path]]  # work dir -> paths that must not exist after a refusal
    target: str = ""  # where the mutant goes in the work dir (default mutant<suffix>)


def _out(work: Path) -> list[Path]:
    return [work / "out.yaml", work / "run.json"]


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("recommendation-yaml", ".yaml", lambda f, w: ["plan", str(f), "--wallet", WALLET, "-o", str(w / "out.yaml")], _out),
    Kind("recommendation-json", ".json", lambda f, w: ["plan", str(f), "--wallet", WALLET, "-o", str(w / "out.yaml")], _out),
    Kind("plan-yaml", ".yaml", lambda f, w: ["validate", str(f)], _out),
    Kind("plan-json", ".json", lambda f, w: ["show", str(f), "--format", "json"], _out),
    Kind("plan-apply", ".yaml", lambda f, w: ["apply", str(f), "--quiet", "--state-dir", str(w / "state"), "-o", str(w / "run.json")], _out),
    Kind("world-yaml", ".yaml", lambda f, w: ["plan", str(EXAMPLE), "--wallet", WALLET, "--prices", str(f), "-o", str(w / "out.yaml")], _out),
    Kind("world-apply", ".yaml", lambda f, w: ["apply", str(w / "plan.yaml"), "--quiet", "--world", str(f), "--state-dir", str(w / "state"),
                                               "-o", str(w / "run.json")], _out),
    Kind("chain-yaml", ".yaml", lambda f, w: ["plan", str(EXAMPLE), "--wallet", WALLET, "--chain", "myfork", "--chain-config", str(f),
                                              "-o", str(w / "out.yaml")], _out),
    Kind("policy-toml", ".toml", lambda f, w: ["apply", str(w / "plan.yaml"), "--quiet", "--policy", str(f), "--state-dir", str(w / "state"),
                                               "-o", str(w / "run.json")], _out),
    Kind("record-json", ".json", lambda f, w: ["diff", str(w / "plan.yaml"), str(f)], lambda w: []),
    Kind("audit-jsonl", ".jsonl", lambda f, w: ["audit", "verify", "--state-dir", str(w / "state")], lambda w: [], "state/audit.jsonl"),
]}


def _seeds(base: Path) -> dict[str, str]:
    """The valid file of each kind (compiled and applied once, with the fixed clock)."""
    from click.testing import CliRunner

    from mammon.chains import DATA
    from mammon.cli import cli
    from mammon.market import DEFAULT_WORLD

    env = {"MAMMON_NOW": NOW, "MAMMON_PRIVATE_KEY": ""}
    plan = base / "plan.yaml"
    CliRunner().invoke(cli, ["plan", str(EXAMPLE), "--wallet", WALLET, "-o", str(plan)], env=env)
    CliRunner().invoke(cli, ["apply", str(plan), "--quiet", "--state-dir", str(base / "state"), "-o", str(base / "run.json")], env=env)
    rec = yaml.safe_load(EXAMPLE.read_text())
    chain = yaml.safe_load((DATA / "base.yaml").read_text())
    chain["name"] = "myfork"
    plan_text = plan.read_text()
    return {
        "recommendation-yaml": EXAMPLE.read_text(),
        "recommendation-json": json.dumps(rec, indent=2),
        "plan-yaml": plan_text,
        "plan-json": json.dumps(yaml.safe_load(plan_text), indent=2),
        "plan-apply": plan_text,
        "world-yaml": DEFAULT_WORLD.read_text(),
        "world-apply": DEFAULT_WORLD.read_text(),
        "chain-yaml": yaml.safe_dump(chain, sort_keys=False),
        "policy-toml": '[policy]\nmax_spend_per_plan = {USDC = "5000"}\nmax_spend_per_day = {USDC = "20000"}\n'
                       'max_slippage_bps = 100\nregistry_only = true\nallowed_contracts = []\n',
        "record-json": (base / "run.json").read_text(),
        "audit-jsonl": (base / "state" / "audit.jsonl").read_text(),
    }


# --- mutations ---------------------------------------------------------------------------------------

ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, "", "x" * 300, [], {}, [[[]]], "1,000", "1.000,50", "1e3", "1_000", "NaN",
                         "-5", "0x" + "0" * 40, "\x1b[31m", "a\nWarnings  none", "\u202e", 2**300, "9" * 80, "all", "max"]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, (*prefix, i))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _typo(key: str, rng: random.Random) -> str:
    if len(key) < 2:
        return key + "x"
    i = rng.randrange(len(key))
    return rng.choice([key[:i] + key[i + 1:], key[:i] + key[i] * 2 + key[i + 1:], key.upper(), key + "s"])


class Mutator:
    """Turns a valid text into a mutant; `structural` mutations parse, edit and re-serialise it."""

    def __init__(self, rng: random.Random, fmt: str) -> None:
        self.rng = rng
        self.fmt = fmt

    def mutate(self, text: str) -> tuple[str, bytes]:
        name = self.rng.choice(self.NAMES)
        return name, getattr(self, name)(text)

    NAMES = ["byte_flip", "byte_insert", "truncate", "duplicate_line", "delete_line", "rename_key", "swap_type", "deep_nesting",
             "huge_input", "alias", "control_chars", "rewrite_number", "swap_type", "rename_key", "byte_flip"]

    # text mutations
    def byte_flip(self, text: str) -> bytes:
        raw = bytearray(text.encode())
        for _ in range(self.rng.randint(1, 3)):
            raw[self.rng.randrange(len(raw))] ^= 1 << self.rng.randrange(8)
        return bytes(raw)

    def byte_insert(self, text: str) -> bytes:
        raw = bytearray(text.encode())
        raw.insert(self.rng.randrange(len(raw) + 1), self.rng.choice([0, 7, 0x1B, 0x7F, 0xFF, 0xC3, ord("{"), ord("["), ord(":"), ord("&"), ord("*")]))
        return bytes(raw)

    def truncate(self, text: str) -> bytes:
        return text.encode()[: self.rng.randrange(len(text))]

    def duplicate_line(self, text: str) -> bytes:
        lines = text.splitlines(keepends=True)
        i = self.rng.randrange(len(lines))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]).encode()

    def delete_line(self, text: str) -> bytes:
        lines = text.splitlines(keepends=True)
        del lines[self.rng.randrange(len(lines))]
        return "".join(lines).encode()

    def huge_input(self, text: str) -> bytes:
        size = self.rng.choice([3_000_000, 5_000_000])
        filler = {"json": " " * 100, "jsonl": '{"x": "' + "x" * 91 + '"}\n'}.get(self.fmt, "#" + "x" * 99 + "\n")
        return (text + filler * (size // 100)).encode()

    def alias(self, text: str) -> bytes:
        if self.fmt != "yaml":
            return self.byte_insert(text)
        bomb = 'lol: &a ["l","l","l","l","l","l","l","l","l"]\n' + "".join(
            f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefg", "bcdefgh"))
        return (text + bomb).encode()

    # structural mutations
    def _load(self, text: str) -> Any:
        if self.fmt == "jsonl":
            return [json.loads(line) for line in text.splitlines()]
        if self.fmt == "json":
            return json.loads(text)
        if self.fmt == "toml":
            import tomllib

            return tomllib.loads(text)
        return yaml.safe_load(text)

    def _dump(self, data: Any) -> bytes:
        if self.fmt == "jsonl":
            return "".join(json.dumps(entry, sort_keys=True, default=str) + "\n" for entry in data).encode()
        if self.fmt == "json":
            return json.dumps(data, indent=1, default=str).encode()
        if self.fmt == "toml":
            return _toml(data).encode()
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()

    def _edit(self, text: str, edit: Callable[[Any, tuple[Any, ...]], None], want: type | tuple[type, ...] = object) -> bytes:
        data = self._load(text)
        paths = [p for p in _paths(data) if p and isinstance(_get(data, p[:-1]), (dict, list)) and isinstance(_get(data, p), want)]
        if not paths:
            return self.byte_flip(text)
        edit(data, self.rng.choice(paths))
        return self._dump(data)

    def rename_key(self, text: str) -> bytes:
        def edit(data: Any, path: tuple[Any, ...]) -> None:
            parent = _get(data, path[:-1])
            if isinstance(parent, dict):
                parent[_typo(str(path[-1]), self.rng)] = parent.pop(path[-1])
        return self._edit(text, edit)

    def swap_type(self, text: str) -> bytes:
        def edit(data: Any, path: tuple[Any, ...]) -> None:
            value = self.rng.choice(ODD_VALUES)
            _get(data, path[:-1])[path[-1]] = value if self.fmt != "toml" or value is not None else "null"
        return self._edit(text, edit)

    def deep_nesting(self, text: str) -> bytes:
        depth = self.rng.choice([70, 500, 5000, 100_000])
        if self.fmt == "yaml":
            return (text.rstrip("\n") + "\nzz_deep: " + "[" * depth + "]" * depth + "\n").encode()
        if self.fmt == "toml":
            return (text + "deep = " + "[" * depth + "]" * depth + "\n").encode()
        if self.fmt == "jsonl":
            return (text + "[" * depth + "]" * depth + "\n").encode()
        return (text.rstrip().removesuffix("}") + ', "zz_deep": ' + "[" * depth + "]" * depth + "}").encode()

    def control_chars(self, text: str) -> bytes:
        def edit(data: Any, path: tuple[Any, ...]) -> None:
            parent = _get(data, path[:-1])
            parent[path[-1]] = str(parent[path[-1]]) + self.rng.choice(["\n", "\x1b[2J", "\u202e", "\r", "\u2028", "\x00"])
        return self._edit(text, edit, str)

    def rewrite_number(self, text: str) -> bytes:
        def edit(data: Any, path: tuple[Any, ...]) -> None:
            parent = _get(data, path[:-1])
            digits = str(parent[path[-1]])
            parent[path[-1]] = self.rng.choice([f"{digits[:1]},{digits[1:]}0", f"{digits}_0", f"{digits}e0", f" {digits}", f"0{digits}",
                                                 digits.replace(".", ","), f"-{digits}", f"{digits}.", f"{digits}.000000000000000000001"])
        data = self._load(text)
        numeric = [p for p in _paths(data) if p and isinstance(_get(data, p), (str, int)) and not isinstance(_get(data, p), bool)
                   and str(_get(data, p)).replace(".", "", 1).isdigit()]
        if not numeric:
            return self.byte_flip(text)
        edit(data, self.rng.choice(numeric))
        return self._dump(data)


def _toml(data: dict[str, Any]) -> str:
    """Enough TOML for the policy file (tables of scalars, inline tables and arrays)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))
    lines = []
    for table, body in data.items():
        if isinstance(body, dict):
            lines.append(f"[{json.dumps(str(table))}]")
            lines += [f"{json.dumps(str(k))} = {value(v)}" for k, v in body.items()]
        else:
            lines.insert(0, f"{json.dumps(str(table))} = {value(body)}")
    return "\n".join(lines) + "\n"


# --- running ------------------------------------------------------------------------------------------


class Fuzzer:
    """Runs seeded mutants of every kind in-process; collects outcomes (and problems) without stopping."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._base = Path(tempfile.mkdtemp(prefix="mammon-fuzz-"))
        self.seeds = _seeds(self._base)

    def close(self) -> None:
        shutil.rmtree(self._base, ignore_errors=True)

    def run(self, kind: str, count: int) -> Finding:
        k = KINDS[kind]
        fmt = {".json": "json", ".jsonl": "jsonl", ".toml": "toml"}.get(k.suffix, "yaml")
        rng = random.Random(f"{self.seed}:{kind}")
        finding = Finding()
        for n in range(count):
            name, mutant = Mutator(rng, fmt).mutate(self.seeds[kind])
            finding.outcomes.append(self.one(k, f"{name}#{n}", mutant))
        return finding

    def one(self, kind: Kind, mutation: str, mutant: bytes) -> Outcome:
        from click.testing import CliRunner

        from mammon.cli import cli

        work = Path(tempfile.mkdtemp(dir=self._base))
        try:
            shutil.copy(self._base / "plan.yaml", work / "plan.yaml")
            target = work / (kind.target or f"mutant{kind.suffix}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(mutant)
            argv = kind.command(target, work)
            plan_before = (work / "plan.yaml").read_bytes()
            previous = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS * 4)
            start = time.monotonic()
            try:
                result = CliRunner().invoke(cli, argv, env={"MAMMON_NOW": NOW, "MAMMON_PRIVATE_KEY": "", "MAMMON_DEBUG": ""})
            except Hang:
                return Outcome(kind.name, mutation, -1, time.monotonic() - start, "", "hang: no answer within 4x the limit")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            seconds = time.monotonic() - start
            stderr = result.stderr
            problem = None
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                problem = f"exception escaped: {result.exception!r}"
            elif result.exit_code not in (0, 1, 2):
                problem = f"exit {result.exit_code}: {stderr.strip()[:300]}"
            elif "Traceback" in result.stdout + stderr:
                problem = "traceback printed"
            elif seconds > HANG_SECONDS:
                problem = f"took {seconds:.1f} s"
            elif result.exit_code == 2 and (len(stderr.splitlines()) != 1 or not stderr.startswith("error: ") or result.stdout):
                problem = f"refusal is not one error line: {stderr[:300]!r}"
            elif result.exit_code == 1 and stderr and (len(stderr.splitlines()) != 1 or not stderr.startswith("error: ")):
                problem = f"a failed check is not one error line: {stderr[:300]!r}"
            elif result.exit_code == 2 and any(p.exists() for p in kind.writes(work)):
                problem = "refused, yet wrote an output or a run record"
            elif (work / "plan.yaml").read_bytes() != plan_before:
                problem = "the plan file changed"
            return Outcome(kind.name, mutation, result.exit_code, seconds, stderr.strip()[:300], problem)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hang()
