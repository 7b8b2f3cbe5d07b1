"""Which share-price growth rate a plan uses: the stated one, or twice the one measured on the node, and what it says."""

from __future__ import annotations

from mammon.vault_growth import SAFETY, Measured, Unmeasured, choose

PCT = 10**25  # 1%/yr as a ray


def test_twice_the_measured_rate_wins_over_a_lower_stated_one() -> None:
    assert SAFETY == 2
    used, measured, source = choose(45 * PCT // 10, Measured(291 * PCT // 100, 1_800, 3_600))
    assert (used, measured) == (582 * PCT // 100, 291 * PCT // 100)
    assert source == "2 × 2.91%/yr measured over the last 1,800 blocks, 60 min"


def test_a_higher_stated_rate_stays_with_the_measured_one_said() -> None:
    used, measured, source = choose(45 * PCT // 10, Measured(PCT, 300, 7_200))
    assert (used, measured) == (45 * PCT // 10, PCT)
    assert source == "stated 4.50%/yr; 1.00%/yr measured over the last 300 blocks, 2.0 h"


def test_no_growth_and_nothing_stated_is_zero() -> None:
    assert choose(None, Measured(0, 30, 360)) == (0, 0, "none stated; 0.00%/yr measured over the last 30 blocks, 6 min")


def test_unmeasured_keeps_the_stated_rate() -> None:
    assert choose(25 * PCT // 10, Unmeasured("the node serves no state at block 150")) == (25 * PCT // 10, None, "stated 2.50%/yr; not measured on the node")
    assert choose(None, Unmeasured("x"))[0] == 0
