"""Reviewed means signed: reviewers' EIP-191 signatures over a plan's content hash, in a sidecar file.

`mammon approve plan.yaml` appends the reviewer's signature to `plan.approvals.json` (next to the
plan). The plan file itself is never rewritten after it is compiled: the bytes a reviewer read are
the bytes that are applied, the content hash keeps meaning "everything in the file", and several
reviewers can sign without passing one file around in turn (each entry names the hash it signs, so
a sidecar left over from another plan approves nothing). A policy's `required_approvals` (N of its
`approvers`) makes apply refuse a plan without enough valid signatures from listed addresses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mammon.errors import InputError, PolicyError
from mammon.files import parse_model, read_data
from mammon.plan.model import Plan
from mammon.types import Address, HexData

FORMAT_VERSION = "1.0.0"


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    plan: str = Field(description="the content hash that was signed (the EIP-191 message)")
    signer: Address
    signature: HexData
    signed_at: datetime


class ApprovalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format_version: str = FORMAT_VERSION
    approvals: list[Approval] = []


def sidecar(plan_path: str | Path) -> Path:
    """`plan.yaml` -> `plan.approvals.json`."""
    plan_path = Path(plan_path)
    return plan_path.with_name(plan_path.name.rsplit(".", 1)[0] + ".approvals.json")


def load(path: str | Path) -> list[Approval]:
    """The approvals in a sidecar file (none when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    data = parse_model(ApprovalsFile, read_data(path), where=str(path))
    if data.format_version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        raise InputError(f"format_version {data.format_version} is not supported (this mammon reads 1.x)", where=str(path))
    return data.approvals


def recover(approval: Approval) -> str:
    """The address that made the signature (EIP-191 over the content hash)."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        return str(Account.recover_message(encode_defunct(text=approval.plan), signature=approval.signature))
    except Exception:  # a malformed signature: eth-account raises several kinds
        return ""


def add(plan: Plan, path: str | Path, signer_address: str, signature: str, now: datetime) -> Approval:
    """Append a signature (replacing an earlier one by the same signer for the same plan) and write the file."""
    path = Path(path)
    approval = Approval(plan=plan.content_hash, signer=signer_address, signature=signature, signed_at=now)
    if recover(approval).lower() != signer_address.lower():
        raise InputError("the signature does not recover to the signer (a signing bug); nothing written", where="approve")
    kept = [a for a in load(path) if not (a.plan == plan.content_hash and a.signer.lower() == signer_address.lower())]
    body = ApprovalsFile(approvals=[*kept, approval]).model_dump(mode="json")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return approval


def valid_signers(plan: Plan, approvals: Sequence[Approval]) -> set[str]:
    """Lower-case addresses whose signature over this plan's content hash checks out."""
    found = set()
    for approval in approvals:
        if approval.plan == plan.content_hash:
            signer = recover(approval).lower()
            if signer and signer == approval.signer.lower():
                found.add(signer)
    return found


def require(plan: Plan, approvals: Sequence[Approval], required: int, approvers: Sequence[str], *, where: str = "policy") -> int:
    """Refuse the plan unless `required` of `approvers` signed its content hash; returns how many did."""
    if required <= 0:
        return 0
    listed = {a.lower() for a in approvers}
    signed = valid_signers(plan, approvals) & listed
    if len(signed) < required:
        raise PolicyError(f"required_approvals is {required} of {len(listed)} approvers, but {len(signed)} approved plan "
                          f"{plan.content_hash[:19]}… (sign with `mammon approve PLAN`)", where=where)
    return len(signed)
