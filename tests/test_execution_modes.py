"""`mammon plan --execution batch|safe`: amounts fixed at plan time, honest refusals, sequential plans unchanged."""

from __future__ import annotations

from pathlib import Path

from mammon.plan.batch import decode_batch
from mammon.plan.model import BATCH_FORMAT_VERSION, FORMAT_VERSION
from mammon.plan.planfile import load
from mammon_test_support import EXAMPLES_DIR, WALLET, Mammon


def test_sequential_plans_keep_the_base_format_without_execution(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    mammon("plan", EXAMPLES_DIR / "aave-to-morpho.yaml", "--wallet", WALLET, "-o", out)
    text = out.read_text()
    assert f"format_version: {FORMAT_VERSION}" in text and "execution" not in text and "batch:" not in text


def test_batch_fixes_a_swap_output_at_its_lower_bound_and_says_what_stays(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "b.yaml"
    mammon("plan", EXAMPLES_DIR / "aave-weth-to-morpho-usdc.yaml", "--wallet", WALLET, "--execution", "batch", "-o", out)
    plan = load(out)
    assert plan.batch is not None and plan.execution == "batch" and plan.format_version == BATCH_FORMAT_VERSION
    assert not any(s.refs for s in plan.steps)
    swap = plan.step("swap")
    deposit = plan.step("deposit")
    assert int(deposit.decoded.args[0].value) == swap.outputs["amount_out"].min  # the lower bound is what is deposited
    [left] = plan.batch.left_behind
    assert left.startswith("step deposit uses 2,965.550931 USDC, the lower bound of ${swap.amount_out}") and "stays in the wallet" in left
    inner = decode_batch("batch", plan.batch.call.data)
    assert [(c.to, c.data) for c in inner] == [(s.call.to, s.call.data) for s in plan.steps]
    shown = mammon("show", out).stdout
    assert "Execution batch: ONE type-4 transaction" in shown and "Fixed     step deposit uses 2,965.550931 USDC" in shown
    assert "> **Fixed**: step deposit uses 2,965.550931 USDC" in mammon("show", out, "--format", "markdown").stdout


def test_compound_error_code_step_refuses_batch(mammon: Mammon, tmp_path: Path) -> None:
    line = mammon.refuses("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "--execution", "batch")
    assert line.startswith("--execution batch: refused for step withdraw: moonwell reports a failed withdraw as an error code")


def test_wide_range_refuses_batch_naming_the_step() -> None:
    """Every shipped example's range comes from its slippage budget; a wider one (here 3%, budget 0.5%) is refused."""
    from types import SimpleNamespace

    import pytest

    from mammon.compile.amounts import Amount
    from mammon.compile.compiler import _fixed
    from mammon.errors import PlanError

    b = SimpleNamespace(execution="batch", prefix="", notes=[], ctx=SimpleNamespace(slippage_bps=50))
    token = SimpleNamespace(symbol="USDC", decimals=6)
    with pytest.raises(PlanError, match=r"refused for step deposit: \$\{swap.amount_out\} is only known within 970.00 USDC .. 1,000.00 USDC"):
        _fixed(b, Amount.of_outputs("swap.amount_out", 990_000_000, 970_000_000, 1_000_000_000), token, "recipe action deposit: amount")  # type: ignore[arg-type]
    fixed = _fixed(b, Amount.of_outputs("swap.amount_out", 1_000_000_000, 995_000_000, 1_005_000_000), token, "recipe action deposit: amount")  # type: ignore[arg-type]
    assert (fixed.expected, fixed.min, fixed.max, fixed.ref, fixed.after) == (995_000_000, 995_000_000, 995_000_000, None, "swap.amount_out")
    assert b.notes == ["batch: step deposit uses 995.00 USDC, the lower bound of ${swap.amount_out} (expected 1,000.00 USDC): up to 10.00 USDC of it stays in the wallet"]


def test_safe_needs_a_node(mammon: Mammon) -> None:
    assert "pass --rpc URL" in mammon.refuses("plan", EXAMPLES_DIR / "aave-to-morpho.yaml", "--wallet", WALLET, "--execution", "safe")
