"""One exception tree for everything mammon refuses or fails at.

::

    MammonError                      exit code 2 unless noted
    ├── InputError                   a file or argument the user gave is wrong (names file and field)
    │   ├── UnknownNameError         unknown protocol / token / chain / runner, with "did you mean"
    │   ├── AmbiguousNameError       a name that matches more than one protocol / token
    │   └── AmountError              zero, negative, over-precise or misplaced `all`
    ├── PlanError                    a plan that must not be used
    │   ├── TamperedPlanError        content hash mismatch, or calldata that disagrees with its view
    │   ├── ExpiredPlanError         past valid_until
    │   ├── WrongChainError          plan chain id differs from the runner's
    │   ├── StalePlanError           preconditions no longer hold (lists each changed field)
    │   └── PolicyError              the plan breaches the policy
    ├── DevnetError                  anvil or artifacts missing / failed
    └── RunFailed                    a step failed or a diff is out of tolerance (exit code 1)

Every message names the input, the field and, where possible, the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MammonError(Exception):
    """Root of every error mammon raises on purpose; the CLI prints it as one line."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InputError(MammonError):
    """A user-supplied file or argument is malformed or invalid."""


class UnknownNameError(InputError):
    """A name (protocol, token, chain, runner) is not known; suggests the closest ones."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, where: str | None = None, hint: str | None = None) -> None:
        if hint is None:
            known = sorted(known)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
        super().__init__(f"unknown {kind} {name!r}{hint}", where=where)


class AmbiguousNameError(InputError):
    """A name that matches several protocols or tokens once case, spaces, dashes and underscores are ignored."""

    def __init__(self, kind: str, name: str, matches: Iterable[str], *, where: str | None = None) -> None:
        super().__init__(f"{kind} {name!r} is ambiguous: it matches {', '.join(sorted(matches))}; use one of those names", where=where)


class AmountError(InputError):
    """An amount that cannot be turned into exact base units."""


class PlanError(MammonError):
    """A plan that must not be shown as valid or applied."""


class TamperedPlanError(PlanError):
    """The plan's bytes do not match its hash, or its calldata does not match its decoded view."""


class ExpiredPlanError(PlanError):
    """The plan is past its valid_until."""


class WrongChainError(PlanError):
    """The runner is on another chain than the plan, or the signer is not the plan's wallet."""


class StalePlanError(PlanError):
    """The chain no longer matches what the plan assumed; `changes` lists field by field."""

    def __init__(self, changes: list[str], *, where: str | None = None) -> None:
        self.changes = changes
        super().__init__("plan is stale: " + "; ".join(changes), where=where)


class PolicyError(PlanError):
    """The plan breaches a policy limit."""


class FeeCeilingError(MammonError):
    """The node's fees are above the policy's ceiling (a multiple of the plan's reviewed gas price): nothing is signed.
    Not a PlanError: the plan is fine, the moment is not; the run stops before signing and a rerun may send."""


class DevnetError(MammonError):
    """The local devnet cannot be started or deployed."""


class RunFailed(MammonError):
    """A step failed, or actual effects fell outside tolerance."""

    exit_code = 1
