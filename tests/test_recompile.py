"""A plan is what mammon compiles: validate and apply compile it again from its own recorded inputs."""

from __future__ import annotations

from pathlib import Path

import yaml

from mammon import Recommendation, compile_plan
from mammon.compile.recompile import first_difference
from mammon.plan.planfile import load
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, plan_data, replace_step, write_plan, write_yaml


def _plan(tmp_path: Path) -> Path:
    rec = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    return write_plan(tmp_path / "plan.yaml", compile_plan(rec, chain="base", wallet=WALLET, now=NOW))


def test_a_compiled_plan_recompiles(mammon: Mammon, tmp_path: Path) -> None:
    path = _plan(tmp_path)
    assert mammon("validate", path).stdout.startswith(f"ok: {path} is valid")
    from mammon.api import validate_plan

    assert validate_plan(path, now=NOW).checks[-1] == "compiled again from its own recorded inputs: identical"


def test_an_edit_the_calldata_checks_cannot_see_is_refused_naming_the_field(mammon: Mammon, tmp_path: Path) -> None:
    """A resealed edit of a claim no derived check reads (here an expected effect) is caught by the recompile."""
    plan = load(_plan(tmp_path))
    deposit = plan.step("deposit")
    effects = [deposit.effects[0].model_copy(update={"delta": -1})] + deposit.effects[1:]
    path = write_plan(tmp_path / "edited.yaml", replace_step(plan, "deposit", effects=effects))
    index = [s.id for s in plan.steps].index("deposit")
    line = mammon.refuses("validate", path)
    assert line == (f"{path}: steps[{index}].effects[0].delta: the file says -1 but compiling the plan's own inputs gives -1000000000: "
                    "the plan is not what mammon compiles")
    assert mammon.refuses("apply", path, "--yes", "--state-dir", tmp_path / "state", "-o", tmp_path / "run.json") == line
    assert not (tmp_path / "run.json").exists()


def test_an_edited_market_snapshot_is_refused(mammon: Mammon, tmp_path: Path) -> None:
    """The recorded inputs are themselves checked: a different snapshot compiles to different amounts."""
    data = plan_data(load(_plan(tmp_path)))
    data["inputs"]["market"]["venues"]["moonwell"]["markets"]["USDC"]["exchange_rate"] = "100000000000000"
    from mammon.plan.planfile import parse, seal

    path = write_plan(tmp_path / "edited.yaml", seal(parse(data, where="x", verify_hash=False)))
    assert ": the file says" in mammon.refuses("validate", path)


def test_a_plan_without_inputs_is_refused_by_name(mammon: Mammon, tmp_path: Path) -> None:
    """show checks as validate does: a plan it cannot compile again is not shown."""
    from mammon.plan.model import FORMAT_VERSION
    from mammon.plan.planfile import parse, seal

    data = plan_data(load(_plan(tmp_path)))
    del data["inputs"]
    path = write_plan(tmp_path / "old.yaml", seal(parse(data, where="x", verify_hash=False)))
    line = (f"{path}: inputs: missing: a format {FORMAT_VERSION} plan does not record its compile inputs, so it cannot be checked by compiling it "
            "again; compile it again with this mammon")
    assert mammon.refuses("show", path) == line
    assert mammon.refuses("validate", path) == line


def test_a_format_1_plan_is_refused_by_its_version(mammon: Mammon, tmp_path: Path) -> None:
    data = plan_data(load(_plan(tmp_path)))
    data["format_version"] = "1.1.0"
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert "format_version 1.1.0 is not supported (this mammon reads 2.x)" in mammon.refuses("show", path)


def test_a_plan_compiled_with_a_chain_config_needs_it(mammon: Mammon, tmp_path: Path) -> None:
    base = yaml.safe_load((Path(__file__).parent.parent / "mammon" / "chains" / "data" / "base.yaml").read_text())
    base["protocols"]["aave_v3"]["pool"] = "0x1111111111111111111111111111111111111111"
    config = write_yaml(tmp_path / "mybase.yaml", base)
    path = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--chain", "base", "--chain-config", config, "--wallet", WALLET, "-o", path)
    mammon("validate", path, "--chain-config", config)
    # without it the registry's base is used: the call targets are refused first, then the recompile would be
    assert "not a contract of the base registry" in mammon.refuses("validate", path)
    base["protocols"]["aave_v3"]["pool_data_provider"] = "0x2222222222222222222222222222222222222222"  # same targets, other config
    other = write_yaml(tmp_path / "other.yaml", base)
    assert mammon.refuses("validate", path, "--chain-config", other).startswith(
        f"{path}: inputs.chain_config: the plan was compiled against chain config sha256:")


def test_first_difference_walks_in_field_order() -> None:
    assert first_difference({"a": 1, "b": [1, {"c": 2}]}, {"a": 1, "b": [1, {"c": 3}]}) == ("b[1].c", 2, 3)
    assert first_difference({"a": [1]}, {"a": [1, 2]}) == ("a[1]", "(missing)", 2)
    assert first_difference({"a": 1}, {"a": 1}) is None


def test_a_verification_of_another_plan_object_does_not_let_an_edited_plan_through(tmp_path: Path) -> None:
    """apply_plan skips its own recompile only for the very plan object `verify` passed (apply_file's, a moment earlier)."""
    import pytest

    from mammon.errors import TamperedPlanError
    from mammon.plan.planfile import seal
    from mammon.run.engine import ApplyOptions, apply_plan, verify
    from mammon.run.sim import SimRunner

    plan = load(_plan(tmp_path))
    deposit = plan.step("deposit")
    edited = seal(replace_step(plan, "deposit", effects=[deposit.effects[0].model_copy(update={"delta": -1})] + deposit.effects[1:]))
    (tmp_path / "state").mkdir()
    options = ApplyOptions(record_path=tmp_path / "run.json", state_dir=tmp_path / "state", now=lambda: NOW,
                           verified=verify(plan, None, now=NOW))
    with pytest.raises(TamperedPlanError, match="compiling the plan's own inputs gives"):
        apply_plan(edited, SimRunner.create(edited, now=NOW), options)
    assert not (tmp_path / "run.json").exists()
    assert apply_plan(plan, SimRunner.create(plan, now=NOW), options).status == "ok"


def test_a_chain_config_edited_into_a_new_object_gets_its_own_fingerprint() -> None:
    """The fingerprint is worked out once per config object: a changed copy is a new object, fingerprinted anew."""
    from mammon.chains import load_chain
    from mammon.compile.inputs import chain_fingerprint

    base = load_chain("base")
    protocols = {**base.protocols, "aave_v3": {**base.protocols["aave_v3"], "pool": "0x1111111111111111111111111111111111111111"}}
    edited = base.model_copy(update={"protocols": protocols})
    assert chain_fingerprint(base) == chain_fingerprint(base)
    assert chain_fingerprint(edited) != chain_fingerprint(base)


def test_a_chain_file_that_cannot_be_read_is_named_not_the_plans_chain(mammon: Mammon, tmp_path: Path) -> None:
    """MAMMON_CHAIN_CONFIG naming a missing file or a directory: the error names that file, not 'chain base is
    not in the registry' (the plan's chain is, once the file is fixed)."""
    path = _plan(tmp_path)
    missing, folder = tmp_path / "nothere.yaml", tmp_path
    assert mammon.refuses("validate", path, env={"MAMMON_CHAIN_CONFIG": str(missing)}) == f"{missing}: file not found"
    assert mammon.refuses("validate", path, env={"MAMMON_CHAIN_CONFIG": str(folder)}).startswith(f"{folder}: cannot read file")
