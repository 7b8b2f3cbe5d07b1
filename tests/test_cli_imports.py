"""`mammon` starts fast because each command imports only what it uses (issue #10).

Each case runs the command in a fresh interpreter and lists the heavy libraries it loaded: reviewing a plan
must never load the signing stack (web3, eth_account and py_ecc's pairing tables, about a second), and
`--help` must not load the recipe engine (jinja2) or networkx either. `show` loads the recipe engine: it
compiles the plan again from its recorded inputs, as `validate` does, because the units, names, effects,
totals and notes it prints are the file's own text and only that check vouches for them (hunt_show #2). It
still loads no networkx, and no eth-abi / eth-utils stack (it decodes calldata with `mammon.abidecode` and
hashes with pycryptodome: about 0.1 s saved, eth-typing, toolz, and the parsimonious grammar eth-abi builds
at import); a venue adapter's module must stay that light too, since show reads every venue's chain-config
model and role rules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mammon import Recommendation, compile_plan
from mammon.plan.planfile import dump
from mammon_test_support import NOW, NOW_TEXT, WALLET, cli_probe, probe_report

SIGNING = {"web3", "eth_account", "eth_keyfile", "py_ecc"}
COMPILING = {"jinja2", "networkx"}
RECIPES = {"jinja2"}  # the recipe engine: show and validate compile the plan again with it
ENCODING = {"eth_abi", "eth_utils", "eth_typing", "eth_hash", "parsimonious", "cytoolz", "toolz"}

def loaded(*args: str) -> set[str]:
    env = {"MAMMON_NOW": NOW_TEXT, "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", cli_probe(), *args], capture_output=True, text=True, env=env, timeout=120)
    report = probe_report(run.stderr)
    assert report["code"] in (0, None), f"mammon {' '.join(args)} exited {report['code']}:\n{run.stdout}\n{run.stderr}"
    return set(report["modules"])


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = compile_plan(Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000"),
                        chain="base", wallet=WALLET, now=NOW)
    path = tmp_path_factory.mktemp("imports") / "plan.yaml"
    dump(plan, path)
    return path


def test_importing_the_cli_loads_only_click() -> None:
    modules = loaded("--help")
    assert not modules & (SIGNING | COMPILING | ENCODING | {"pydantic", "yaml", "rich"})


def test_show_loads_neither_the_signing_stack_nor_networkx(plan_file: Path) -> None:
    modules = loaded("show", str(plan_file))
    assert "rich" in modules, "the probe really rendered a review"
    assert RECIPES <= modules, "show compiled the plan again, as validate does"
    assert not modules & (SIGNING | (COMPILING - RECIPES) | ENCODING)


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_show_as_data_does_not_load_the_terminal_renderer(plan_file: Path, fmt: str) -> None:
    modules = loaded("show", "--format", fmt, str(plan_file))
    assert "pydantic" in modules, "the probe really loaded the plan"
    assert not modules & (SIGNING | (COMPILING - RECIPES) | ENCODING | {"rich"})


def test_validate_does_not_load_the_signing_stack(plan_file: Path) -> None:
    modules = loaded("validate", str(plan_file))
    assert "pydantic" in modules, "the probe really loaded the plan"
    assert not modules & SIGNING


def test_a_simulated_apply_loads_neither_the_signing_stack_nor_eth_abi(plan_file: Path, tmp_path: Path) -> None:
    """The simulator encodes with mammon.abiencode and decodes with mammon.abidecode: eth-abi only for a value they refuse."""
    modules = loaded("apply", str(plan_file), "--quiet", "-o", str(tmp_path / "run.json"), "--state-dir", str(tmp_path / "state"))
    assert json.loads((tmp_path / "run.json").read_text().splitlines()[0])["status"] == "ok", "the probe really applied the plan"
    assert not modules & (SIGNING | ENCODING)


def test_the_cli_offers_exactly_the_review_renderers() -> None:
    from mammon.cli import RENDER_FORMATS
    from mammon.review.render import RENDERERS

    assert sorted(RENDER_FORMATS) == sorted(RENDERERS)


def test_the_package_names_load_on_first_use() -> None:
    import mammon
    import mammon.review.render  # binds the subpackage mammon.review; the public name stays the function

    assert callable(mammon.review) and mammon.review.__module__ == "mammon.review"
    from mammon import api

    assert mammon.load_plan is api.load_plan and mammon.compile_plan is api.compile_plan
    assert all(getattr(mammon, name) is not None for name in mammon.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mammon.nonsense  # noqa: B018
