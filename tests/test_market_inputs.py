"""A market file (`plan --prices`) whose venue state cannot be: one line, exit 2, nothing written (it was a
ZeroDivisionError, exit 3). The simulator's world files are the same files, read by the same venue models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mammon.market import DEFAULT_WORLD
from mammon_test_support import EXAMPLES_DIR, WALLET, Mammon


def _world(tmp_path: Path, change: dict[str, Any], venue: str, *path: str) -> Path:
    data = yaml.safe_load(DEFAULT_WORLD.read_text())
    section = data["venues"][venue]
    for key in path:
        section = section[key]
    section.update(change)
    out = tmp_path / "world.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


def _refused(mammon: Mammon, tmp_path: Path, example: str, prices: Path) -> str:
    out = tmp_path / "out" / "plan.yaml"
    out.parent.mkdir()
    line = mammon.refuses("plan", EXAMPLES_DIR / example, "--wallet", WALLET, "--prices", prices, "-o", out)
    assert list(out.parent.iterdir()) == []
    return line


def test_a_moonwell_exchange_rate_of_zero_is_refused(mammon: Mammon, tmp_path: Path) -> None:
    prices = _world(tmp_path, {"exchange_rate": "0"}, "moonwell", "markets", "USDC")
    line = _refused(mammon, tmp_path, "moonwell-to-aave.yaml", prices)
    assert line == f"{prices}: venues.moonwell: markets.USDC.exchange_rate: Input should be greater than 0"


@pytest.mark.parametrize("empty", ["reserve_a", "reserve_b", "total_supply"])
def test_an_aerodrome_pool_half_empty_is_refused(mammon: Mammon, tmp_path: Path, empty: str) -> None:
    prices = _world(tmp_path, {empty: "0"}, "aerodrome", "pools", "USDC/WETH")
    line = _refused(mammon, tmp_path, "aerodrome-lp-to-morpho.yaml", prices)
    assert line.startswith(f"{prices}: venues.aerodrome: pools.USDC/WETH: ") and "must all be above 0" in line


def test_lp_beyond_an_empty_pools_supply_is_refused(mammon: Mammon, tmp_path: Path) -> None:
    prices = _world(tmp_path, {"reserve_a": "0", "reserve_b": "0", "total_supply": "0"}, "aerodrome", "pools", "USDC/WETH")
    line = _refused(mammon, tmp_path, "aerodrome-lp-to-morpho.yaml", prices)
    assert "more than the pool's whole LP supply (0)" in line


@pytest.mark.parametrize("price", ["0.0000000001", "0.00000000123"])
def test_a_gas_price_finer_than_a_wei_is_refused(mammon: Mammon, tmp_path: Path, price: str) -> None:
    out = tmp_path / "plan.yaml"
    line = mammon.refuses("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "--gas-price-gwei", price, "-o", out)
    assert line == f"--gas-price-gwei: {price} gwei is not a whole number of wei (1 wei is 0.000000001 gwei)"
    assert not out.exists()
    data = yaml.safe_load(DEFAULT_WORLD.read_text())
    data["gas_price_gwei"] = price
    prices = tmp_path / "world.yaml"
    prices.write_text(yaml.safe_dump(data))
    assert mammon.refuses("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "--prices", prices, "-o", out) == (
        f"{prices}: gas_price_gwei: {price} gwei is not a whole number of wei (1 wei is 0.000000001 gwei)")


def test_a_world_files_bad_value_names_the_file(mammon: Mammon, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "-o", plan)
    data = yaml.safe_load(DEFAULT_WORLD.read_text())
    data["portfolio"]["positions"]["moonwell"]["USDC"] = "-5"
    world = tmp_path / "world.yaml"
    world.write_text(yaml.safe_dump(data))
    record = tmp_path / "run.json"
    line = mammon.refuses("apply", plan, "--world", world, "-o", record, "--quiet")
    assert line == f"{world}: portfolio.positions.moonwell.USDC: amount must be positive, got -5"
    assert not record.exists()


def test_tiny_prices_are_written_as_digits_and_read_back(mammon: Mammon, tmp_path: Path) -> None:
    """A 100-wei gas price and a price of 0.0000001 USD: Decimal writes them 1E-7, which mammon's own reader
    refused, so `validate` failed on the plan `plan` had just written."""
    data = yaml.safe_load(DEFAULT_WORLD.read_text())
    data["prices_usd"]["USDC"] = "0.0000001"
    prices = tmp_path / "world.yaml"
    prices.write_text(yaml.safe_dump(data))
    plan = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "--prices", prices, "--gas-price-gwei", "0.0000001", "-o", plan)
    text = plan.read_text()
    assert "E-7" not in text and "gas_price_gwei: '0.0000001'" in text
    assert mammon("validate", plan).stdout.startswith(f"ok: {plan} is valid")
