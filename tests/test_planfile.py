"""The plan file format: YAML/JSON with one content hash, semver format_version, and plans/schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mammon import Recommendation, compile_plan, dump_plan, dumps_plan, load_plan, plan_schema
from mammon.errors import InputError, TamperedPlanError
from mammon.plan.model import FORMAT_VERSION, Plan
from mammon.plan.planfile import canonical_json, content_hash, loads, parse, seal
from mammon.units import UINT256_MAX
from mammon_test_support import NOW, ROOT, WALLET, Mammon, plan_data

SCHEMA = ROOT / "plans" / "schema.json"


@pytest.fixture(scope="module")
def plan() -> Plan:
    rec = Recommendation(from_protocol="aave_v3", to_protocol="morpho", token="USDC", amount="all", reason="test")
    return compile_plan(rec, chain="base", wallet=WALLET, now=NOW)


def test_the_python_api(plan: Plan, tmp_path: Path) -> None:
    dump_plan(plan, tmp_path / "p.yaml")
    assert load_plan(tmp_path / "p.yaml") == plan
    assert dumps_plan(plan).startswith(f"format_version: {FORMAT_VERSION}\n")


def test_dump_picks_the_format_from_the_suffix(plan: Plan, tmp_path: Path) -> None:
    dump_plan(plan, tmp_path / "p.json")
    dump_plan(plan, tmp_path / "p.yaml")
    assert json.loads((tmp_path / "p.json").read_text()) == yaml.safe_load((tmp_path / "p.yaml").read_text()) == plan_data(plan)


def test_base_unit_integers_are_strings(plan: Plan) -> None:
    """uint256 values overflow JSON numbers in most readers: every amount is written as a string."""
    data = plan_data(plan)
    withdraw = data["steps"][0]
    assert withdraw["decoded"]["args"][1] == {"name": "amount", "type": "uint256", "value": str(UINT256_MAX), "token": "USDC",
                                              "decimals": 6, "display": "all (uint256 max) USDC"}
    assert isinstance(withdraw["effects"][0]["delta"], str)
    assert isinstance(data["preconditions"][0]["value"], str)
    assert all(isinstance(v, str) for v in data["totals"]["spend"].values())


def test_hash_is_over_canonical_json(plan: Plan) -> None:
    body = plan.model_dump(mode="json", exclude={"content_hash"}, exclude_none=True)
    import hashlib

    assert plan.content_hash == "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()
    assert seal(plan) == plan, "sealing is idempotent"
    assert content_hash(plan.model_copy(update={"content_hash": "sha256:0"})) == plan.content_hash, "the hash leaves itself out"


def test_key_order_and_format_do_not_change_the_hash(plan: Plan) -> None:
    data = plan_data(plan)
    shuffled = dict(reversed(list(data.items())))
    assert parse(shuffled, where="t") == plan
    assert loads(json.dumps(shuffled)) == loads(yaml.safe_dump(shuffled)) == plan


def test_minor_versions_are_read_major_versions_refused(plan: Plan) -> None:
    major = int(FORMAT_VERSION.split(".")[0])
    newer_minor = seal(plan.model_copy(update={"format_version": f"{major}.7.0"}))
    assert parse(plan_data(newer_minor), where="t") == newer_minor
    data = plan_data(plan)
    for version, shown in ((f"{major + 1}.0.0", f"{major + 1}.0.0"), (f"{major - 1}.9.0", f"{major - 1}.9.0"), (None, "(missing)")):
        bad = {**data, "format_version": version} if version else {k: v for k, v in data.items() if k != "format_version"}
        with pytest.raises(InputError, match=rf"^t: format_version {shown.replace('(', '[(]').replace(')', '[)]')} is not supported"):
            parse(bad, where="t")


def test_not_a_plan() -> None:
    with pytest.raises(InputError, match="^t: not a plan: expected a mapping at the top level$"):
        loads("- 1\n- 2\n", where="t")


def test_any_change_breaks_the_hash(plan: Plan) -> None:
    data = plan_data(plan)
    data["steps"][-1]["gas"]["estimate"] = 1
    with pytest.raises(TamperedPlanError, match="content_hash mismatch"):
        parse(data, where="t")
    assert parse(data, where="t", verify_hash=False).steps[-1].gas.estimate == 1


# --- plans/schema.json ----------------------------------------------------------------------------


def test_schema_file_is_up_to_date(mammon: Mammon) -> None:
    out = mammon("schema").stdout
    assert json.loads(out) == plan_schema()
    assert SCHEMA.read_text(encoding="utf-8") == out, "plans/schema.json is stale: run `mammon schema > plans/schema.json`"


def _check(value: Any, schema: dict[str, Any], defs: dict[str, Any], where: str) -> None:
    """A small structural JSON Schema check (objects, arrays, strings, numbers, refs, anyOf): enough to catch
    a schema that drifts from the model."""
    if "$ref" in schema:
        return _check(value, defs[schema["$ref"].rsplit("/", 1)[1]], defs, where)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                return _check(value, option, defs, where)
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: matches no anyOf option: {errors}")
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), where
        props = schema.get("properties", {})
        assert set(schema.get("required", [])) <= set(value), f"{where}: missing {set(schema.get('required', [])) - set(value)}"
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(props), f"{where}: not in the schema: {set(value) - set(props)}"
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(item, props[key], defs, f"{where}.{key}")
            elif isinstance(extra, dict):
                _check(item, extra, defs, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            _check(item, schema.get("items", {}), defs, f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: {value!r} is not a string"
        if "enum" in schema:
            assert value in schema["enum"], where
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an integer"
    elif kind == "number":
        assert isinstance(value, (int, float)), where
    elif kind == "null":
        assert value is None, where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    if "const" in schema:
        assert value == schema["const"], where
    if "enum" in schema and kind is None:
        assert value in schema["enum"], where


@pytest.mark.parametrize("example", ["moonwell-to-aave", "aave-weth-to-morpho-usdc", "wallet-to-aerodrome-lp", "aerodrome-lp-to-morpho"])
def test_schema_describes_compiled_plans(example: str) -> None:
    from mammon import load_recommendations
    from mammon_test_support import EXAMPLES_DIR

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    plan = compile_plan(load_recommendations(EXAMPLES_DIR / f"{example}.yaml"), chain="base", wallet=WALLET, now=NOW)
    _check(plan_data(plan), schema, schema["$defs"], "plan")
