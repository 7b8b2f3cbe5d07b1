"""Bad input to the rpc runner is refused before anything is signed (hunt_rpc findings 7 and 12): one line naming the
input, exit 2, the wallet's nonce unchanged and no run record written.

* --derivation-path / --account-index with a hex key or a keystore (they would be ignored: another account
  than the one asked for would sign);
* a node URL that is not one (an unclosed IPv6 literal), MAMMON_RPC_TIMEOUT=0 (a non-blocking socket that
  blames a healthy node), a fractional MAMMON_RPC_RETRIES, --confirmations 0 (silently taken as 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from mammon.errors import InputError
from mammon.plan.planfile import dump
from mammon.recommend import load_recommendations
from mammon_test_support import EXAMPLES_DIR, Mammon
from rpchelp import KEY0, WALLET, nonce

PHRASE = "test test test test test test test test test test test junk"  # anvil's public test mnemonic


@pytest.fixture()
def plan_path(compile_on_devnet: Callable[..., Any], tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    dump(compile_on_devnet(load_recommendations(EXAMPLES_DIR / "moonwell-to-aave.yaml")[0]), path)
    return path


def _refused(mammon: Mammon, w3: Web3, plan: Path, tmp_path: Path, *args: Any, env: dict[str, str]) -> str:
    before = nonce(w3)
    line = mammon.refuses("apply", plan, "--runner", "rpc", "--yes", "--quiet", "--state-dir", tmp_path / "state",
                          "-o", tmp_path / "run.json", *args, env=env)
    assert nonce(w3) == before and not (tmp_path / "run.json").exists(), "nothing signed, nothing recorded"
    return line


@pytest.mark.parametrize("args, where", [(["--derivation-path", "m/44'/60'/0'/0/1"], "--derivation-path"),
                                         (["--account-index", "1"], "--account-index")])
def test_a_derivation_option_with_a_hex_key_is_refused(args: list[str], where: str, mammon: Mammon, rpc_devnet: Any, w3: Web3,
                                                       plan_path: Path, tmp_path: Path) -> None:
    line = _refused(mammon, w3, plan_path, tmp_path, "--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config, *args,
                    env={"MAMMON_PRIVATE_KEY": KEY0, "MAMMON_MNEMONIC": ""})
    assert line == f"{where}: applies to a key derived from MAMMON_MNEMONIC only, but the key comes from MAMMON_PRIVATE_KEY; drop {where}"
    assert KEY0[2:] not in line


def test_a_derivation_option_with_a_keystore_is_refused(mammon: Mammon, rpc_devnet: Any, w3: Web3, plan_path: Path, tmp_path: Path) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY0, "pw", iterations=2)), encoding="utf-8")
    line = _refused(mammon, w3, plan_path, tmp_path, "--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config,
                    "--keystore", keystore, "--account-index", "0", env={"MAMMON_KEYSTORE_PASSWORD": "pw", "MAMMON_PRIVATE_KEY": ""})
    assert line == "--account-index: applies to a key derived from MAMMON_MNEMONIC only, but the key comes from --keystore; drop --account-index"


def test_a_malformed_derivation_path_is_refused_as_such_whatever_the_key(mammon: Mammon, rpc_devnet: Any, w3: Web3, plan_path: Path,
                                                                          tmp_path: Path) -> None:
    line = _refused(mammon, w3, plan_path, tmp_path, "--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config,
                    "--derivation-path", "garbage", env={"MAMMON_PRIVATE_KEY": KEY0})
    assert line == "--derivation-path: 'garbage' is not a BIP-32 path like m/44'/60'/0'/0/0"


def test_a_derivation_option_with_the_phrase_still_applies(mammon: Mammon, rpc_devnet: Any, w3: Web3, plan_path: Path, tmp_path: Path) -> None:
    before = nonce(w3)
    mammon("apply", plan_path, "--runner", "rpc", "--yes", "--quiet", "--state-dir", tmp_path / "state", "-o", tmp_path / "run.json",
           "--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config, "--derivation-path", "m/44'/60'/0'/0/0",
           env={"MAMMON_MNEMONIC": PHRASE, "MAMMON_PRIVATE_KEY": ""})
    assert nonce(w3) == before + 3


@pytest.mark.parametrize("url_env, args, expected", [
    ({}, ["--rpc-url", "http://[::1"], "--rpc-url: not a valid node URL: <node url> (check the host, e.g. IPv6 in [brackets])"),
    ({"ETH_RPC_URL": "http://[::1"}, [], "--rpc-url: not a valid node URL: <node url> (check the host, e.g. IPv6 in [brackets])"),
    ({"MAMMON_RPC_TIMEOUT": "0"}, None, "MAMMON_RPC_TIMEOUT: must be greater than 0 seconds, got 0"),
    ({"MAMMON_RPC_RETRIES": "0.5"}, None, "MAMMON_RPC_RETRIES: must be a whole number of retries (0 or more), got '0.5'"),
    ({"MAMMON_RPC_RETRIES": "-1"}, None, "MAMMON_RPC_RETRIES: must be a whole number of retries (0 or more), got '-1'"),
    ({}, ["--confirmations", "0"], "mammon apply: Invalid value for '--confirmations': 0 is not in the range x>=1. (see 'mammon apply --help')"),
], ids=["ipv6-option", "ipv6-env", "timeout-0", "retries-fraction", "retries-negative", "confirmations-0"])
def test_bad_node_settings_are_refused_in_one_line(url_env: dict[str, str], args: list[str] | None, expected: str, mammon: Mammon,
                                                   rpc_devnet: Any, w3: Web3, plan_path: Path, tmp_path: Path) -> None:
    node = args if args is not None else ["--rpc-url", rpc_devnet.rpc_url]
    if node and node[0] == "--confirmations":
        node = ["--rpc-url", rpc_devnet.rpc_url, *node]
    line = _refused(mammon, w3, plan_path, tmp_path, "--chain-config", rpc_devnet.chain_config, *node,
                    env={"MAMMON_PRIVATE_KEY": KEY0, **url_env})
    assert line == expected


def test_the_rebalancer_refuses_the_same_options(rpc_devnet: Any, w3: Web3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mammon import Rebalancer

    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    common = {"chain": "devnet", "wallet": WALLET, "runner": "rpc", "rpc_url": rpc_devnet.rpc_url, "chain_config": rpc_devnet.chain_config,
              "plan_dir": tmp_path / "plans", "state_dir": tmp_path / "state"}
    with pytest.raises(InputError, match="^--derivation-path: applies to a key derived from MAMMON_MNEMONIC only"):
        Rebalancer(**common, derivation_path="m/44'/60'/0'/0/1")
    with pytest.raises(InputError, match="^--account-index: applies to a key derived from MAMMON_MNEMONIC only, but the key comes from --keystore"):
        Rebalancer(**common, keystore=tmp_path / "absent.json", account_index=2)
    with pytest.raises(InputError, match=r"^confirmations: must be a whole number of blocks, 1 or more"):
        Rebalancer(**common, confirmations=0)
    assert not (tmp_path / "plans").exists()
