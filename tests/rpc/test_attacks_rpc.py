"""The attacks of tests/attacks.py against a real chain: `mammon apply --runner rpc` on the devnet.

Every edited plan keeps calldata and view consistent and is re-sealed; each must be refused with one
line and exit 2 before anything is signed, which the wallet's transaction count on chain proves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attacks import ROWS
from mammon.plan.planfile import dump, seal
from mammon.recommend import Recommendation
from rpchelp import WALLET, nonce

POLICY = '[policy]\nmax_spend_per_plan = { USDC = "5000" }\n'


def _apply(mammon: Any, rpc_devnet: Any, key0: str, plan_path: Path, tmp_path: Path, code: int | None) -> Any:
    (tmp_path / "policy.toml").write_text(POLICY)
    return mammon("apply", plan_path, "--runner", "rpc", "--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config,
                  "--policy", tmp_path / "policy.toml", "--state-dir", tmp_path / "state", "--yes", "-o", tmp_path / "run.json",
                  code=code, env={"MAMMON_PRIVATE_KEY": key0})


@pytest.mark.parametrize("row", sorted(ROWS))
def test_attack_sends_nothing(row: str, rpc_devnet: Any, chain: Any, compile_on_devnet: Any, mammon: Any, key0: str,
                              w3: Any, tmp_path: Path) -> None:
    edit, rec, fragment = ROWS[row]
    plan = compile_on_devnet(Recommendation(**rec))
    path = tmp_path / "plan.yaml"
    dump(seal(edit(plan, chain)), path)
    before = nonce(w3, WALLET)
    run = _apply(mammon, rpc_devnet, key0, path, tmp_path, code=2)
    assert fragment in run.error_line
    assert run.stdout == ""
    assert nonce(w3, WALLET) == before, "no transaction was sent"
    assert not (tmp_path / "run.json").exists()


def test_the_unedited_plan_is_sent(rpc_devnet: Any, compile_on_devnet: Any, mammon: Any, key0: str, w3: Any, tmp_path: Path) -> None:
    """The control: the same apply of the compiled plan sends its three transactions."""
    _, rec, _ = ROWS["deposit-onBehalfOf-outsider"]
    path = tmp_path / "plan.yaml"
    dump(compile_on_devnet(Recommendation(**rec)), path)
    before = nonce(w3, WALLET)
    run = _apply(mammon, rpc_devnet, key0, path, tmp_path, code=0)
    assert "result: all effects within tolerance" in run.stdout
    assert nonce(w3, WALLET) == before + 3
