"""Chain configs are strict and friendly (issue #8, cause 6).

Unknown keys are refused with the file, the key path and the nearest known key; addresses must carry a
valid checksum; a Uniswap V3 init code hash must be 32 bytes; `--chain-config FILE` alone selects the
chain it defines; a config given once (MAMMON_CHAIN_CONFIG or mammon.toml) serves plan, show, validate
and apply, which find the plan's chain there by its id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mammon.chains import load_chain_file
from mammon.errors import InputError
from mammon_test_support import EXAMPLES_DIR, ROOT, WALLET, Mammon

BASE = ROOT / "mammon" / "chains" / "data" / "base.yaml"


def my_chain(tmp_path: Path, edit: Any = None, *, name: str = "mychain", chain_id: int = 7777) -> Path:
    """Base's registry under another name and id (a user's own chain), optionally edited."""
    data = yaml.safe_load(BASE.read_text())
    data["name"], data["chain_id"] = name, chain_id
    if edit:
        edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["protocols"]["morpho"]["vaults"]["moonwell_flagship_usdc_v1"].update(adress=d["protocols"]["morpho"]["vaults"]["moonwell_flagship_usdc_v1"].pop("address")),
     "protocols.morpho.vaults.moonwell_flagship_usdc_v1.adress: unknown key; did you mean 'address'?"),
    (lambda d: d["protocols"]["uniswap_v3"].update(pool_init_codehash=d["protocols"]["uniswap_v3"].pop("pool_init_code_hash")),
     "protocols.uniswap_v3.pool_init_codehash: unknown key; did you mean 'pool_init_code_hash'?"),
    (lambda d: d.update(chainid=d.pop("chain_id")), "chainid: unknown key; did you mean 'chain_id'?"),
    (lambda d: d["protocols"].update(aave_v4=d["protocols"].pop("aave_v3")), "protocols.aave_v4: unknown protocol; did you mean 'aave_v3'?"),
    (lambda d: d["tokens"][0].update(decimal=6), "tokens[0].decimal: unknown key; did you mean 'decimals'?"),
])
def test_unknown_keys_are_refused_with_path_and_nearest_key(tmp_path: Path, edit: Any, message: str, mammon: Mammon) -> None:
    path = my_chain(tmp_path, edit)
    with pytest.raises(InputError) as exc:
        load_chain_file(path)
    assert str(exc.value) == f"{path}: {message}"
    line = mammon.refuses("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "--chain-config", path)
    assert line == f"{path}: {message}"


def test_every_unknown_key_is_reported_at_once(tmp_path: Path) -> None:
    def two(d: dict[str, Any]) -> None:
        d["protocols"]["aave_v3"]["pooll"] = d["protocols"]["aave_v3"]["pool"]
        d["protocols"]["moonwell"]["market"] = {}

    with pytest.raises(InputError) as exc:
        load_chain_file(my_chain(tmp_path, two))
    assert "protocols.aave_v3.pooll: unknown key; did you mean 'pool'?" in str(exc.value)
    assert "protocols.moonwell.market: unknown key; did you mean 'markets'?" in str(exc.value)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["protocols"]["aave_v3"].update(pool="0xa238dd80c259a72e81d7e4664a9801593f98D1c5"),
     "protocols.aave_v3: pool: 0xa238dd80c259a72e81d7e4664a9801593f98D1c5 has a bad EIP-55 checksum"),
    (lambda d: d["protocols"]["uniswap_v3"].update(pool_init_code_hash="0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b"),
     "protocols.uniswap_v3: pool_init_code_hash: '0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b' is not a 32-byte hash"),
    (lambda d: d["protocols"]["morpho"]["vaults"]["moonwell_flagship_usdc_v1"].update(kind="metamorpho"),
     "protocols.morpho: vaults.moonwell_flagship_usdc_v1.kind: Input should be 'erc4626', 'metamorpho_v1' or 'vault_v2'"),
])
def test_bad_values_are_refused_naming_the_section(tmp_path: Path, edit: Any, message: str) -> None:
    path = my_chain(tmp_path, edit)
    with pytest.raises(InputError) as exc:
        load_chain_file(path)
    assert f"{path}: {message}" in str(exc.value)


def test_the_shipped_registry_files_are_strictly_valid() -> None:
    for path in sorted((ROOT / "mammon" / "chains" / "data").glob("*.yaml")):
        assert load_chain_file(path).protocols


def test_a_loaded_config_cannot_be_changed_in_place() -> None:
    """A loaded config is shared and what compile derives from it is cached per object: a change is refused, a copy is new."""
    from pydantic import ValidationError

    base = load_chain_file(ROOT / "mammon" / "chains" / "data" / "base.yaml")
    with pytest.raises(ValidationError, match="frozen"):
        base.rpc_url = "http://127.0.0.1:8545"
    assert base.model_copy(update={"rpc_url": "http://127.0.0.1:8545"}).rpc_url == "http://127.0.0.1:8545"
    assert base.rpc_url is None


def test_chain_config_alone_selects_its_chain(tmp_path: Path, mammon: Mammon) -> None:
    path = my_chain(tmp_path)
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "--chain-config", path, "-o", out)
    plan = yaml.safe_load(out.read_text())
    assert plan["chain"] == {"id": 7777, "name": "mychain"}


def test_a_config_given_once_serves_every_command(tmp_path: Path, mammon: Mammon, monkeypatch: pytest.MonkeyPatch) -> None:
    path = my_chain(tmp_path)
    out = tmp_path / "plan.yaml"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mammon.toml").write_text(f'[chains]\nconfig = "{path.name}"\n')
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "-o", out)
    assert yaml.safe_load(out.read_text())["chain"]["id"] == 7777
    assert "Warnings  none" in mammon("show", out).stdout
    run = mammon("validate", out)
    assert run.stdout.startswith("ok:") and run.stderr == ""
    applied = mammon("apply", out, "--runner", "sim", "--state-dir", tmp_path / "state", "--quiet")
    assert "result: all effects within tolerance" in applied.stdout
    # the same through the environment, from another directory: found by the plan's chain id
    (tmp_path / "mammon.toml").unlink()
    monkeypatch.setenv("MAMMON_CHAIN_CONFIG", str(path))
    assert "Warnings  none" in mammon("show", out).stdout


def test_without_the_config_the_plans_chain_is_unknown(tmp_path: Path, mammon: Mammon, monkeypatch: pytest.MonkeyPatch) -> None:
    path = my_chain(tmp_path)
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "--chain-config", path, "-o", out)
    monkeypatch.chdir(tmp_path)
    assert "chain mychain is not in the registry, so the plan cannot be compiled again to check it" in mammon.refuses("show", out)


def test_mammon_toml_chains_table_is_strict(tmp_path: Path, mammon: Mammon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mammon.toml").write_text('[chains]\nconfigs = "x.yaml"\n')
    line = mammon.refuses("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET)
    assert line == "mammon.toml: [chains] has unknown key(s) configs; known: config"
