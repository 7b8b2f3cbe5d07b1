"""`Rebalancer` and `mammon rebalance` on the simulator: the optimizer's loop leaves exactly the CLI's files.

The recommendation goes in as the optimizer builds it (its own object, a dict, display names, Decimals);
the plan file is what `mammon plan` writes, the run record what `mammon apply` writes, and `summary()`
is what `mammon diff` prints for them. Refusals are MammonError subclasses (exit 2 on the command line).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest

from mammon import Rebalancer, Recommendation, compile_plan
from mammon.errors import InputError, MammonError, UnknownNameError
from mammon.plan.planfile import dump, dumps, load
from mammon.run import audit, record as journal
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon, write_yaml


@dataclass
class SeedRecommendation:
    """The optimizer's own recommendation object (its fields and types), with one attribute mammon does not read."""

    from_protocol: str | None
    to_protocol: str | None
    token: str
    amount: Decimal
    expected_apy: Decimal
    reason: str
    confidence: int
    created: str = "2026-01-01T00:00:00Z"


SEED = SeedRecommendation("Moonwell", "Aave V3", "USDC", Decimal("1000"), Decimal("8.5"), "Higher APY in Aave V3", 85)

SPELLINGS = [
    SEED,
    {"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "USDC", "amount": Decimal("1000"), "expected_apy": Decimal("8.5"),
     "reason": "Higher APY in Aave V3", "confidence": 85},
    SeedRecommendation("moonwell", "aave-v3", "usdc", Decimal("1000"), Decimal("8.5"), "Higher APY in Aave V3", 85),
    SeedRecommendation("MOONWELL", "AAVE_V3", "USDC", Decimal("1E+3"), Decimal("8.50"), "Higher APY in Aave V3", 85),
    SeedRecommendation("Moonwell", "aave", "USDC", 1000, "8.5", "Higher APY in Aave V3", 85),  # type: ignore[arg-type]
    SeedRecommendation(None, "Morpho", "USDC", Decimal("250.5"), Decimal("6.6"), "Idle USDC", 70),
    SeedRecommendation("Aave V3", None, "WETH", Decimal("0.5"), Decimal("0"), "Take profit", 60),
    SeedRecommendation(None, "Aerodrome", "usdc", Decimal("1000"), Decimal("18"), "LP fees", 55),
]
IDS = ["seed-object", "seed-dict", "lower-dash", "shouting-exponent", "int-and-str", "wallet-to-morpho", "aave-to-wallet", "wallet-to-aerodrome"]


@pytest.mark.parametrize("rec", SPELLINGS, ids=IDS)
def test_execute_compiles_saves_applies_and_diffs(rec: Any, mammon_rebalancer: Callable[..., Rebalancer], mammon: Mammon) -> None:
    r = mammon_rebalancer(wallet=WALLET)
    result = r.execute(rec)
    assert result.success, result.summary()
    assert result.record.status == "ok" and [s.status for s in result.record.steps] == ["ok"] * len(result.plan.steps)
    # the files are the CLI's: the plan as `mammon plan` writes it, the record where `mammon apply` puts it
    assert result.plan_path.read_text(encoding="utf-8") == dumps(compile_plan(Recommendation.of(rec), chain="base", wallet=WALLET, now=NOW))
    assert result.record_path == result.plan_path.with_name(result.plan_path.name.removesuffix(".yaml") + ".sim.run.json")
    assert journal.load(result.record_path).model_dump(mode="json") == result.record.model_dump(mode="json")
    assert result.summary() == mammon("diff", result.plan_path, result.record_path).stdout
    assert result.total_gas_used == sum(s.gas_used or 0 for s in result.record.steps) > 0
    expected_eth = Decimal(result.total_gas_used) * result.plan.market.gas_price_gwei / Decimal(10**9)
    assert result.total_gas_cost_eth == expected_eth
    assert result.total_gas_cost_usd == (expected_eth * result.plan.market.prices_usd["ETH"]).quantize(Decimal("0.0001"))


def test_every_spelling_of_one_move_is_one_plan(mammon_rebalancer: Callable[..., Rebalancer]) -> None:
    r = mammon_rebalancer(wallet=WALLET)
    hashes = {r.plan(rec).content_hash for rec in SPELLINGS[:4]}
    assert len(hashes) == 2, "Decimal('1E+3') and '8.50' are recorded as written; the rest is the same plan"
    assert r.plan(SPELLINGS[0]) == r.plan(SPELLINGS[1]) == r.plan(SPELLINGS[2])


def test_the_audit_log_records_the_run(mammon_rebalancer: Callable[..., Rebalancer], tmp_path: Path) -> None:
    result = mammon_rebalancer(wallet=WALLET).execute(SEED)
    assert audit.verify(tmp_path / "state") > 0
    assert result.plan.content_hash in (tmp_path / "state" / "audit.jsonl").read_text(encoding="utf-8")


def test_a_rerun_of_the_same_plan_resumes_and_sends_nothing_twice(mammon_rebalancer: Callable[..., Rebalancer]) -> None:
    r = mammon_rebalancer(wallet=WALLET)
    first = r.execute(SEED)
    again = r.execute(SEED)  # same clock, same plan: the same file and record
    assert again.plan_path == first.plan_path and again.success
    assert [s.tx_hash for s in again.record.steps] == [s.tx_hash for s in first.record.steps]


def test_a_plan_file_holding_another_plan_is_not_overwritten(mammon_rebalancer: Callable[..., Rebalancer], tmp_path: Path) -> None:
    r = mammon_rebalancer(wallet=WALLET)
    other = tmp_path / "mine.plan.yaml"
    dump(r.plan({**SPELLINGS[1], "amount": "999"}), other)
    before = other.read_text(encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{other}: already holds plan sha256:"):
        r.execute(SEED, plan_path=other)
    assert other.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(("options", "rec", "error", "message"), [
    ({}, {**SPELLINGS[1], "amount": 1000.0}, InputError,
     "recommendation: amount: got the float 1000.0, which has already lost precision: pass Decimal(str(x)) or a decimal string"),
    ({}, {**SPELLINGS[1], "amount": Decimal("NaN")}, InputError, "recommendation: amount: must be a finite number, got Decimal('NaN')"),
    ({}, {**SPELLINGS[1], "amount": Decimal("1000.0000001")}, InputError, "recommendation.amount: amount 1000.0000001 has more decimals than USDC (6)"),
    ({}, {**SPELLINGS[1], "to_protocol": "Compound"}, UnknownNameError, "recommendation.to_protocol: unknown protocol 'Compound'; known: "),
    ({}, object(), InputError, "recommendation: expected a recommendation"),
    ({"runner": "simulator"}, SEED, UnknownNameError, "--runner: unknown runner 'simulator'"),
    ({"wallet": "0x1234"}, SEED, InputError, "wallet: '0x1234' is not a 0x-prefixed 20-byte hex address"),
    ({"chain": "bsae"}, SEED, UnknownNameError, "--chain: unknown chain 'bsae'"),
], ids=["float", "nan", "over-precise", "unknown-protocol", "not-a-recommendation", "unknown-runner", "bad-wallet", "unknown-chain"])
def test_refusals_raise_mammon_errors_and_write_nothing(options: dict[str, Any], rec: Any, error: type[MammonError], message: str,
                                                        mammon_rebalancer: Callable[..., Rebalancer], tmp_path: Path) -> None:
    with pytest.raises(error) as err:
        mammon_rebalancer(**{"wallet": WALLET, **options}).execute(rec)
    assert str(err.value).startswith(message)
    assert not (tmp_path / "plans").exists() and not (tmp_path / "state").exists()


def test_the_mammon_testing_example(mammon_rebalancer: Callable[..., Rebalancer], mammon_snapshot: Any) -> None:
    """The example in `mammon.testing`'s docstring, as a user's test would be."""
    r = mammon_rebalancer(wallet="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    result = r.execute({"from_protocol": "Moonwell", "to_protocol": "Aave V3", "token": "USDC",
                        "amount": Decimal("1000"), "expected_apy": Decimal("8.5"), "confidence": 85})
    assert result.success, result.summary()
    assert result.diff == mammon_snapshot


# --- mammon rebalance ---------------------------------------------------------------------------------


def test_rebalance_command_plans_next_to_the_recommendation_shows_applies_and_diffs(mammon: Mammon, tmp_path: Path) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text((EXAMPLES_DIR / "seed-moonwell-to-aave.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    run = mammon("rebalance", rec, "--chain", "base", "--wallet", WALLET, "--state-dir", tmp_path / "state")
    [plan_path] = tmp_path.glob("rec-*.plan.yaml")
    plan = load(plan_path)
    assert plan_path.name == f"rec-{plan.content_hash.removeprefix('sha256:')[:12]}.plan.yaml"
    record_path = plan_path.with_name(plan_path.name.removesuffix(".yaml") + ".sim.run.json")
    assert run.stderr.splitlines() == [f"wrote {plan_path} (3 steps, {plan.content_hash[:19]}…)", f"run record {record_path}"]
    review = mammon("show", plan_path).stdout
    diff = mammon("diff", plan_path, record_path).stdout
    assert run.stdout.startswith(review), "the review first"
    assert "moves     Moonwell -> Aave V3: 1000 USDC · confidence 85 · expected APY 8.5%" in review
    assert run.stdout.endswith(diff), "the diff last"
    assert plan_path.read_text(encoding="utf-8") == mammon("plan", rec, "--wallet", WALLET).stdout, "the file `mammon plan` writes"


def test_rebalance_command_writes_the_plan_to_o(mammon: Mammon, tmp_path: Path) -> None:
    out = tmp_path / "plans" / "p.yaml"
    mammon("rebalance", EXAMPLES_DIR / "seed-wallet-to-morpho.yaml", "--wallet", WALLET, "-o", out, "--state-dir", tmp_path / "state")
    assert load(out).recommendations[0].to_protocol == "morpho"
    assert (tmp_path / "plans" / "p.sim.run.json").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("to_protocol: Compound\ntoken: USDC\namount: '10'\n", "to_protocol: unknown protocol 'Compound'; known: Aave V3 (aave_v3), "),
    ("to_protocol: Aave V3\ntoken: USDC\namount: .nan\n", "number '.nan' at line 3 column 9 is not finite"),
    ("to_protocol: Aave V3\ntoken: USDC\namount: 10.1234567\n", "amount: amount 10.1234567 has more decimals than USDC (6)"),
    ("to_protocol: Aave V3\ntoken: USDC\namount: '10'\nconfidence: 85.5\n", "confidence: must be a whole number from 0 to 100, got Decimal('85.5')"),
], ids=["unknown-name", "nan", "over-precise", "fractional-confidence"])
def test_rebalance_command_refuses_bad_input_in_one_line(text: str, message: str, mammon: Mammon, tmp_path: Path) -> None:
    rec = write_yaml(tmp_path / "rec.yaml", None)
    rec.write_text(text, encoding="utf-8")
    line = mammon.refuses("rebalance", rec, "--wallet", WALLET, "--state-dir", tmp_path / "state")
    assert line.startswith(f"{rec}: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.yaml"], "no plan, no record, no state"
