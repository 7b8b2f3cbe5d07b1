"""`mammon devnet up` / `down` from the command line, and `mammon plan --rpc` against it."""

from __future__ import annotations

from pathlib import Path

from mammon.devnet.anvil import free_port
from mammon.plan.planfile import load
from mammon_test_support import EXAMPLES_DIR, WALLET, Mammon


def test_devnet_up_plan_on_it_and_down(mammon: Mammon, devnet_cache: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MAMMON_NOW")  # plans checked on a live node use the real clock
    state = tmp_path / "devnet"
    port = free_port()
    up = mammon("devnet", "up", "--port", port, "--state-dir", state)
    try:
        assert up.stdout.startswith(f"devnet up: http://127.0.0.1:{port} (pid ")
        assert (state / "chain.yaml").exists()
        out = tmp_path / "plan.yaml"
        monkeypatch.setenv("MAMMON_DEVNET_CONFIG", str(state / "chain.yaml"))
        mammon("plan", EXAMPLES_DIR / "moonwell-withdraw-all.yaml", "--chain", "devnet", "--wallet", WALLET,
               "--rpc", f"http://127.0.0.1:{port}", "-o", out)
        plan = load(out)
        assert plan.chain.id == 31337 and {s.gas.source for s in plan.steps} == {"node"}
        assert mammon("validate", out).stdout.startswith("ok:")
    finally:
        down = mammon("devnet", "down", "--state-dir", state)
    assert down.stdout.strip() == "devnet stopped"
    assert mammon("devnet", "down", "--state-dir", state).stdout.strip() == "no devnet was running"
