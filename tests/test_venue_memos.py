"""Memoised venue derivations (issue #10) give what the plain functions give."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mammon.protocols.base import EXACT, with_interest
from mammon.protocols.moonwell import _growth, yearly_ray


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**6))
def test_a_markets_rate_growth_is_with_interest_of_the_rate(rate: int, per_second: int, window: int) -> None:
    yearly = yearly_ray(per_second)
    for _ in range(2):  # computed, then served from the memo
        cached = _growth(rate, yearly, window)
        plain = with_interest(EXACT, rate, yearly, window)
        assert cached == plain and cached.model_dump_json() == plain.model_dump_json()
