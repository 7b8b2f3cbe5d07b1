"""Reviewed means signed: `mammon approve` and a policy's required_approvals; and a policy file that is strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mammon import Recommendation, compile_plan
from mammon.chains import load_chain
from mammon.errors import InputError, PolicyError
from mammon.run.policy import Policy, enforce, load_policy
from mammon_test_support import NOW, WALLET, Mammon, write_plan

# anvil's well-known public test keys and their addresses
KEY0, ADDR0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY1, ADDR1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
KEY2 = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"


@pytest.fixture
def plan_path(tmp_path: Path) -> Path:
    rec = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    return write_plan(tmp_path / "plan.yaml", compile_plan(rec, chain="base", wallet=WALLET, now=NOW))


def _policy(tmp_path: Path, required: int, approvers: list[str]) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(f"[policy]\nrequired_approvals = {required}\napprovers = {json.dumps(approvers)}\n")
    return path


def _apply(mammon: Mammon, plan_path: Path, policy: Path, code: int = 0) -> str:
    run = mammon("apply", plan_path, "--yes", "--policy", policy, "--state-dir", plan_path.parent / "state",
                 "-o", plan_path.parent / "run.json", code=code)
    return run.stderr if code else run.stdout


def test_apply_needs_the_required_approvals(mammon: Mammon, plan_path: Path, tmp_path: Path) -> None:
    policy = _policy(tmp_path, 2, [ADDR0, ADDR1])
    assert "required_approvals is 2 of 2 approvers, but 0 approved plan" in mammon.refuses(
        "apply", plan_path, "--yes", "--policy", policy, "--state-dir", tmp_path / "state", "-o", tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()
    run = mammon("approve", plan_path, env={"MAMMON_PRIVATE_KEY": KEY0})
    assert run.stdout.startswith("approved sha256:") and ADDR0 in run.stdout
    sidecar = tmp_path / "plan.approvals.json"
    assert KEY0[2:] not in sidecar.read_text(), "only the signature is written"
    mammon("approve", plan_path, env={"MAMMON_PRIVATE_KEY": KEY2})  # not an approver: does not count
    assert "but 1 approved plan" in mammon.refuses(
        "apply", plan_path, "--yes", "--policy", policy, "--state-dir", tmp_path / "state", "-o", tmp_path / "run.json")
    mammon("approve", plan_path, env={"MAMMON_PRIVATE_KEY": KEY1})
    assert "result: all effects within tolerance" in _apply(mammon, plan_path, policy)


def test_a_forged_or_foreign_signature_does_not_count(mammon: Mammon, plan_path: Path, tmp_path: Path) -> None:
    policy = _policy(tmp_path, 1, [ADDR1])
    mammon("approve", plan_path, env={"MAMMON_PRIVATE_KEY": KEY0})  # signed by ADDR0 ...
    sidecar = tmp_path / "plan.approvals.json"
    data = json.loads(sidecar.read_text())
    data["approvals"][0]["signer"] = ADDR1  # ... claimed to be ADDR1
    sidecar.write_text(json.dumps(data))
    assert "but 0 approved plan" in mammon.refuses("apply", plan_path, "--yes", "--policy", policy, "--state-dir", tmp_path / "s")
    data["approvals"][0].update(signer=ADDR0, plan="sha256:" + "0" * 64)  # a signature over another plan
    sidecar.write_text(json.dumps(data))
    assert "but 0 approved plan" in mammon.refuses("apply", plan_path, "--yes", "--policy", policy, "--state-dir", tmp_path / "s")


def test_approve_refuses_an_invalid_plan(mammon: Mammon, plan_path: Path, tmp_path: Path) -> None:
    plan_path.write_text(plan_path.read_text().replace("referralCode", "referralcode", 1))
    mammon.refuses("approve", plan_path, env={"MAMMON_PRIVATE_KEY": KEY0})
    assert not (tmp_path / "plan.approvals.json").exists()


def test_more_required_than_listed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="required_approvals is 2 but only 1 approvers are listed"):
        load_policy(_policy(tmp_path, 2, [ADDR0]))


@pytest.mark.parametrize(("text", "message"), [
    ('[polcy]\nmax_spend_per_plan = { USDC = "1" }\n', "unknown table '[polcy]'; did you mean '[policy]'?"),
    ('[policy]\nmax_spend_per_plam = { USDC = "1" }\n', "[policy]: max_spend_per_plam: unknown field; did you mean 'max_spend_per_plan'?"),
    ('[policy]\nrequired_aprovals = 1\n', "required_aprovals: unknown field; did you mean 'required_approvals'?"),
])
def test_policy_file_typos_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mammon.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert message in str(err.value)


def test_policy_token_keys_are_case_normalised_or_refused(tmp_path: Path) -> None:
    plan = compile_plan(Recommendation(to_protocol="aave_v3", token="USDC", amount="1000"), chain="base", wallet=WALLET, now=NOW)
    base = load_chain("base")
    with pytest.raises(PolicyError, match="above max_spend_per_plan 500 USDC"):
        enforce(Policy(max_spend_per_plan={"usdc": "500"}), plan, base, tmp_path, NOW)
    with pytest.raises(InputError, match=r"policy.max_spend_per_day: unknown token 'USDX'; did you mean 'USDC'\?"):
        enforce(Policy(max_spend_per_day={"USDX": "500"}), plan, base, tmp_path, NOW)
