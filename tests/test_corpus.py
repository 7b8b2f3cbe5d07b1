"""The bad-input corpus (tests/corpus/<kind>/, written by tests/corpus/generate.py): every file is refused.

Each case runs `mammon` in-process with the case's file in place of one input and must exit with its code,
print exactly one `error: ` line holding its message fragment (nothing on stdout when refused as bad input),
raise no traceback, and leave no output: no plan written, no run record written or changed, nothing applied.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mammon.chains import DATA
from mammon.market import DEFAULT_WORLD
from mammon.plan.planfile import dumps, load, seal
from mammon.plan.model import Plan
from mammon_test_support import EXAMPLES_DIR, Mammon

CORPUS = Path(__file__).resolve().parent / "corpus"
EXAMPLE = EXAMPLES_DIR / "moonwell-to-aave.yaml"


def _cases() -> Iterator[Any]:
    for manifest in sorted(CORPUS.glob("*/cases.yaml")):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield pytest.param(manifest.parent.name, {**{"run": data["run"]}, **case}, id=f"{manifest.parent.name}/{case['file']}")


CASES = list(_cases())


def test_the_corpus_is_big_and_covers_every_kind() -> None:
    kinds = {p.values[0] for p in CASES}
    assert len(CASES) >= 300
    assert kinds >= {"recommendations", "plans", "chains", "worlds", "policies", "keys", "cli", "state", "records", "audit"}
    on_disk = {f"{p.parent.name}/{p.name}" for p in CORPUS.glob("*/*") if p.name != "cases.yaml"}
    listed = {f"{p.values[0]}/{p.values[1]['file']}" for p in CASES if not p.values[1].get("absent")}
    assert on_disk == listed, "every corpus file has a case, every case its file"


@dataclass(frozen=True)
class Bases:
    """Valid inputs the `.edit.yaml` cases start from, made once per session."""

    plan: Plan
    plan_file: Path
    record: dict[str, Any]
    world: dict[str, Any]
    chain: dict[str, Any]


@pytest.fixture(scope="session")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Bases:
    from click.testing import CliRunner

    from mammon.cli import cli

    root = tmp_path_factory.mktemp("corpus-bases")
    env = {"MAMMON_NOW": "2026-01-01T00:00:00Z"}
    plan_file = root / "plan.yaml"
    wallet = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert CliRunner().invoke(cli, ["plan", str(EXAMPLE), "--wallet", wallet, "-o", str(plan_file)], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["apply", str(plan_file), "--quiet", "--state-dir", str(root / "state"), "-o", str(root / "run.json")], env=env)
    assert result.exit_code == 0, result.output
    chain = yaml.safe_load((DATA / "base.yaml").read_text())
    chain["name"] = "myfork"
    return Bases(plan=load(plan_file), plan_file=plan_file, record=json.loads((root / "run.json").read_text()),
                 world=yaml.safe_load(DEFAULT_WORLD.read_text()), chain=chain)


def _walk(data: Any, path: str) -> tuple[Any, Any]:
    """The container holding the last part of a dotted path, and that part (an int index in lists)."""
    parts = path.split(".")
    for part in parts[:-1]:
        data = data[int(part)] if isinstance(data, list) else data[part]
    last: Any = int(parts[-1]) if isinstance(data, list) else parts[-1]
    return data, last


def materialize(spec: dict[str, Any], bases: Bases) -> bytes:
    """Apply an `.edit.yaml` spec to a fresh valid input and return the file's bytes."""
    base = spec["base"]
    data: Any = copy.deepcopy({"plan": json.loads(dumps(bases.plan, "json")) if base == "plan" else None,
                               "record": bases.record, "world": bases.world, "chain": bases.chain}[base])
    for path, value in spec.get("set", {}).items():
        parent, key = _walk(data, path)
        parent[key] = value
    for path in spec.get("delete", []):
        parent, key = _walk(data, path)
        del parent[key]
    for path, new in spec.get("rename", {}).items():
        parent, key = _walk(data, path)
        parent[new] = parent.pop(key)
    if "flip_data" in spec:
        step = data["steps"][spec["flip_data"]["step"]]
        raw = bytearray(bytes.fromhex(step["call"]["data"][2:]))
        raw[spec["flip_data"]["byte"]] ^= 0x01
        step["call"]["data"] = "0x" + raw.hex()
    if spec.get("reseal"):
        data = json.loads(dumps(seal(Plan.model_validate(data)), "json")) if _valid_plan(data) else _reseal_raw(data)
    if spec["format"] == "json":
        text = json.dumps(data, indent=2)
        if "append_json_key" in spec:
            key, value = spec["append_json_key"]
            text = text.rstrip().removesuffix("}") + f",\n  {json.dumps(key)}: {json.dumps(value)}\n}}\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    for old, new in [spec["raw_replace"]] if "raw_replace" in spec else []:
        assert old in text, f"raw_replace: {old!r} not in the base"
        text = text.replace(old, new, 1)
    return (text + spec.get("append", "")).encode("utf-8")


def _valid_plan(data: Any) -> bool:
    try:
        Plan.model_validate(data)
    except Exception:
        return False
    return True


def _reseal_raw(data: dict[str, Any]) -> dict[str, Any]:
    """The hash mammon would compute over a plan the model refuses (so the case fails on the field, not the hash)."""
    import hashlib

    from mammon.plan.planfile import canonical_json

    body = {k: v for k, v in data.items() if k != "content_hash"}
    return {**data, "content_hash": "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()}


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()} if directory.exists() else {}


@pytest.mark.parametrize(("kind", "case"), CASES)
def test_corpus_case(kind: str, case: dict[str, Any], bases: Bases, mammon: Mammon, tmp_path: Path) -> None:
    source = CORPUS / kind / case["file"]
    work, out, state = tmp_path / "work", tmp_path / "out", tmp_path / "state"
    work.mkdir()
    out.mkdir()
    state.mkdir()
    plan_file = work / "plan.yaml"
    shutil.copy(bases.plan_file, plan_file)
    name = case["file"].removesuffix(".edit.yaml") + (".json" if case["file"].endswith(".edit.yaml") and yaml.safe_load(source.read_text())["format"] == "json" else
                                                     ".yaml" if case["file"].endswith(".edit.yaml") else "")
    target = work / (name or case["file"])
    text = ""
    if not case.get("absent"):
        raw = materialize(yaml.safe_load(source.read_text(encoding="utf-8")), bases) if case["file"].endswith(".edit.yaml") else source.read_bytes()
        if "target" in case:
            target = state / case["target"]
        target.write_bytes(raw)
        text = raw.decode("utf-8", errors="replace")
    fields = {"file": str(target), "out": str(out), "state": str(state), "plan": str(plan_file), "example": str(EXAMPLE), "corpus": str(CORPUS)}
    spec = yaml.safe_load(source.read_text(encoding="utf-8")) if case["file"].endswith(".args.yaml") else None
    args = [str(a).format(**fields) for a in (spec["args"] if spec else case["run"])]
    env = {k: str(v).format(text=text, **fields) for k, v in {**case.get("env", {}), **(spec or {}).get("env", {})}.items()}
    env.setdefault("MAMMON_PRIVATE_KEY", "")  # a developer's own key never decides a case
    before = (_tree(work), _tree(state))
    run = mammon(*args, code=case["code"], env=env)
    line = run.error_line.removeprefix("error: ")
    assert case["message"] in line, f"expected {case['message']!r} in: {line}"
    if case["code"] == 2:
        assert run.stdout == "", f"a refused command printed to stdout:\n{run.stdout}"
    assert list(out.iterdir()) == [], "nothing written on refusal"
    assert _tree(work) == before[0], "no input file changed, no run record written next to the plan"
    if kind != "audit":
        assert {k for k in _tree(state) if not k.startswith(("lock-", "locks/", "audit", ".audit"))} <= set(before[1]), "nothing applied"
