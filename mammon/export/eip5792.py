"""EIP-5792 `wallet_sendCalls` parameters: the plan's calls for a wallet that batches natively.

The file is the JSON-RPC `params` array (one object: version, chainId as hex, from, atomicRequired,
calls, capabilities). `atomicRequired: true` asks the wallet to run all calls or none. The request `id`
(which EIP-5792 lets the app choose, unique per sender) is the plan's content hash, so the export names
its plan and a wallet refuses to send the same plan twice under that id.
"""

from __future__ import annotations

from typing import Any

from mammon.errors import TamperedPlanError
from mammon.export.calls import batch_calls, check_calls, only_keys, shown_json
from mammon.review import Review

VERSION = "2.0.0"


def build(reviewed: Review, *, where: str = "plan") -> list[dict[str, Any]]:
    plan = reviewed.plan
    calls = [{"to": c.to, "value": hex(c.value), "data": c.data} for c in batch_calls(reviewed, where=where)]
    return [{
        "version": VERSION,
        "id": plan.content_hash,
        "chainId": hex(plan.chain.id),
        "from": plan.wallet,
        "atomicRequired": True,
        "calls": calls,
        "capabilities": {},
    }]


def check(reviewed: Review, data: Any, where: str, *, plan_where: str = "plan") -> None:
    plan = reviewed.plan
    params = data[0]
    if params.get("id") != plan.content_hash:
        raise TamperedPlanError(f"id is {params.get('id')!r}, not plan {plan.content_hash}: the export is for another plan", where=where)
    chain_id = params["chainId"]
    if not isinstance(chain_id, str) or not chain_id.lower().startswith("0x"):
        raise TamperedPlanError(f"chainId is {str(chain_id)[:80]}, not a 0x-prefixed hex string: EIP-5792 writes chain {plan.chain.id} as "
                                f"{hex(plan.chain.id)!r}", where=where)
    if int(chain_id, 16) != plan.chain.id:
        raise TamperedPlanError(f"chainId is {params['chainId']}, the plan is for chain {plan.chain.id}", where=where)
    if str(params["from"]).lower() != plan.wallet.lower():
        raise TamperedPlanError(f"from is {params['from']}, the plan's wallet is {plan.wallet}", where=where)
    if params.get("atomicRequired") is not True:
        raise TamperedPlanError("atomicRequired is not true: the wallet could run part of the batch", where=where)
    only_keys(params, build(reviewed, where=plan_where)[0], where, what="the request")
    if params.get("version") != VERSION:
        raise TamperedPlanError(f"version is {shown_json(params.get('version'))}, mammon writes {VERSION!r}", where=where)
    if params.get("capabilities") != {}:  # a paymaster (who pays, and sees, the batch) or any other capability is not the plan's
        raise TamperedPlanError(f"capabilities is {shown_json(params.get('capabilities'))}: mammon asks the wallet for none", where=where)
    check_calls(params["calls"], batch_calls(reviewed, where=plan_where), where, items="calls",
                value_of=lambda c: int(str(c.get("value", "0x0")), 16), shown=hex, data_of=lambda c: str(c.get("data", "")),
                more=lambda c, _, at: only_keys(c, ("to", "value", "data"), at, what="the call"))
