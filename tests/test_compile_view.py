"""The compiler builds each step's view from the arguments it just encoded (issue #10: decoding its own calldata
again was a sixth of a compile): the same view `decode.view` builds from the bytes, on every example plan and on
generated arguments."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mammon import compile_plan, load_recommendations
from mammon.abi import Function, function
from mammon.compile import compiler
from mammon.compile.amounts import Amount
from mammon.plan.decode import view
from mammon.plan.model import Decoded
from mammon.protocols.base import Asset, Draft
from mammon.protocols.erc20 import approve
from mammon_test_support import EXAMPLES, NOW, WALLET

USDC = Asset("USDC", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 6)
LABELS = {"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913": "tokens.USDC", WALLET.lower(): "wallet"}


def _decoded(fn: Function, args: dict[str, Any], data: str, draft: Draft, labels: dict[str, str]) -> Decoded:
    """The view as the bytes give it (what `compiler._view` stands in for)."""
    units = {path: (asset.symbol, asset.decimals) for path, asset in draft.arg_tokens.items()}
    return view(data, draft.target_label, units, labels, draft.abi)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("execution", ["sequential", "batch"])
def test_every_example_plan_has_the_views_its_bytes_give(path: Any, execution: str, monkeypatch: pytest.MonkeyPatch) -> None:
    recs = load_recommendations(path)
    try:
        built = compile_plan(recs, chain="base", wallet=WALLET, now=NOW, execution=execution)
    except Exception as exc:  # a mode the example cannot use: refused the same way by both
        monkeypatch.setattr(compiler, "_view", _decoded)
        with pytest.raises(type(exc), match="^" + __import__("re").escape(str(exc)) + "$"):
            compile_plan(recs, chain="base", wallet=WALLET, now=NOW, execution=execution)
        return
    monkeypatch.setattr(compiler, "_view", _decoded)
    decoded = compile_plan(recs, chain="base", wallet=WALLET, now=NOW, execution=execution)
    assert [s.decoded for s in built.steps] == [s.decoded for s in decoded.steps]
    assert built.model_dump_json() == decoded.model_dump_json()


def _draft_view(draft: Draft) -> tuple[Decoded, Decoded]:
    fn = function(draft.abi, draft.function)
    data = fn.encode(draft.args)
    return compiler._view(fn, draft.args, data, draft, LABELS), _decoded(fn, draft.args, data, draft, LABELS)


_ADDRESSES = st.one_of(st.sampled_from([USDC.address, USDC.address.lower(), WALLET, WALLET.upper().replace("0X", "0x")]),
                       st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()))


@settings(max_examples=300, deadline=None)
@given(_ADDRESSES, st.integers(min_value=0, max_value=2**256 - 1), st.sampled_from(["USDC", ""]))
def test_generated_approvals_have_the_views_their_bytes_give(spender: str, value: int, symbol: str) -> None:
    draft = approve(Asset(symbol, USDC.address, 6), spender, "someone", Amount.exact(value))
    fast, slow = _draft_view(draft)
    assert fast == slow and fast.model_dump_json() == slow.model_dump_json()


@settings(max_examples=200, deadline=None)
@given(_ADDRESSES, st.integers(min_value=0, max_value=2**256 - 1), _ADDRESSES, st.integers(min_value=0, max_value=2**16 - 1))
def test_generated_supplies_have_the_views_their_bytes_give(asset: str, amount: int, on_behalf: str, referral: int) -> None:
    draft = Draft(kind="deposit", description="", target=USDC.address, target_label="Pool", abi="aave_v3/Pool", function="supply",
                  args={"asset": asset, "amount": amount, "onBehalfOf": on_behalf, "referralCode": referral}, arg_tokens={"amount": USDC})
    fast, slow = _draft_view(draft)
    assert fast == slow and fast.model_dump_json() == slow.model_dump_json()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**256 - 1), st.lists(st.tuples(_ADDRESSES, _ADDRESSES, st.booleans()), max_size=3), _ADDRESSES)
def test_generated_routed_swaps_have_the_views_their_bytes_give(amount: int, hops: list[tuple[str, str, bool]], to: str) -> None:
    """Lists of tuples (Aerodrome's routes) with bools inside, flattened as `routes[0].stable`."""
    routes = [{"from": a, "to": b, "stable": stable, "factory": WALLET} for a, b, stable in hops]
    draft = Draft(kind="swap", description="", target=USDC.address, target_label="Router", abi="aerodrome/Router",
                  function="swapExactTokensForTokens", arg_tokens={"amountIn": USDC},
                  args={"amountIn": amount, "amountOutMin": amount // 2, "routes": routes, "to": to, "deadline": 1})
    fast, slow = _draft_view(draft)
    assert fast == slow and fast.model_dump_json() == slow.model_dump_json()
