"""Named crash points for the crash-recovery tests: ``MAMMON_TEST_KILL_AT=<point>:<n>`` makes the
process SIGKILL itself the n-th time it reaches `<point>` (n defaults to 1; several points may be
given, comma-separated), read when the process starts (the crash tests set it for the child process
they kill). Unset (always, outside tests) a kill point costs a function call and nothing else.

Points, in the order an apply reaches them: ``apply_started`` (journal says running), ``step_signed``
(the audit log holds step_sent, the journal not yet), ``step_journaled`` (the journal holds the
signed bytes, nothing broadcast), ``step_broadcast`` (the node has the transaction, no receipt
read), ``receipt_wait`` (inside the receipt poll), ``step_outcome`` (the audit log holds
step_done, the journal still says sent), ``step_done`` (both say done), ``audit_appended``
(inside every audit append, between the fsynced line and the anchor), ``preflight`` (a fork of
the node is running). A fresh simulated apply reaches the step points in its one speculative pass,
before `before_send` (`engine._speculate`); the crash tests kill real (rpc) applies.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

_counts: dict[str, int] = {}
_suspended = 0
_ARMED = "MAMMON_TEST_KILL_AT" in os.environ  # once: a look-up in os.environ costs a microsecond, five per step of an apply


@contextmanager
def suspended() -> Iterator[None]:
    """No kill points inside (dry runs on a fork go through the same code as the real apply)."""
    global _suspended
    _suspended += 1
    try:
        yield
    finally:
        _suspended -= 1


def _targets() -> dict[str, int]:
    spec = os.environ.get("MAMMON_TEST_KILL_AT", "")
    out: dict[str, int] = {}
    for part in spec.split(","):
        name, _, n = part.strip().partition(":")
        if name:
            out[name] = int(n) if n.isdigit() else 1
    return out


def killpoint(name: str) -> None:
    """SIGKILL this process here if MAMMON_TEST_KILL_AT names this point and count."""
    if not _ARMED or _suspended:
        return
    want = _targets().get(name)
    if want is None:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == want:
        os.kill(os.getpid(), signal.SIGKILL)
