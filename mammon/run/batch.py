"""The batch runner: an atomic plan as ONE EIP-7702 transaction from the wallet to itself (`--runner batch`).

The wallet's code must be delegated to the plan's Simple7702Account (`batch.delegate`, from the
registry). The runner reads the wallet's code: `0xef0100 || delegate` -> no authorization needed;
no code -> it signs an authorization (chain id, delegate, the nonce after this transaction's) with the
same key and sends it in the type-4 transaction; code delegated to any other contract, or contract
code -> refused, naming it. The call is `executeBatch(calls)` on the wallet itself, which
Simple7702Account allows only from the account (or its EntryPoint); any failing call reverts all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_utils import to_checksum_address

from mammon.errors import PlanError, WrongChainError
from mammon.plan.model import Plan
from mammon.run.atomic import AtomicRunner, Trial, send_on_fork

DESIGNATOR = "ef0100"
#: What an authorization refunds when its account exists (PER_EMPTY_ACCOUNT_COST 25,000 - PER_AUTH_BASE_COST 12,500,
#: EIP-7702): a wallet that pays for its own transaction always exists. It comes back only after execution, so a
#: transaction that carries an authorization gets it on top of its gas limit; a node-measured estimate leaves it out.
AUTHORIZATION_REFUND = 12_500


class DelegatedElsewhereError(PlanError):
    """The wallet's code is delegated to another contract than the plan's Simple7702Account."""


class BatchRunner(AtomicRunner):
    name: ClassVar[str] = "batch"
    mode = "batch"

    def delegation(self, wallet: str) -> str | None:
        """The wallet's EIP-7702 delegate, None for a plain EOA; raises for contract code."""
        code = (self.node.request("eth_getCode", [wallet, "latest"]) or "0x")[2:].lower()
        if not code:
            return None
        if code.startswith(DESIGNATOR) and len(code) == 46:
            return to_checksum_address("0x" + code[6:])
        raise DelegatedElsewhereError(f"the wallet {wallet} has contract code (not an EIP-7702 delegation); a 7702 batch needs an EOA",
                                      where="apply --runner batch")

    def sender_check(self, plan: Plan) -> None:
        if self.account().lower() != plan.wallet.lower():
            raise WrongChainError(f"the signer is {self.account()}, the plan's wallet is {plan.wallet}", where="plan: wallet")
        assert plan.batch is not None and plan.batch.delegate is not None
        current = self.delegation(plan.wallet)
        if current is not None and current.lower() != plan.batch.delegate.lower():
            raise DelegatedElsewhereError(
                f"the wallet {plan.wallet} is delegated (EIP-7702) to {current}, not to the plan's Simple7702Account {plan.batch.delegate}; "
                "mammon does not replace another delegation: undo it yourself, or apply the plan sequentially", where="apply --runner batch")
        code = self.node.request("eth_getCode", [plan.batch.delegate, "latest"]) or "0x"
        if len(code) <= 2:
            raise PlanError(f"the delegate {plan.batch.delegate} has no code on this chain", where="plan: batch.delegate")

    def batch_call(self, plan: Plan) -> tuple[str, str]:
        """The wallet calls itself: executeBatch on its delegated code."""
        assert plan.batch is not None
        return plan.wallet, plan.batch.call.data

    def authorize(self, plan: Plan, tx: dict[str, Any]) -> int:
        """A wallet not delegated yet: the type-4 transaction carries its authorization, signed for nonce + 1 (the sender's
        nonce is bumped before the authorization list is processed), which uses that nonce too."""
        assert plan.batch is not None and plan.batch.delegate is not None and self._signer is not None
        if self.delegation(plan.wallet) is not None:
            return 0
        tx["authorizationList"] = [self._signer.sign_authorization({"chainId": self.node.chain_id, "address": plan.batch.delegate,
                                                                    "nonce": tx["nonce"] + 1})]
        tx["type"] = 4
        tx["gas"] += AUTHORIZATION_REFUND  # charged up front, refunded after execution: the limit carries it
        return 1

    untried = "cannot try the batch before signing"

    def try_on_fork(self, fork: Any, plan: Plan, call: tuple[str, str]) -> Trial:
        """The wallet's code set to the delegation designator, then wallet -> wallet executeBatch (`try_batch`; `call`,
        the wallet's own executeBatch from `batch_call`, is what it sends)."""
        return try_batch(fork, plan)


def try_batch(fork: Any, plan: Plan) -> Trial:
    """The plan's executeBatch on `fork`, from the wallet to itself, the wallet's code set to the delegation designator
    (what its type-4 transaction's authorization does; the authorization's own gas is not in `gas_used`)."""
    from mammon.fork import GAS_TOPUP_WEI

    assert plan.batch is not None and plan.batch.delegate is not None
    fork.request("anvil_setCode", [plan.wallet, "0x" + DESIGNATOR + plan.batch.delegate[2:].lower()])
    fork.impersonate(plan.wallet)
    fork.ensure_eth(plan.wallet, GAS_TOPUP_WEI)
    return send_on_fork(fork, plan, plan.wallet, plan.wallet, plan.batch.call.data, plan.batch.gas.estimate)
