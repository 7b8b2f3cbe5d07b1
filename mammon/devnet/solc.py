"""Compile the devnet's own Solidity sources offline with solc-js.

Why: the ERC-4626 vault and the Moonwell/Aerodrome stand-ins have no published bytecode,
so they are compiled from ``mammon/devnet/contracts/*.sol`` by ``compile.js`` (the
``solc`` npm package). Compiling takes a few seconds, so the result is cached in the
state directory under a key that hashes the sources, the compiler settings and the
versions of solc and @openzeppelin/contracts: an edit to any of them recompiles.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mammon.errors import DevnetError
from mammon.devnet.artifacts import node_modules_dir, package_version
from mammon.proc import child_env

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
COMPILE_JS = Path(__file__).resolve().parent / "compile.js"

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
}


@dataclass(frozen=True)
class Compiled:
    """ABI and creation bytecode (0x-prefixed hex) of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def _sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(CONTRACTS_DIR.glob("*.sol"))}


def sources_hash() -> str:
    """Hash of everything that decides the compiler output (used as the cache key)."""
    h = hashlib.sha256()
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    for name in ("solc", "@openzeppelin/contracts"):
        h.update(f"{name}@{package_version(name)}".encode())
    for name, text in _sources().items():
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()[:16]


def compile_contracts(cache_dir: Path) -> dict[str, Compiled]:
    """Return every contract in contracts/*.sol, compiling only on a cache miss."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = cache_dir / f"solc-{sources_hash()}.json"
    if cache_file.exists():
        raw = json.loads(cache_file.read_text())
    else:
        raw = _run_solc()
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw))
        tmp.replace(cache_file)
    return {name: Compiled(name, c["abi"], c["bytecode"]) for name, c in raw.items()}


def _run_solc() -> dict[str, dict[str, Any]]:
    node_modules_dir()  # raises a DevnetError with the install hint if missing
    std_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in _sources().items()},
        "settings": SETTINGS,
    }
    try:
        proc = subprocess.run(
            ["node", str(COMPILE_JS)],
            input=json.dumps(std_input),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env=child_env(),
        )
    except FileNotFoundError as exc:
        raise DevnetError("node is not installed; the devnet compiles its contracts with solc-js") from exc
    if proc.returncode != 0:
        raise DevnetError(f"solc-js failed: {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DevnetError("Solidity compile errors:\n" + "\n".join(e["formattedMessage"] for e in errors))
    result: dict[str, dict[str, Any]] = {}
    for source, contracts in out.get("contracts", {}).items():
        if source not in std_input["sources"]:
            continue  # libraries pulled in from node_modules
        for name, c in contracts.items():
            code = c["evm"]["bytecode"]["object"]
            if code:
                result[name] = {"abi": c["abi"], "bytecode": "0x" + code}
    return result
