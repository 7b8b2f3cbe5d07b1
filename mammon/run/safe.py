"""The safe runner: an atomic plan as ONE `execTransaction` of a Safe 1.4.1 (`--runner safe`).

Owners sign the plan's `safeTxHash` with `mammon safe sign plan.yaml` (each adds a signature to
`<plan>.safe-signatures.json`; a signature is checked against the hash and the owners when it is
added and again when it is used). Apply executes once the threshold is met: any account pays the gas
(`MAMMON_PRIVATE_KEY` / `--keystore`), and the signatures go into `execTransaction` sorted by owner, as
the Safe requires. Too few signatures, a signer that is not an owner, or a Safe whose nonce, owners
or threshold moved since the plan was made: refused before anything is sent, naming who and how many.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from eth_utils import to_checksum_address

from mammon.errors import InputError, PlanError
from mammon.files import loads_json, read_text
from mammon.plan.batch import exec_transaction_data
from mammon.plan.model import Plan, SafeTx
from mammon.run.atomic import AtomicRunner, Trial, send_on_fork, tried_on_fork
from mammon.run.base import Runner
from mammon.run.keys import Signer
from mammon.run.record import atomic_write


class NotEnoughSignaturesError(PlanError):
    """The Safe's threshold is not met (or a signature is not an owner's)."""


def signatures_path(plan_path: str | Path) -> Path:
    plan_path = Path(plan_path)
    return plan_path.with_name(plan_path.name.rsplit(".", 1)[0] + ".safe-signatures.json")


def recover(safe_tx_hash: str, signature: str) -> str:
    from eth_account import Account

    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65 or raw[64] not in (27, 28):
        raise ValueError("not a 65-byte ECDSA signature with v 27/28")
    return str(Account._recover_hash(bytes.fromhex(safe_tx_hash[2:]), vrs=(raw[64], int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"))))


@dataclass
class Signatures:
    """Owner -> signature over one plan's safeTxHash."""

    plan_hash: str
    safe_tx_hash: str
    by_owner: dict[str, str]

    @classmethod
    def load(cls, path: Path, plan: Plan) -> Signatures:
        tx = _safe_tx(plan)
        if not path.exists():
            return cls(plan.content_hash, tx.safe_tx_hash, {})
        data = loads_json(read_text(path), where=str(path))  # as every file a user hands mammon: size, depth, duplicate keys
        try:
            plan_hash, tx_hash, sigs = str(data["plan"]), str(data["safe_tx_hash"]), dict(data["signatures"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a mammon Safe signatures file ({exc.__class__.__name__})", where=str(path)) from None
        if plan_hash != plan.content_hash or tx_hash != tx.safe_tx_hash:
            raise InputError(f"these signatures are for plan {plan_hash[:19]}… (safeTxHash {tx_hash[:12]}…), not this plan", where=str(path))
        owners = {o.lower() for o in tx.owners}
        checked: dict[str, str] = {}
        for owner, sig in sigs.items():
            try:
                signer = recover(tx.safe_tx_hash, str(sig))
            except ValueError as exc:
                raise InputError(f"signature of {owner}: {exc}", where=str(path)) from None
            if signer.lower() != str(owner).lower():
                raise InputError(f"the signature listed for {owner} was made by {signer}", where=str(path))
            if signer.lower() not in owners:
                raise InputError(f"{signer} is not an owner of Safe {tx.safe} (owners: {', '.join(tx.owners)})", where=str(path))
            checked[to_checksum_address(signer)] = str(sig)
        return cls(plan_hash, tx_hash, checked)

    def save(self, path: Path) -> None:
        """Replace the file durably (a crash leaves the old signatures or the new ones, never a torn file); its mode
        stays what a plain `open` creates (signatures are public: owners pass the file around)."""
        data = {"plan": self.plan_hash, "safe_tx_hash": self.safe_tx_hash, "signatures": dict(sorted(self.by_owner.items()))}
        atomic_write(path, json.dumps(data, indent=2) + "\n", mode=0o666)

    def packed(self, threshold: int) -> bytes:
        """`threshold` signatures sorted by owner address (ascending), as Safe.checkNSignatures reads them."""
        owners = sorted(self.by_owner, key=lambda a: int(a, 16))[:threshold]
        return b"".join(bytes.fromhex(self.by_owner[o][2:]) for o in owners)


def _safe_tx(plan: Plan) -> SafeTx:
    if plan.batch is None or plan.batch.safe is None:
        raise InputError("this plan is not a Safe plan: compile it with --execution safe", where="plan: execution")
    return plan.batch.safe


def check_owner(plan: Plan, signer: Signer) -> None:
    tx = _safe_tx(plan)
    if signer.address.lower() not in {o.lower() for o in tx.owners}:
        raise NotEnoughSignaturesError(f"the key is for {signer.address}, which is not an owner of Safe {tx.safe} "
                                       f"(owners: {', '.join(tx.owners)})", where="safe sign")


def sign(plan: Plan, signer: Signer, path: Path) -> tuple[Signatures, bool]:
    """Add `signer`'s signature of the plan's safeTxHash to the file at `path`; (signatures, newly added)."""
    tx = _safe_tx(plan)
    check_owner(plan, signer)
    sigs = Signatures.load(path, plan)
    if signer.address in sigs.by_owner:
        return sigs, False
    sigs.by_owner[signer.address] = "0x" + signer.sign_hash(bytes.fromhex(tx.safe_tx_hash[2:])).hex()
    sigs.save(path)
    return sigs, True


def status_line(plan: Plan, sigs: Signatures) -> str:
    tx = _safe_tx(plan)
    have = sorted(sigs.by_owner, key=lambda a: int(a, 16))
    missing = max(tx.threshold - len(have), 0)
    who = ", ".join(have) or "nobody"
    return (f"Safe {tx.safe} needs {tx.threshold} of {len(tx.owners)} owner signatures; it has {len(have)} (from {who})"
            + (f"; {missing} missing" if missing else "; ready to apply"))


TRIAL_SENDER = "0x000000000000000000000000000000000000dEaD"  # pays gas on the fork; owns nothing


def trial_with_approvals(plan: Plan, rpc_url: str) -> str | None:
    """Before an owner signs: the Safe transaction on an anvil fork of `rpc_url` (`try_with_approvals`); the reason it fails, or None."""
    return tried_on_fork(rpc_url, lambda fork: try_with_approvals(fork, plan))


def try_with_approvals(fork: Any, plan: Plan) -> Trial:
    """The Safe transaction on `fork`, the threshold's owners approving the safeTxHash on chain (`approveHash`) in place
    of their signatures (checking an approval costs less gas than an ECDSA signature: see compile.batching.SAFE_SIGNATURE_GAS)."""
    from mammon.abi import function
    from mammon.plan.batch import SAFE_ABI
    from mammon.fork import GAS_TOPUP_WEI

    tx = _safe_tx(plan)
    assert plan.batch is not None
    owners = sorted(tx.owners, key=lambda a: int(a, 16))[:tx.threshold]
    approve = function(SAFE_ABI, "approveHash").encode({"hashToApprove": bytes.fromhex(tx.safe_tx_hash[2:])})
    for owner in owners:
        fork.impersonate(owner)
        fork.ensure_eth(owner, GAS_TOPUP_WEI)
        approved = send_on_fork(fork, plan, owner, tx.safe, approve, 100_000)
        if approved.failure:
            return Trial(None, failure=f"approveHash by {owner}: {approved.failure}")
    # pre-validated signatures: r = the owner, s = 0, v = 1, valid only through the approval of this very hash
    # (sent by a non-owner: from an owner, v = 1 would pass for whatever hash the Safe computes at its current nonce)
    signatures = b"".join(bytes(12) + bytes.fromhex(o[2:]) + bytes(32) + b"\x01" for o in owners)
    fork.impersonate(TRIAL_SENDER)
    fork.ensure_eth(TRIAL_SENDER, GAS_TOPUP_WEI)
    return send_on_fork(fork, plan, TRIAL_SENDER, tx.safe, exec_transaction_data(tx, signatures), plan.batch.gas.estimate)


class SafeRunner(AtomicRunner):
    name: ClassVar[str] = "safe"
    mode = "safe"
    signatures: Path | None = None

    @classmethod
    def create(cls, plan: Plan, *, signatures: str | None = None, **options: Any) -> Runner:
        runner = super().create(plan, **options)
        assert isinstance(runner, SafeRunner)
        runner.signatures = Path(signatures) if signatures else None
        return runner

    def account(self) -> str:
        return self.plan.wallet  # the Safe acts; the key only pays gas (checked in sender_check)

    def _sender(self) -> str:
        assert self._signer is not None
        return self._signer.address

    def _sigs(self, plan: Plan) -> Signatures:
        if self.signatures is None:
            raise InputError("the safe runner needs the owners' signatures: pass the plan file (its .safe-signatures.json)", where="--runner safe")
        return Signatures.load(self.signatures, plan)

    def sender_check(self, plan: Plan) -> None:
        tx = _safe_tx(plan)
        sigs = self._sigs(plan)
        if len(sigs.by_owner) < tx.threshold:
            raise NotEnoughSignaturesError(status_line(plan, sigs) + ": each owner runs `mammon safe sign PLAN`; nothing was sent",
                                           where="apply --runner safe")

    def batch_call(self, plan: Plan) -> tuple[str, str]:
        """The Safe's execTransaction with the owners' signatures (loaded and checked again)."""
        tx = _safe_tx(plan)
        return tx.safe, exec_transaction_data(tx, self._sigs(plan).packed(tx.threshold))

    untried = "cannot try the Safe transaction before sending"

    def try_on_fork(self, fork: Any, plan: Plan, call: tuple[str, str]) -> Trial:
        """execTransaction with the owners' real signatures (`call`, built before the fork), sent by the gas payer."""
        from mammon.fork import GAS_TOPUP_WEI

        assert plan.batch is not None
        to, data = call
        payer = self._sender()
        fork.impersonate(payer)
        fork.ensure_eth(payer, GAS_TOPUP_WEI)
        return send_on_fork(fork, plan, payer, to, data, plan.batch.gas.estimate)
