"""Secrets never reach child processes: anvil (devnet and fork) gets an explicit, scrubbed environment.

Read back from /proc/<pid>/environ of the real processes, with every secret mammon knows set in the parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rpchelp import KEY0

SECRETS = {
    "MAMMON_PRIVATE_KEY": KEY0,
    "MAMMON_MNEMONIC": "test test test test test test test test test test test junk",
    "MAMMON_KEYSTORE_PASSWORD": "hunter2",
    "ETH_RPC_URL": "http://user:apikey@127.0.0.1:1/",
    "SOME_OTHER_TOKEN": "s3cret",
}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


def assert_scrubbed(pid: int) -> None:
    env = environ_of(pid)
    assert env, "the child's environment was read"
    leaked = [key for key, value in env.items() if key in SECRETS or any(s in value for s in SECRETS.values())]
    assert leaked == []
    assert set(env) <= {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "NO_COLOR"}


def test_devnet_anvil_gets_no_secrets(secrets_set: None, tmp_path: Path) -> None:
    from mammon.devnet.anvil import free_port, start_anvil, stop_process

    proc = start_anvil(free_port(), tmp_path)
    try:
        assert_scrubbed(proc.pid)
    finally:
        stop_process(proc)


def test_fork_anvil_gets_no_secrets(rpc_devnet: Any, secrets_set: None) -> None:
    from mammon.run.fork import Fork

    with Fork(rpc_devnet.rpc_url) as fork:
        assert fork._proc is not None
        assert_scrubbed(fork._proc.pid)
        assert environ_of(fork._proc.pid).get("NO_COLOR") == "1"
