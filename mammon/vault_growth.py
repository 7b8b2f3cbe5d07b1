"""How fast an ERC-4626 vault's share price grows, measured on the node (`plan --rpc`).

ERC-4626 has no rate view, and a MetaMorpho vault's rate comes from its markets' interest rate models, so
the rate is measured: the vault's `convertToAssets` of a fixed number of shares at the latest block and at
a block about `LOOKBACK_SECONDS` earlier (1 h), or as far back as the node serves state and the vault
exists (a pruned node, a devnet booted from a state dump, a vault younger than the lookback), gives the
yearly rate the price grew at. The rate used for the plan's tolerances is the larger of the market file's
stated rate and `SAFETY` × the measured one:

- Why a safety factor: the past hour's average does not bound the next minutes. A MetaMorpho vault's rate
  follows its markets' utilisation, and a jump in utilisation raises a Morpho Blue market's rate at once
  (AdaptiveCurveIRM: up to 4× its target rate at full utilisation); Aave's and Moonwell's curves steepen
  past their kinks the same way. Twice the measured rate covers a utilisation jump that doubles it within
  the plan's window; the stated rate stays the floor for what the file knows better.
- Why `convertToAssets` of 10**(share decimals + 9) shares, not of one share: one share of a USDC vault
  converts to ~1e6 units, and an hour at 3%/yr moves that by 3 units (a 30% error); a billion shares keep
  nine more digits.
- A loss (price lower than before) measures as 0: the plan's share-price precondition refuses a lower price.
- A donation inside the lookback counts as growth: the measured rate is then higher than the interest, which
  widens the tolerances (never narrows them).

A node that cannot serve the earlier state (no history, an error) leaves the stated rate, with the reason
recorded in the vault's `share_price_rate_source`, which the plan's tolerances and notes show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mammon.abi import function
from mammon.node import Node, NodeError, NodeUnavailable
from mammon.protocols.base import RAY, SECONDS_PER_YEAR

LOOKBACK_SECONDS = 3600
SAFETY = 2
EXTRA_SHARE_DIGITS = 9
_PROBE_BLOCKS = 100  # how far back the block time is sampled to aim at the lookback


@dataclass(frozen=True)
class Measured:
    """A share-price growth rate (ray per year) measured between two blocks."""

    rate: int
    blocks: int
    seconds: int


@dataclass(frozen=True)
class Unmeasured:
    reason: str


@dataclass
class History:
    """The latest block and the block about LOOKBACK_SECONDS before it (aimed by the block time of the last
    `_PROBE_BLOCKS` blocks; the measured span uses the blocks' own timestamps), read once per market read."""

    node: Node
    latest: int
    latest_time: int
    start: int
    #: The oldest block the node serves state for, once a vault's search found where it ends (a pruned node, a node booted
    #: from a state dump): it ends there for every vault, so later vaults start their search there.
    served_from: int | None = None
    _times: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, node: Node) -> History:
        head = node.request("eth_getBlockByNumber", ["latest", False])
        latest, latest_time = int(head["number"], 16), int(head["timestamp"], 16)
        history = cls(node, latest, latest_time, latest)
        history._times[latest] = latest_time
        if latest == 0:
            return history
        probe = max(0, latest - _PROBE_BLOCKS)
        try:
            spent = latest_time - history.timestamp(probe)
        except (NodeError, NodeUnavailable):  # no header that far back: `measure` bisects down to what is served
            history.start = probe
            return history
        per_block = spent / (latest - probe) if spent > 0 else 0
        history.start = probe if per_block <= 0 else max(0, latest - math.ceil(LOOKBACK_SECONDS / per_block))
        return history

    def timestamp(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = int(self.node.request("eth_getBlockByNumber", [hex(block), False])["timestamp"], 16)
        return self._times[block]


@dataclass(frozen=True)
class _NoPrice:
    """Why the vault's price cannot be read at a block: the node serves no state there (`unserved`), or no vault yet."""

    reason: str
    unserved: bool = False


def _price(node: Node, vault: str, shares: int, block: int) -> int | _NoPrice:
    """convertToAssets(shares) at `block`, or why the node cannot tell (its error, or no vault there yet)."""
    fn = function("morpho/ERC4626", "convertToAssets")
    try:
        raw = node.call(vault, fn.encode({"shares": shares}), hex(block))
    except (NodeError, NodeUnavailable) as exc:
        message = exc.node_message if isinstance(exc, NodeError) else exc.detail
        # Only the node's own error says its state ends there. No answer at all (a timeout) says nothing about its
        # history, and a revert is the vault's answer (not yet upgraded, paused): both end this vault's search only.
        return _NoPrice(f"the node serves no state at block {block:,} ({message[:120]})", unserved=_history_ends(exc))
    if len(raw) != 32:
        return _NoPrice(f"the vault has no code at block {block:,}")
    return int.from_bytes(raw, "big")


def _history_ends(exc: NodeError | NodeUnavailable) -> bool:
    """Whether the node's error says it serves no state at that block (rather than the call reverting there)."""
    return (isinstance(exc, NodeError) and exc.code != 3 and not exc.data and "revert" not in exc.node_message.lower())


def measure(history: History, vault: str, share_decimals: int) -> Measured | Unmeasured:
    """The vault's share-price growth (ray/yr) from the lookback's start (or the earliest block that answers) to the latest."""
    node, latest = history.node, history.latest
    shares = 10 ** (share_decimals + EXTRA_SHARE_DIGITS)
    now = _price(node, vault, shares, latest)
    if isinstance(now, _NoPrice):
        return Unmeasured(now.reason)
    low = history.start
    if low >= latest:
        return Unmeasured(f"the chain has no block before {latest:,}")
    then = _price(node, vault, shares, low)
    if isinstance(then, _NoPrice):  # find the earliest block that answers: the node's history or the vault's age ends in between
        last = _price(node, vault, shares, latest - 1)
        if isinstance(last, _NoPrice):
            return Unmeasured(last.reason)
        low, then = _earliest_price(history, vault, shares, (low, then), (latest - 1, last))
    try:
        seconds = history.latest_time - history.timestamp(low)
    except (NodeError, NodeUnavailable) as exc:
        return Unmeasured(f"the node gives no header for block {low:,} ({str(exc)[:120]})")
    if seconds <= 0 or then <= 0:
        return Unmeasured(f"blocks {low:,} to {latest:,} span no time")
    rate = max(0, -(-(now - then) * RAY * SECONDS_PER_YEAR // (then * seconds)))
    return Measured(rate, latest - low, seconds)


def _earliest_price(history: History, vault: str, shares: int, bad: tuple[int, _NoPrice], good: tuple[int, int]) -> tuple[int, int]:
    """(block, price): the earliest block after `bad` at which the vault's price answers, by bisection up to `good`.

    The node's history ends at the same block for every vault (only the vault's own age differs), so once one search
    ends on a block the node refused to serve, the block after it is kept (`History.served_from`): a later vault tries
    that block first and, when it answers there, needs no search (below it the node serves nothing). Each vault still
    ends on the block a search of its own would find."""
    node = history.node
    (low, failed), (high, then) = bad, good
    floor = history.served_from
    if floor is not None and low < floor < high:
        price = _price(node, vault, shares, floor)
        if not isinstance(price, _NoPrice):
            return floor, price
        low, failed = floor, price
    while high - low > 1:
        mid = (low + high) // 2
        price = _price(node, vault, shares, mid)
        if isinstance(price, _NoPrice):
            low, failed = mid, price
        else:
            high, then = mid, price
    if failed.unserved:
        history.served_from = high
    return high, then


def duration(seconds: int) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds} s"


def percent(rate: int) -> str:
    return f"{rate * 100 / RAY:.2f}%/yr"


def choose(stated: int | None, result: Measured | Unmeasured) -> tuple[int, int | None, str]:
    """(the rate the plan uses, the measured rate or None, where the used rate came from: shown with the tolerances;
    why it was not measured is `Unmeasured.reason`, shown in the plan's notes)."""
    floor = stated or 0
    if isinstance(result, Unmeasured):
        said = f"stated {percent(floor)}" if stated is not None else "none stated"
        return floor, None, f"{said}; not measured on the node"
    over = f"over the last {result.blocks:,} blocks, {duration(result.seconds)}"
    if SAFETY * result.rate > floor:
        return SAFETY * result.rate, result.rate, f"{SAFETY} × {percent(result.rate)} measured {over}"
    said = f"stated {percent(floor)}" if stated is not None else "none stated"
    return floor, result.rate, f"{said}; {percent(result.rate)} measured {over}"
