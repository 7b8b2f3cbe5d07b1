"""The seeded mutation fuzzer (mammon/testing/fuzz.py) over every file kind: 0 crashes, 0 tracebacks, 0 hangs,
0 outputs or sends on refusal. A fixed seed per run keeps CI deterministic; `bench/fuzz.py` runs many more.

A handful of mutants also go through the real `mammon` process, for what only a process shows: the exit
code a shell sees and no segfault (deep JSON used to kill the process once py_ecc raised the recursion limit).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mammon.testing.fuzz import KINDS, WALLET, Fuzzer
from mammon_test_support import EXAMPLES_DIR, NOW_TEXT

MUTANTS_PER_KIND = 150
SEED = 12


@pytest.fixture(scope="module")
def fuzzer() -> Iterator[Fuzzer]:
    f = Fuzzer(seed=SEED)
    yield f
    f.close()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_mutants_never_crash_hang_or_send(fuzzer: Fuzzer, kind: str) -> None:
    finding = fuzzer.run(kind, MUTANTS_PER_KIND)
    assert [f"{o.mutation}: {o.problem}" for o in finding.problems] == []
    codes = {o.code for o in finding.outcomes}
    assert codes & {1, 2}, "the mutants include refusals (the fuzzer reaches the checks)"


def test_the_real_process_exits_2_on_the_worst_inputs(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("mammon")
    deep = tmp_path / "deep.json"
    deep.write_text('{"token": ' + "[" * 200_000 + "]" * 200_000 + "}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('a: &a ["l","l","l","l","l","l","l","l","l"]\n' + "".join(
        f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi")))
    huge = tmp_path / "huge.yaml"
    huge.write_text("reason: '" + "x" * 6_000_000 + "'\n")
    dup = tmp_path / "dup.json"
    dup.write_text('{"token": "USDC", "to_protocol": "aave_v3", "amount": "1", "amount": "1000"}')
    keystore = tmp_path / "keystore.json"
    keystore.write_text('{"crypto": ' + "[" * 200_000 + "]" * 200_000 + "}")
    plan = tmp_path / "plan.yaml"
    good = tmp_path / "good.yaml"
    env = {**os.environ, "MAMMON_NOW": NOW_TEXT, "MAMMON_PRIVATE_KEY": ""}
    subprocess.run([str(exe), "plan", str(EXAMPLES_DIR / "moonwell-to-aave.yaml"), "--wallet", WALLET, "-o", str(good)],
                   check=True, capture_output=True, timeout=60, env=env)
    cases = [
        (["plan", str(deep), "--wallet", WALLET, "-o", str(plan)], f"{deep}: nested deeper than 64 levels"),
        (["plan", str(bomb), "--wallet", WALLET, "-o", str(plan)], f"{bomb}: YAML aliases (*a) are not allowed at line 2 column 8"),
        (["plan", str(huge), "--wallet", WALLET, "-o", str(plan)], f"{huge}: file is larger than 4096 KiB: refusing to read it"),
        (["plan", str(dup), "--wallet", WALLET, "-o", str(plan)], f"{dup}: duplicate key 'amount'"),
        (["plan", str(EXAMPLES_DIR / "moonwell-to-aave.yaml"), "--wallet", "0x" + "0" * 40, "-o", str(plan)],
         "--wallet: 0x0000000000000000000000000000000000000000 is the zero address: no one can sign for it"),
        # the keystore is read after eth_account (and py_ecc) are imported: the recursion limit is 100,000 there
        (["apply", str(good), "--runner", "rpc", "--rpc-url", "http://127.0.0.1:9", "--keystore", str(keystore), "--yes",
          "--state-dir", str(tmp_path / "state"), "-o", str(tmp_path / "run.json")], f"{keystore}: nested deeper than 64 levels"),
    ]
    for argv, message in cases:
        proc = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
        assert proc.returncode == 2, (argv, proc.returncode, proc.stderr[-500:])
        assert proc.stdout == "" and "Traceback" not in proc.stderr
        assert len(proc.stderr.splitlines()) == 1
        if message:
            assert proc.stderr == f"error: {message}\n"
    assert not plan.exists() and not (tmp_path / "run.json").exists()
