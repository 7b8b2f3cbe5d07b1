"""Amounts as the compiler carries them: a literal, or a reference to earlier steps' outputs with bounds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mammon.units import UINT256_MAX


@dataclass(frozen=True)
class Amount:
    """`expected` is what gets encoded; a runner may substitute any actual value within [min, max].

    With `ref` set, the runner computes the value as sum(actual outputs named in `ref`) * num // den,
    so a swap's amountOutMinimum can follow its input proportionally.
    """

    expected: int
    min: int
    max: int
    ref: str | None = None  # '<step>.<output>' or several joined with ' + '
    num: int = 1
    den: int = 1
    base: tuple[int, int, int] | None = None  # expected/min/max of the summed outputs, before num/den
    after: str | None = None  # a fixed amount (atomic execution) taken from these outputs: its step still follows theirs

    @classmethod
    def of_outputs(cls, ref: str, expected: int, low: int, high: int) -> Amount:
        return cls(expected, low, high, ref, 1, 1, (expected, low, high))

    @classmethod
    def exact(cls, value: int) -> Amount:
        return cls(value, value, value)

    @property
    def is_all(self) -> bool:
        """The protocol's own "everything" sentinel (type(uint256).max)."""
        return self.expected == UINT256_MAX and self.ref is None

    def converted(self, convert: Callable[[int], int]) -> Amount:
        """A literal amount: `convert` applied to each of expected, min and max (e.g. assets to shares)."""
        return Amount(convert(self.expected), convert(self.min), convert(self.max))

    def scaled(self, num: int, den: int) -> Amount:
        """A fixed share of this amount (still bound to the same outputs when it is a reference)."""
        if self.ref is None:
            return Amount.exact(self.expected * num // den) if self.min == self.max else Amount(self.expected * num // den, self.min * num // den, self.max * num // den)
        assert self.base is not None
        n, d = self.num * num, self.den * den
        e, lo, hi = (v * n // d for v in self.base)  # the runner's rule, applied to the expected outputs
        return Amount(e, lo, hi, self.ref, n, d, self.base)


    def follow(self, value: int, at: int | None = None) -> Amount:
        """`value` at amount `at` (default: the expected amount), moving in proportion with the actual one
        (a min-out following its input).

        Rounded so that it never exceeds `value` at `at`, even when the reference's own share (e.g. half
        of an odd output) was rounded down.
        """
        at = self.expected if at is None else at
        exact = self.base is None or self.base[0] * self.num % self.den == 0
        return self.scaled(value, at if exact else at + 1)


ALL = Amount.exact(UINT256_MAX)


def widen(expected: int, bps: int) -> tuple[int, int]:
    """Bounds `expected` ± bps, rounded outward (min down, max up)."""
    return expected * (10_000 - bps) // 10_000, -(-expected * (10_000 + bps) // 10_000)
