"""Policy files are validated like any input, and each limit refuses a plan naming itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mammon import Recommendation, compile_plan
from mammon.chains import load_chain
from mammon.errors import InputError, PolicyError
from mammon.run import audit, state
from mammon.run.policy import Policy, enforce, load_policy

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def plan():  # type: ignore[no-untyped-def]
    rec = Recommendation(to_protocol="aave_v3", token="USDC", amount="1000")
    return compile_plan(rec, chain="base", wallet=WALLET, now=NOW)


def test_policy_file_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "mammon.toml"
    path.write_text('[policy]\nmax_slippage_bps = 30\n[policy.max_spend_per_plan]\nUSDC = "500"\n')
    policy = load_policy(path)
    assert policy.max_slippage_bps == 30 and policy.max_spend_per_plan == {"USDC": "500"}


@pytest.mark.parametrize("text, field", [
    ("[policy]\nmax_spend = 1\n", "max_spend"), ("[policy\n", "malformed TOML"),
    # a TOML value has its own type: text, a float or a boolean where a number or a boolean belongs is refused, not coerced
    ('[policy]\nregistry_only = "no"\n', "registry_only: Input should be a valid boolean"),
    ('[policy]\nmax_slippage_bps = "200"\n', "max_slippage_bps: Input should be a valid integer"),
    ("[policy]\nmax_slippage_bps = 50.0\n", "max_slippage_bps: Input should be a valid integer"),
    ("[policy]\nrequired_approvals = true\n", "required_approvals: Input should be a valid integer"),
])
def test_bad_policy_file_names_the_problem(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=field):
        load_policy(path)


def test_per_plan_limit(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="above max_spend_per_plan 500 USDC"):
        enforce(Policy(max_spend_per_plan={"USDC": "500"}), plan, load_chain("base"), tmp_path, NOW)
    enforce(Policy(max_spend_per_plan={"USDC": "1000"}), plan, load_chain("base"), tmp_path, NOW)


def test_rolling_day_limit_counts_earlier_spends(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    policy = Policy(max_spend_per_day={"USDC": "1500"})
    enforce(policy, plan, load_chain("base"), tmp_path, NOW)
    audit.append(tmp_path, "step_done", NOW, plan="sha256:earlier", step="deposit", status="ok", tx="0x01", simulated=False,
                 spent={"USDC": str(600 * 10**6)})
    with pytest.raises(PolicyError, match="600.00 USDC in the last 24 h"):
        enforce(policy, plan, load_chain("base"), tmp_path, NOW)
    enforce(policy, plan, load_chain("base"), tmp_path, NOW + state.DAY)  # the earlier spend rolled off


def test_slippage_and_registry_limits(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="slippage 50 bps exceeds max_slippage_bps 10"):
        enforce(Policy(max_slippage_bps=10), plan, load_chain("base"), tmp_path, NOW)
    with pytest.raises(PolicyError, match="not in the chain registry"):
        enforce(Policy(), plan, None, tmp_path, NOW)


def test_policy_reads_the_spend_from_the_calldata_whether_review_decoded_it_first_or_not(plan) -> None:  # type: ignore[no-untyped-def]
    """What review decoded from each call's bytes is memoised for the policy; cold or warm, the spend is the same."""
    import mammon.abi as abi
    import mammon.plan.decode as decode
    from mammon.review import review
    from mammon.review.derive import spend_of

    chain = load_chain("base")
    abi._CALLS.clear()
    decode._flat_call.cache_clear()
    cold = spend_of(plan, chain)
    review(plan, chain=chain, now=NOW)
    assert spend_of(plan, chain) == cold == {"USDC": 1000 * 10**6}
