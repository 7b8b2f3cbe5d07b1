"""Every recommendation in plans/examples compiles (base, default world) to a plan a reviewer can trust.

Per example (and per item of a list file, plus the list compiled with --combine): syrupy snapshots of the
plan YAML and of `mammon show`; YAML and JSON round trips with equal content hashes; `mammon validate`
exits 0 without warnings; every spend has an exact approval before it (never unlimited); every swap has a
non-zero minimum output equal to expected * (1 - slippage); withdraw-all uses each protocol's convention.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import networkx as nx
import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from mammon import compile_plan, load_market, load_recommendations
from mammon.plan import dag
from mammon.plan.model import Plan, Step
from mammon.plan.planfile import content_hash, dumps, load, loads
from mammon.recommend import Recommendation
from mammon.units import UINT256_MAX, parse_amount
from mammon_test_support import EXAMPLES, NOW, WALLET, Mammon, arg

VENUES = ("aave_v3", "moonwell", "morpho")


class YamlSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "yaml"


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


def _cases() -> list[tuple[str, Path, int | None, bool]]:
    """(id, file, list item or None, combined) for every plan the examples compile to."""
    cases = []
    for path in EXAMPLES:
        recs = load_recommendations(path)
        if len(recs) == 1:
            cases.append((path.stem, path, None, False))
        else:
            cases += [(f"{path.stem}-{n}", path, n - 1, False) for n in range(1, len(recs) + 1)]
            cases.append((f"{path.stem}-combined", path, None, True))
    return cases


CASES = _cases()
CASE_IDS = [c[0] for c in CASES]
BY_ID = {c[0]: c for c in CASES}


@cache
def recs_of(case_id: str) -> tuple[Recommendation, ...]:
    _, path, item, _ = BY_ID[case_id]
    recs = load_recommendations(path)
    return tuple(recs if item is None else [recs[item]])


@cache
def compiled(case_id: str) -> Plan:
    return compile_plan(list(recs_of(case_id)), chain="base", wallet=WALLET, now=NOW)


def slippage_of(plan: Plan, step: Step) -> int:
    """The slippage of the recommendation a step came from (combined plans prefix step ids with r<n>-)."""
    if len(plan.recommendations) == 1:
        return plan.recommendations[0].slippage_bps
    return plan.recommendations[int(step.id[1:].split("-", 1)[0]) - 1].slippage_bps


def cli_plan(mammon: Mammon, case_id: str, out: Path) -> Path:
    """Compile a case with the CLI and return the plan file it wrote."""
    _, path, item, combined = BY_ID[case_id]
    run = mammon("plan", path, "--chain", "base", "--wallet", WALLET, "-o", out, *(["--combine"] if combined else []))
    assert run.stdout == ""
    if item is None:
        assert run.stderr.startswith(f"wrote {out} ")
        return out
    return out.with_name(f"{out.stem}-{item + 1}{out.suffix}")


# --- the examples themselves ----------------------------------------------------------------------


def test_there_are_at_least_twenty_examples() -> None:
    assert len(EXAMPLES) >= 20
    assert any(p.name == "moonwell-to-aave.yaml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_starts_with_a_one_line_comment(path: Path) -> None:
    first, second = path.read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith("# ") and len(first) > 10
    assert not second.startswith("#"), "the description is one line"


def test_examples_cover_every_shape() -> None:
    recs = [r for path in EXAMPLES for r in load_recommendations(path)]
    same_token = [r for r in recs if r.to_token is None]
    pairs = {(r.from_protocol, r.to_protocol) for r in same_token if r.from_protocol in VENUES and r.to_protocol in VENUES}
    assert pairs >= {(a, b) for a in VENUES for b in VENUES if a != b}
    assert {r.to_protocol for r in same_token if r.from_protocol is None} >= set(VENUES), "new position into each venue"
    assert {r.from_protocol for r in recs if r.to_protocol is None} >= set(VENUES), "exit from each venue"
    assert {r.from_protocol for r in recs if r.is_all} >= set(VENUES), "withdraw-all from each venue"
    cross = [r for r in recs if r.to_token and r.from_protocol in VENUES and r.to_protocol in VENUES]
    assert any(r.swap_venue == "uniswap_v3" for r in cross) and any(r.swap_venue == "aerodrome" for r in cross)
    assert any(r.from_protocol == "moonwell" and r.token == "USDC" and r.to_token == "WETH" for r in cross)
    lp_in = {r.from_protocol for r in recs if r.to_protocol == "aerodrome"}
    assert None in lp_in and lp_in & set(VENUES), "LP enter from the wallet and from a venue"
    lp_out = [r for r in recs if r.from_protocol == "aerodrome"]
    assert all(r.is_all for r in lp_out)
    assert {r.to_protocol for r in lp_out} & {None} and {r.to_protocol for r in lp_out} & set(VENUES), "LP exit to wallet and venue"
    assert any(2 <= len(load_recommendations(p)) <= 3 for p in EXAMPLES), "a file with a list of recommendations"
    assert not [r for r in recs if r.from_protocol == "moonwell" and r.token == "WETH"], "mWETH redeems to native ETH"


# --- snapshots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_plan_yaml_snapshot(case_id: str, mammon: Mammon, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    written = cli_plan(mammon, case_id, tmp_path / "plan.yaml")
    text = written.read_text(encoding="utf-8")
    assert text == dumps(compiled(case_id), "yaml"), "the CLI writes exactly what the library compiles"
    assert snapshot(extension_class=YamlSnapshot) == text


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_show_snapshot(case_id: str, mammon: Mammon, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    path.write_text(dumps(compiled(case_id)), encoding="utf-8")
    run = mammon("show", path)
    assert run.stderr == ""
    assert "Warnings  none" in run.stdout
    assert snapshot(extension_class=TextSnapshot) == run.stdout


# --- what a reviewer checks on every plan --------------------------------------------------------


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_round_trips_yaml_and_json_with_one_hash(case_id: str, tmp_path: Path) -> None:
    plan = compiled(case_id)
    assert plan.content_hash == content_hash(plan)
    from_yaml = loads(dumps(plan, "yaml"))
    from_json = loads(dumps(plan, "json"))
    assert from_yaml == plan
    assert from_json == plan
    (tmp_path / "p.yaml").write_text(dumps(plan, "yaml"), encoding="utf-8")
    (tmp_path / "p.json").write_text(dumps(plan, "json"), encoding="utf-8")
    assert load(tmp_path / "p.yaml") == plan == load(tmp_path / "p.json")
    assert content_hash(from_yaml) == content_hash(from_json) == plan.content_hash
    assert json.loads(dumps(plan, "json"))["content_hash"] == plan.content_hash


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_validate_exits_zero(case_id: str, mammon: Mammon, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(dumps(compiled(case_id), "json"), encoding="utf-8")
    run = mammon("validate", path)
    assert run.stdout.startswith(f"ok: {path} is valid ({len(compiled(case_id).steps)} steps, sha256:")
    assert run.stderr == "", "no warnings on an example"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_graphlib_order_and_ancestors_agree_with_networkx(case_id: str) -> None:
    """mammon walks the DAG with the standard library's graphlib; networkx checks it independently."""
    plan = compiled(case_id)
    g = nx.DiGraph([(dep, s.id) for s in plan.steps for dep in s.depends_on])
    g.add_nodes_from(s.id for s in plan.steps)
    assert nx.is_directed_acyclic_graph(g)
    order = [s.id for s in dag.order(plan)]
    assert sorted(order) == sorted(g.nodes)
    position = {sid: i for i, sid in enumerate(order)}
    assert all(position[a] < position[b] for a, b in g.edges), "every dependency runs before its step"
    assert dag.ancestors(plan.steps) == {n: nx.ancestors(g, n) for n in g.nodes}


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_every_spend_follows_an_exact_approval(case_id: str) -> None:
    plan = compiled(case_id)
    g = nx.DiGraph([(dep, s.id) for s in plan.steps for dep in s.depends_on])  # networkx as an independent check of mammon's graph
    g.add_nodes_from(s.id for s in plan.steps)
    position = {s.id: i for i, s in enumerate(plan.steps)}
    for step in plan.steps:
        if step.kind == "approve":
            value = arg(step, "value")
            assert 0 < value < UINT256_MAX, f"{step.id}: approve must be exact, never unlimited"
            [change] = step.allowances
            assert value <= change.after < UINT256_MAX, "the recorded allowance is the most the next step may pull"
        for pull in step.pulls:
            approvals = [
                plan.step(a) for a in nx.ancestors(g, step.id)
                if plan.step(a).kind == "approve" and plan.step(a).call.to == pull.token_address
                and str(arg(plan.step(a), "spender")).lower() == pull.spender.lower()
            ]
            assert approvals, f"{step.id} spends {pull.token} with no approval before it"
            approval = max(approvals, key=lambda s: position[s.id])
            between = plan.steps[position[approval.id] + 1:position[step.id]]
            assert not [s.id for s in between if any(p.token_address == pull.token_address and p.spender == pull.spender for p in s.pulls)]
            [change] = approval.allowances
            assert change.after == pull.amount and change.token_address == pull.token_address and change.spender == pull.spender
            spent_arg = next(a for a in step.decoded.args if a.token == pull.token)
            assert arg(approval, "value") == int(spent_arg.value), f"{approval.id} approves exactly what {step.id} spends"
            step_ref = next((r for r in step.refs if r.arg == spent_arg.name), None)
            if step_ref is None:
                assert not approval.refs and arg(approval, "value") == pull.amount
            else:
                [approval_ref] = approval.refs
                assert approval_ref.model_dump(exclude={"arg"}) == step_ref.model_dump(exclude={"arg"}), "both follow the same output"
                assert pull.amount == step_ref.max


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_swaps_have_a_min_out_from_slippage(case_id: str) -> None:
    plan = compiled(case_id)
    for step in (s for s in plan.steps if s.kind == "swap"):
        bps = slippage_of(plan, step)
        out = step.outputs["amount_out"]
        name = "params.amountOutMinimum" if step.venue == "uniswap_v3" else "amountOutMin"
        min_out = arg(step, name)
        assert min_out > 0
        fixed_input = not any(r.arg.endswith("amountIn") for r in step.refs)
        if fixed_input:
            assert min_out == out.expected * (10_000 - bps) // 10_000
        else:  # pinned at the largest input the reference allows (price impact): a hair below, never above
            assert out.expected * (10_000 - bps) // 10_000 * 9_999 // 10_000 <= min_out <= out.expected * (10_000 - bps) // 10_000
        assert [g.value for g in step.guards if g.kind == "min_out"] == [min_out]
        [gain] = [e for e in step.effects if e.account == plan.wallet and e.token == out.token]
        assert gain.delta == out.expected and gain.tolerance.kind == "min_out" and gain.tolerance.value == min_out
        assert out.min <= min_out <= out.expected <= out.max


WITHDRAW_ALL = [c for c in CASE_IDS if any(r.is_all for r in recs_of(c))]


def test_withdraw_all_cases_exist() -> None:
    venues = {r.from_protocol for c in WITHDRAW_ALL for r in recs_of(c)}
    assert venues >= {*VENUES, "aerodrome"}


@pytest.mark.parametrize("case_id", WITHDRAW_ALL)
def test_withdraw_all_uses_the_protocol_convention(case_id: str) -> None:
    plan = compiled(case_id)
    [rec] = recs_of(case_id)
    [step] = [s for s in plan.steps if s.kind in ("withdraw", "remove_liquidity")]
    portfolio = load_market().portfolio
    assert portfolio is not None
    if rec.from_protocol == "aave_v3":
        assert step.decoded.function == "withdraw(address,uint256,address)"
        assert arg(step, "amount") == UINT256_MAX
    elif rec.from_protocol == "moonwell":
        assert step.decoded.function == "redeem(uint256)"
        assert arg(step, "redeemTokens") == UINT256_MAX
    elif rec.from_protocol == "morpho":
        assert step.decoded.function == "redeem(uint256,address,address)"
        shares = arg(step, "shares")
        assert 0 < shares < UINT256_MAX, "ERC-4626 has no max sentinel: redeem the exact share balance"
        assert [p.value for p in plan.preconditions if p.contract == step.call.to and p.kind == "balance"] == [shares]
        held = parse_amount(portfolio.positions["morpho"][rec.token], 6 if rec.token == "USDC" else 18, symbol=rec.token)
        out = step.outputs["amount_out"].expected
        assert held - 2 <= out <= held, "redeeming every share returns the position (rounded down)"
    else:
        assert step.decoded.function.startswith("removeLiquidity(")
        assert arg(step, "liquidity") == parse_amount(portfolio.positions["aerodrome"]["USDC/WETH"], 18, symbol="LP")
    if rec.to_protocol is not None:
        deposit = plan.steps[-1]
        assert deposit.kind == "deposit" and deposit.refs, "the deposit follows what the withdrawal returned"
