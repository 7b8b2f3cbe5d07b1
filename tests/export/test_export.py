"""Exports for wallets: the Safe Transaction Builder file and EIP-5792 wallet_sendCalls params.

The Transaction Builder's checksum and its re-encoding of `contractMethod` + `contractInputsValues` are
checked against independent JavaScript: `@eth-optimism/core-utils`' gnosis-safe-checksum and ethers v5's
ABI coder (the library the builder itself uses), run with node.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mammon import compile_plan, load_recommendations
from mammon.plan.model import Plan
from mammon_test_support import EXAMPLES_DIR, NOW, ROOT, WALLET, Mammon, write_plan

EXPORTABLE = ["moonwell-to-aave", "aave-weth-to-wallet-usdc", "morpho-to-moonwell", "aave-withdraw-all"]

NODE_CHECK = r"""
const fs = require("fs");
const { addChecksum } = require("@eth-optimism/core-utils/dist/gnosis-safe-checksum");
const { ethers } = require("ethers");
const out = [];
for (const path of process.argv.slice(1)) {
  const file = JSON.parse(fs.readFileSync(path, "utf8"));
  const { checksum, ...meta } = file.meta;
  const theirs = addChecksum({ ...file, meta }).meta.checksum;
  // The Transaction Builder encodes each call from its ABI entry and the typed values (JSON for tuples/arrays).
  const encoded = file.transactions.map((tx) => {
    const iface = new ethers.utils.Interface([{ ...tx.contractMethod, type: "function", outputs: [],
      stateMutability: tx.contractMethod.payable ? "payable" : "nonpayable" }]);
    const values = tx.contractMethod.inputs.map((input) => {
      const text = tx.contractInputsValues[input.name];
      return input.type.startsWith("tuple") || input.type.endsWith("]") ? JSON.parse(text) : text;
    });
    return iface.encodeFunctionData(tx.contractMethod.name, values);
  });
  out.push({ ours: checksum, theirs, encoded });
}
console.log(JSON.stringify(out));
"""


def compiled(example: str) -> Plan:
    return compile_plan(load_recommendations(EXAMPLES_DIR / f"{example}.yaml"), chain="base", wallet=WALLET, now=NOW)


def exported(mammon: Mammon, tmp_path: Path, example: str, fmt: str) -> tuple[Path, Path]:
    plan = write_plan(tmp_path / f"{example}.yaml", compiled(example))
    out = tmp_path / f"{example}.{fmt}.json"
    mammon("export", plan, "--format", fmt, "-o", out)
    return plan, out


def node_modules_or_skip(package: str) -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / package).is_dir():
        if os.environ.get("MAMMON_REQUIRE_ANVIL") == "1":
            pytest.fail(f"MAMMON_REQUIRE_ANVIL=1 but node or node_modules/{package} is missing (run make install)")
        pytest.skip(f"needs node and node_modules/{package} (make install)")


def rewrite(path: Path, edit: Any, *, rechecksum: bool = False) -> None:
    data = json.loads(path.read_text())
    edit(data)
    if rechecksum:
        from mammon.export.safe_tx_builder import checksum

        data["meta"]["checksum"] = checksum(data)
    path.write_text(json.dumps(data, indent=2))


# --- Safe Transaction Builder ----------------------------------------------------------------------


def test_safe_tx_builder_checksum_and_encoding_match_independent_javascript(mammon: Mammon, tmp_path: Path) -> None:
    node_modules_or_skip("@eth-optimism/core-utils")
    files = [exported(mammon, tmp_path, example, "safe-tx-builder")[1] for example in EXPORTABLE]
    result = subprocess.run(["node", "-e", NODE_CHECK, *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    checked = json.loads(result.stdout)
    for path, entry in zip(files, checked, strict=True):
        data = json.loads(path.read_text())
        assert entry["ours"] == entry["theirs"], path.name
        assert entry["encoded"] == [tx["data"] for tx in data["transactions"]], path.name
    # a swap's struct argument is part of what ethers re-encoded
    swap = json.loads(files[1].read_text())["transactions"]
    assert any(i["type"] == "tuple" for tx in swap for i in tx["contractMethod"]["inputs"])


def test_safe_tx_builder_file_names_the_plan_and_its_calls(mammon: Mammon, tmp_path: Path) -> None:
    plan_path, out = exported(mammon, tmp_path, "moonwell-to-aave", "safe-tx-builder")
    plan = compiled("moonwell-to-aave")
    data = json.loads(out.read_text())
    assert data["version"] == "1.0" and data["chainId"] == "8453" and data["createdAt"] == int(NOW.timestamp() * 1000)
    assert data["meta"]["createdFromSafeAddress"] == WALLET
    assert plan.content_hash in data["meta"]["description"]
    assert [tx["contractMethod"]["name"] for tx in data["transactions"]] == ["redeemUnderlying", "approve", "supply"]
    assert [(tx["to"], tx["data"]) for tx in data["transactions"]] == [(s.call.to, s.call.data) for s in plan.steps]
    assert data["transactions"][1]["contractInputsValues"] == {"spender": "0xA238Dd80C259a72e81d7e4664a9801593F98d1c5", "value": "1000000000"}
    run = mammon("validate", plan_path, "--export", out)
    assert f"ok: {out} is a safe-tx-builder export of it (3 calls, same order)" in run.stdout


def test_eip5792_params(mammon: Mammon, tmp_path: Path) -> None:
    plan_path, out = exported(mammon, tmp_path, "moonwell-to-aave", "eip5792")
    plan = compiled("moonwell-to-aave")
    [params] = json.loads(out.read_text())
    assert params["version"] == "2.0.0" and params["chainId"] == "0x2105" and params["from"] == WALLET
    assert params["atomicRequired"] is True and params["id"] == plan.content_hash
    assert params["calls"] == [{"to": s.call.to, "value": "0x0", "data": s.call.data} for s in plan.steps]
    assert "eip5792 export of it" in mammon("validate", plan_path, "--export", out).stdout


def test_export_to_stdout_is_the_file(mammon: Mammon, tmp_path: Path) -> None:
    plan_path, out = exported(mammon, tmp_path, "moonwell-to-aave", "safe-tx-builder")
    assert mammon("export", plan_path, "--format", "safe-tx-builder").stdout == out.read_text()


def test_export_refuses_an_amount_only_known_on_chain(mammon: Mammon, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.yaml", compiled("wallet-usdc-to-moonwell-weth"))
    line = mammon.refuses("export", plan, "--format", "eip5792")
    assert line.startswith(f"{plan}: step deposit_approve: argument value = ${{swap.amount_out}} is only known on chain")


# --- tampered exports: one line, exit 2 ------------------------------------------------------------


def _flip_last_byte(tx: dict[str, Any]) -> None:
    tx["data"] = tx["data"][:-2] + ("01" if tx["data"][-2:] != "01" else "02")


SAFE_TAMPERING = {
    "data byte": (lambda d: _flip_last_byte(d["transactions"][2]), True, "transactions[2]: data differs from step deposit's calldata"),
    "checksum": (lambda d: d["meta"].update(checksum="0x" + "00" * 32), False, "meta.checksum 0x0000"),
    "content, checksum kept": (lambda d: _flip_last_byte(d["transactions"][0]), False, "does not match the file's content"),
    "order": (lambda d: d["transactions"].reverse(), True, "transactions[0]: to is 0xA238Dd80C259a72e81d7e4664a9801593F98d1c5, step withdraw calls"),
    "dropped call": (lambda d: d["transactions"].pop(), True, "2 transactions, the plan has 3 calls"),
    "builder values": (lambda d: d["transactions"][1]["contractInputsValues"].update(value="999999999999"), True,
                       "transactions[1]: contractMethod + contractInputsValues encode other calldata than step deposit_approve"),
    "other plan": (lambda d: d["meta"].update(description="mammon plan sha256:" + "ab" * 32), True, "meta.description does not name plan"),
    "other safe": (lambda d: d["meta"].update(createdFromSafeAddress="0x" + "11" * 20), True, "meta.createdFromSafeAddress is 0x1111"),
    # what the Builder shows a signer beside the calls: exactly what mammon writes for the plan (hunt_show #6)
    "batch name": (lambda d: d["meta"].update(name="Harmless refresh (no funds moved)"), True,
                   'meta.name is "Harmless refresh (no funds moved)", mammon writes "mammon '),
    "description": (lambda d: d["meta"].update(description=d["meta"]["description"] + " -- REVIEWED: moves no funds. Sign all 3."), True,
                    "meta.description is \"mammon plan sha256:"),
    "created at": (lambda d: d.update(createdAt=0), True, "createdAt is 0, mammon writes 17"),
    "meta key": (lambda d: d["meta"].update(note="approved by the risk desk"), True, "meta has 'note', which mammon's export of this plan does not write"),
    "argument names": (lambda d: _rename_inputs(d["transactions"][1]), True,
                       'transactions[1]: contractMethod.inputs[0].name is "checkedBy", step deposit_approve\'s ABI (approve(address,uint256)) gives "spender"'),
    "payable": (lambda d: d["transactions"][1]["contractMethod"].update(payable=True), True,
                "transactions[1]: contractMethod.payable is true, step deposit_approve's ABI (approve(address,uint256)) gives false"),
    "transaction key": (lambda d: d["transactions"][0].update(description="refresh"), True,
                        "transactions[0]: the transaction has 'description', which mammon's export of this plan does not write"),
}


def _rename_inputs(tx: dict[str, Any]) -> None:
    """Builder labels swapped: it would show `checkedBy: 0xA238…` and `nonce: 1000000000` (same calldata)."""
    inputs, values = tx["contractMethod"]["inputs"], tx["contractInputsValues"]
    inputs[0]["name"], inputs[1]["name"] = "checkedBy", "nonce"
    tx["contractInputsValues"] = {"checkedBy": values["spender"], "nonce": values["value"]}


@pytest.mark.parametrize("case", sorted(SAFE_TAMPERING))
def test_tampered_safe_tx_builder_export_is_refused(case: str, mammon: Mammon, tmp_path: Path) -> None:
    edit, rechecksum, expected = SAFE_TAMPERING[case]
    plan_path, out = exported(mammon, tmp_path, "moonwell-to-aave", "safe-tx-builder")
    rewrite(out, edit, rechecksum=rechecksum)
    line = mammon.refuses("validate", plan_path, "--export", out)
    assert line.startswith(str(out)) and expected in line, line


EIP5792_TAMPERING = {
    "data byte": (lambda d: _flip_last_byte(d[0]["calls"][1]), "calls[1]: data differs from step deposit_approve's calldata"),
    "order": (lambda d: d[0]["calls"].reverse(), "calls[0]: to is"),
    "not atomic": (lambda d: d[0].update(atomicRequired=False), "atomicRequired is not true"),
    "value": (lambda d: d[0]["calls"][0].update(value="0x1"), "calls[0]: value is 0x1"),
    "other plan": (lambda d: d[0].update(id="sha256:" + "ab" * 32), "not plan sha256:"),
    "other chain": (lambda d: d[0].update(chainId="0x1"), "chainId is 0x1"),
    # a paymaster (or any capability) and other fields mammon never writes (hunt_show #6)
    "paymaster": (lambda d: d[0].update(capabilities={"paymasterService": {"url": "https://paymaster.evil.example/rpc"}}),
                  'capabilities is {"paymasterService": {"url": "https://paymaster.evil.example/rpc"}}: mammon asks the wallet for none'),
    "call capabilities": (lambda d: d[0]["calls"][1].update(capabilities={"paymasterService": {"url": "https://evil.example"}}),
                          "calls[1]: the call has 'capabilities', which mammon's export of this plan does not write"),
    "version": (lambda d: d[0].update(version="1.0"), "version is \"1.0\", mammon writes '2.0.0'"),
    "request key": (lambda d: d[0].update(label="reviewed"), "the request has 'label', which mammon's export of this plan does not write"),
}


@pytest.mark.parametrize("case", sorted(EIP5792_TAMPERING))
def test_tampered_eip5792_export_is_refused(case: str, mammon: Mammon, tmp_path: Path) -> None:
    edit, expected = EIP5792_TAMPERING[case]
    plan_path, out = exported(mammon, tmp_path, "moonwell-to-aave", "eip5792")
    rewrite(out, edit)
    line = mammon.refuses("validate", plan_path, "--export", out)
    assert line.startswith(str(out)) and expected in line, line


def test_export_of_another_plan_is_refused(mammon: Mammon, tmp_path: Path) -> None:
    _, out = exported(mammon, tmp_path, "moonwell-to-aave", "safe-tx-builder")
    other = write_plan(tmp_path / "other.yaml", compiled("morpho-to-moonwell"))
    assert "meta.description does not name plan" in mammon.refuses("validate", other, "--export", out)


@pytest.mark.parametrize("content", ["{not json", '{"a": 1}', "[]"])
def test_malformed_export_is_refused(content: str, mammon: Mammon, tmp_path: Path) -> None:
    plan_path, _ = exported(mammon, tmp_path, "moonwell-to-aave", "eip5792")
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert mammon.refuses("validate", plan_path, "--export", bad).startswith(str(bad))


def test_structurally_broken_export_is_one_line(mammon: Mammon, tmp_path: Path) -> None:
    plan_path, out = exported(mammon, tmp_path, "moonwell-to-aave", "safe-tx-builder")
    rewrite(out, lambda d: d["transactions"][0].pop("to"), rechecksum=True)
    assert "malformed safe-tx-builder export" in mammon.refuses("validate", plan_path, "--export", out)
