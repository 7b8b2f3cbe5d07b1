"""Trust nothing the file claims: a resealed plan edited by an attacker is refused by show, validate and apply.

Each edit keeps the calldata and the decoded view consistent and re-seals the content hash (see
`attacks.py`); the same edits are run against a real chain in tests/rpc/test_attacks_rpc.py.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from attacks import ROWS, totals_spend_zero
from mammon import Recommendation, compile_plan
from mammon.chains import load_chain
from mammon.errors import PolicyError
from mammon.plan.planfile import seal
from mammon.run.policy import Policy, enforce
from mammon_test_support import NOW, WALLET, Mammon, write_plan

POLICY = '[policy]\nmax_spend_per_plan = { USDC = "5000" }\n'


@pytest.mark.parametrize("row", sorted(ROWS))
def test_attack_is_refused_before_anything_runs(row: str, mammon: Mammon, tmp_path: Path) -> None:
    edit, rec, fragment = ROWS[row]
    chain = load_chain("base")
    plan = compile_plan(Recommendation(**rec), chain=chain, wallet=WALLET, now=NOW)  # type: ignore[arg-type]
    path = write_plan(tmp_path / "plan.yaml", edit(plan, chain))  # re-sealed: the hash cannot catch it
    assert fragment in mammon.refuses("show", path)
    assert fragment in mammon.refuses("validate", path)
    (tmp_path / "policy.toml").write_text(POLICY)
    record = tmp_path / "run.json"
    line = mammon.refuses("apply", path, "--runner", "sim", "--yes", "--policy", tmp_path / "policy.toml",
                          "--state-dir", tmp_path / "state", "-o", record)
    assert fragment in line
    assert not record.exists(), "nothing ran, nothing was journaled"


def test_the_unedited_plans_apply(mammon: Mammon, tmp_path: Path) -> None:
    """The control: every plan the attacks start from is accepted and applied as compiled."""
    chain = load_chain("base")
    for n, (_, rec, _) in enumerate(ROWS.values()):
        path = write_plan(tmp_path / f"plan{n}.yaml", compile_plan(Recommendation(**rec), chain=chain, wallet=WALLET, now=NOW))  # type: ignore[arg-type]
        run = mammon("apply", path, "--runner", "sim", "--yes", "--state-dir", tmp_path / "state", "-o", tmp_path / f"run{n}.json")
        assert "result: all effects within tolerance" in run.stdout


def test_policy_counts_the_calls_not_the_stated_totals(tmp_path: Path) -> None:
    """Policy computes spend from the decoded calls: a plan claiming to spend nothing is still over the limit."""
    chain = load_chain("base")
    plan = compile_plan(Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000"),
                        chain=chain, wallet=WALLET, now=NOW)
    lying = seal(totals_spend_zero(plan, chain))
    assert lying.totals.spend == {"USDC": 0}
    with pytest.raises(PolicyError, match=r"plan spends 1,000.00 USDC, above max_spend_per_plan 500 USDC"):
        enforce(Policy(max_spend_per_plan={"USDC": "500"}), lying, chain, tmp_path, datetime(2026, 1, 1))
