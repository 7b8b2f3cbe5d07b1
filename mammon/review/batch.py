"""Review of an atomic plan: the one outer call, decoded from its bytes, must carry exactly the steps.

The steps are reviewed one by one as for any plan (each call decoded, refs checked); here the outer
call (`executeBatch` for an EIP-7702 batch, `multiSend` inside a Safe's `execTransaction`) is decoded
from its own bytes and every inner call compared with the step at its position: target, value and
calldata, byte for byte. For a Safe the `safeTxHash` is recomputed from the SafeTx fields (the owners'
signatures are over it), and the registry's MultiSendCallOnly / delegate must be the ones used.
"""

from __future__ import annotations

from mammon.chains import ChainConfig
from mammon.errors import TamperedPlanError
from mammon.plan.batch import decode_batch, safe_tx_hash
from mammon.plan.model import Plan, SafeTx, Step


def _registry(chain: ChainConfig | None, *path: str) -> str | None:
    node: object = chain.infra if chain else None
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else None


ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def _no_refund(tx: SafeTx, at: str) -> None:
    """Refuse SafeTx fields mammon never writes, which the owners' hash commits to: a refund (baseGas, gasPrice,
    gasToken, refundReceiver: Safe's handlePayment pays (gasUsed + baseGas) x gasPrice of gasToken, uncapped by the
    transaction's own gas price) or a safeTxGas (with it a failing batch no longer reverts: "all or nothing" is lost)."""
    why = {"safe_tx_gas": "with it a failing batch would not revert", "base_gas": "a Safe refund would be paid out of the Safe",
           "gas_price": "a Safe refund would be paid out of the Safe"}
    for name, because in why.items():
        if getattr(tx, name) != 0:
            raise TamperedPlanError(f"{name} is {str(getattr(tx, name))[:80]}, mammon writes 0 ({because})", where=f"{at}.safe.{name}")
    for name in ("gas_token", "refund_receiver"):
        if getattr(tx, name).lower() != ZERO_ADDRESS:
            raise TamperedPlanError(f"{name} is {getattr(tx, name)}, mammon writes the zero address (a Safe refund would be paid out of the Safe)",
                                    where=f"{at}.safe.{name}")


def verify_batch(plan: Plan, ordered: list[Step], chain: ChainConfig | None, *, where: str = "plan") -> None:
    """Raise TamperedPlanError where the outer call and the steps disagree (or the plan's batch fields contradict each other)."""
    batch = plan.batch
    if (plan.execution in (None, "sequential")) != (batch is None):
        raise TamperedPlanError(f"execution is {plan.execution or 'sequential'} but the plan {'has' if batch else 'has no'} batch section", where=f"{where}: execution")
    if batch is None:
        return
    at = f"{where}: batch"
    if batch.mode != plan.execution:
        raise TamperedPlanError(f"batch.mode {batch.mode} contradicts execution {plan.execution}", where=at)
    if batch.mode == "batch":
        if batch.call.to != plan.wallet or batch.delegate is None:
            raise TamperedPlanError(f"a 7702 batch is a call from the wallet to itself, this one calls {batch.call.to}", where=f"{at}.call.to")
        known = _registry(chain, "eip7702", "simple7702_account")
        if chain is not None and (known is None or known.lower() != batch.delegate.lower()):
            raise TamperedPlanError(f"delegate {batch.delegate} is not the {chain.name} registry's Simple7702Account ({known or 'none listed'})", where=f"{at}.delegate")
    else:
        tx = batch.safe
        if tx is None or tx.safe != plan.wallet:
            raise TamperedPlanError("a safe batch needs its SafeTx, for the plan's wallet", where=f"{at}.safe")
        if (batch.call.to, batch.call.data, batch.call.value) != (tx.to, tx.data, tx.value) or tx.operation != 1:
            raise TamperedPlanError("batch.call is not the SafeTx's DELEGATECALL to MultiSendCallOnly", where=f"{at}.call")
        _no_refund(tx, at)
        known = _registry(chain, "safe", "multisend_call_only")
        if chain is not None and (known is None or known.lower() != tx.to.lower()):
            raise TamperedPlanError(f"the SafeTx delegatecalls {tx.to}, not the {chain.name} registry's MultiSendCallOnly ({known or 'none listed'})", where=f"{at}.safe.to")
        actual = safe_tx_hash(plan.chain.id, tx)
        if actual != tx.safe_tx_hash:
            raise TamperedPlanError(f"safe_tx_hash {tx.safe_tx_hash} is not the SafeTx's EIP-712 hash ({actual})", where=f"{at}.safe.safe_tx_hash")
        if len(set(o.lower() for o in tx.owners)) != len(tx.owners) or not 1 <= tx.threshold <= len(tx.owners):
            raise TamperedPlanError(f"threshold {tx.threshold} of {len(tx.owners)} owners is impossible", where=f"{at}.safe.threshold")
    try:
        inner = decode_batch(batch.mode, batch.call.data)
    except TamperedPlanError as exc:
        raise TamperedPlanError(exc.message, where=f"{at}.call.data") from None
    if len(inner) != len(ordered):
        raise TamperedPlanError(f"the outer call carries {len(inner)} calls, the plan has {len(ordered)} steps", where=f"{at}.call.data")
    for n, (call, step) in enumerate(zip(inner, ordered, strict=True)):
        if step.refs:
            raise TamperedPlanError(f"argument {step.refs[0].arg} depends on ${{{step.refs[0].ref}}}, which a batch cannot resolve", where=f"{where}: step {step.id}")
        mine = (call.to.lower(), call.value, call.data.lower())
        theirs = (step.call.to.lower(), step.call.value, step.call.data.lower())
        if mine != theirs:
            what = "target" if mine[0] != theirs[0] else "value" if mine[1] != theirs[1] else "calldata"
            raise TamperedPlanError(f"inner call {n + 1} differs from step {step.id} in its {what} (the outer call's bytes are what is signed)",
                                    where=f"{at}.call.data")
