"""Atomic execution modes: turn a compiled plan's steps into one transaction (`--execution batch|safe`).

The compiler has already fixed every amount at plan time (`compiler._amount` with `execution` set:
exact outputs stay exact, ranged ones take their lower bound and the plan says what may stay behind,
wide ranges are refused) and refused steps whose failure the chain reports as an error code. Here the
steps' calls are wrapped into the outer call, the gas is re-estimated for one transaction, and for a
Safe its state (nonce, owners, threshold) is pinned as preconditions next to the `safeTxHash`.

* batch: the wallet, delegated (EIP-7702) to the registry's Simple7702Account (`infra.eip7702`), calls
  itself with `executeBatch`; the authorization is signed at apply time, only when needed.
* safe: the Safe DELEGATECALLs the registry's MultiSendCallOnly 1.4.1 (`infra.safe.multisend_call_only`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


from mammon.abi import abi_decode, function
from mammon.chains import ChainConfig
from mammon.errors import InputError, PlanError
from mammon.market import gas_cost_usd
from mammon.plan.batch import SAFE_ABI, InnerCall, execute_batch_data, multisend_data, safe_tx_hash
from mammon.plan.model import BATCH_FORMAT_VERSION, Batch, Call, Gas, Plan, Precondition, SafeTx, Totals
from mammon.plan.planfile import seal
from mammon.types import checksum

INTRINSIC_GAS = 21_000
#: One executeBatch call on the delegate (dispatch, loop, call overhead per inner call), and the EIP-7702
#: authorization (PER_EMPTY_ACCOUNT_COST, charged up front for each authorization; the static figure keeps all of it).
BATCH_OVERHEAD, BATCH_PER_CALL, AUTHORIZATION_GAS = 10_000, 4_000, 25_000
#: execTransaction: signature checks, nonce, events (SafeL2), the DELEGATECALL into multiSend.
SAFE_OVERHEAD, SAFE_PER_OWNER, SAFE_PER_CALL = 45_000, 7_000, 4_000
#: What one owner's ECDSA signature costs beyond the on-chain approval (`approveHash`) that stands in for it when
#: the Safe transaction is measured on a fork before anyone signed (ecrecover and its calldata vs one storage read).
#: Measured on the devnet's Safe 1.4.1 (SafeL2, real bytecode): 372,813 gas used with the owner's signature vs 371,288 with
#: the approval, same 5-step plan (calldata: 65 non-zero bytes vs mostly zeros, 528; ecrecover vs the approval's cold read, 997).
#: Zero bytes in a signature or an owner's address move it by 12 gas each; tests/rpc/test_atomic.py checks real executions
#: of the 1-of-1 and the 2-of-3 Safe come within 100 gas per signature.
SAFE_SIGNATURE_GAS = 1_525


@dataclass(frozen=True)
class SafeState:
    """What the Safe is at plan time; pinned in the plan and re-checked before execution."""

    nonce: int
    owners: list[str]
    threshold: int


def registry_address(chain: ChainConfig, *path: str) -> str:
    node: object = chain.infra
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, str):
        raise InputError(f"the {chain.name} registry has no infra.{'.'.join(path)} address, which --execution needs", where="--execution")
    return checksum(node)


def _gas(plan: Plan, per_call: int, overhead: int) -> int:
    inner = sum(s.gas.estimate for s in plan.steps)
    return inner - INTRINSIC_GAS * (len(plan.steps) - 1) + overhead + per_call * len(plan.steps)


def attach(plan: Plan, mode: str, chain: ChainConfig, safe: SafeState | None = None, *, sealed: bool = True) -> Plan:
    """The plan as one atomic transaction (sealed unless `sealed=False`); `plan`'s amounts must already be fixed (see module doc)."""
    calls = [InnerCall(s.call.to, s.call.value, s.call.data) for s in plan.steps]
    for step in plan.steps:
        if step.refs:
            raise PlanError(f"argument {step.refs[0].arg} still depends on ${{{step.refs[0].ref}}} at apply time (compile it with --execution {mode})",
                            where=f"step {step.id}")
    preconditions = list(plan.preconditions)
    if mode == "batch":
        delegate = registry_address(chain, "eip7702", "simple7702_account")
        batch = Batch(mode="batch", call=Call(to=plan.wallet, value=0, data=execute_batch_data(calls)), delegate=delegate,
                      gas=Gas(estimate=_gas(plan, BATCH_PER_CALL, BATCH_OVERHEAD + AUTHORIZATION_GAS), source="static"))
    elif mode == "safe":
        if safe is None:
            raise InputError("--execution safe reads the Safe's nonce, owners and threshold from a node: pass --rpc URL", where="--execution")
        multisend = registry_address(chain, "safe", "multisend_call_only")
        tx = SafeTx(safe=plan.wallet, to=multisend, data=multisend_data(calls), nonce=safe.nonce, owners=safe.owners,
                    threshold=safe.threshold, safe_tx_hash="0x" + "00" * 32)
        tx = tx.model_copy(update={"safe_tx_hash": safe_tx_hash(plan.chain.id, tx)})
        batch = Batch(mode="safe", call=Call(to=multisend, value=0, data=tx.data), safe=tx,
                      gas=Gas(estimate=_gas(plan, SAFE_PER_CALL, SAFE_OVERHEAD + SAFE_PER_OWNER * safe.threshold), source="static"))
        preconditions += safe_preconditions(plan.wallet, safe)
    else:
        raise InputError(f"unknown execution mode {mode!r}; use sequential, batch or safe", where="--execution")
    left = [n for n in plan.notes if n.startswith("batch: ")]
    notes = [n for n in plan.notes if not n.startswith("batch: ")]
    batch = batch.model_copy(update={"left_behind": [n.removeprefix("batch: ") for n in left]})
    attached = plan.model_copy(update={"format_version": BATCH_FORMAT_VERSION, "execution": mode, "batch": batch,
                                       "preconditions": preconditions, "notes": notes, "totals": batch_totals(plan, batch.gas.estimate)})
    return seal(attached) if sealed else attached


def batch_totals(plan: Plan, gas: int) -> Totals:
    """The plan's totals with the one transaction's gas (and its cost at the plan's gas price and ETH price)."""
    cost_eth = (Decimal(gas) * plan.market.gas_price_gwei / Decimal(10**9)).quantize(Decimal("1e-12"))
    return plan.totals.model_copy(update={"gas": gas, "cost_eth": cost_eth, "cost_usd": gas_cost_usd(cost_eth, plan.market.prices_usd)})


def safe_preconditions(safe: str, state: SafeState) -> list[Precondition]:
    """The Safe's nonce and threshold, and that every pinned owner still is one (each a uint256 view compared)."""
    nonce = function(SAFE_ABI, "nonce").encode({})
    threshold = function(SAFE_ABI, "getThreshold").encode({})
    out = [
        Precondition(kind="rate", description="Safe nonce: the signatures are for this nonce only", contract=safe, data=nonce,
                     token="Safe nonce", decimals=0, op="eq", value=state.nonce),
        Precondition(kind="rate", description="Safe threshold: signatures needed", contract=safe, data=threshold,
                     token="Safe threshold", decimals=0, op="eq", value=state.threshold),
    ]
    for owner in state.owners:
        out.append(Precondition(kind="rate", description=f"{owner} is an owner of the Safe (1 = yes)", contract=safe,
                                data=function(SAFE_ABI, "isOwner").encode({"owner": owner}), token=f"isOwner({owner})", decimals=0, op="eq", value=1))
    return out


def read_safe_state(rpc_url: str, safe: str) -> SafeState:
    """nonce, owners and threshold of the Safe at `safe`, read from the node (refuses an address that is not a Safe)."""
    from mammon.node import Node, NodeError

    node = Node(rpc_url)
    try:
        nonce = node.call(safe, function(SAFE_ABI, "nonce").encode({}))
        owners = node.call(safe, function(SAFE_ABI, "getOwners").encode({}))
        threshold = node.call(safe, function(SAFE_ABI, "getThreshold").encode({}))
    except NodeError as exc:
        raise InputError(f"{safe} does not answer as a Safe (nonce/getOwners/getThreshold): {exc.message}", where="--wallet") from None
    if len(nonce) < 32 or len(threshold) < 32 or len(owners) < 64:
        raise InputError(f"{safe} is not a Safe: it has no nonce/getOwners/getThreshold", where="--wallet")
    return SafeState(nonce=int.from_bytes(nonce[:32], "big"), owners=[checksum(a) for a in abi_decode(["address[]"], owners)[0]],
                     threshold=int.from_bytes(threshold[:32], "big"))
