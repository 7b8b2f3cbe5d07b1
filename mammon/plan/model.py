"""The plan file format: what will be signed, what it should do, and what it assumes.

Versioned with semver in `format_version`: a minor bump only adds optional fields, a major bump breaks.
Every integer amount is in base units and serialised as a string (uint256 overflows JSON numbers).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mammon.market import Market as MarketSnapshot
from mammon.recommend import Recommendation
from mammon.types import Address, Decimals, HexData, PlainDecimal, UInt, Wallet, Wei

# 2.0: a recommendation's expected_apy is a percentage as a decimal string ("8.5"; 1.x held a float fraction, 0.085),
# and `inputs` records what the compile used, so validate/apply can compile the plan again.
FORMAT_VERSION = "2.0.0"
#: Plans that use the 2.1 additions (`execution`, `batch`) declare this version; others keep 2.0.0, byte for byte.
BATCH_FORMAT_VERSION = "2.1.0"

# major.minor.patch, nothing else: the review prints it on its first line.
FormatVersion = Annotated[str, Field(pattern=r"^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$")]

StepKind = Literal["approve", "withdraw", "deposit", "swap", "add_liquidity", "remove_liquidity", "check"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Call(_Model):
    """The transaction exactly as it will be signed (nonce, fees and gas limit are chosen at apply time)."""

    to: Address
    value: Wei = 0
    data: HexData


class DecodedArg(_Model):
    """One argument as decoded from `data`; `token` names the unit an amount is shown in."""

    name: str
    type: str
    value: Any = Field(description="ABI value as JSON (integers as strings, tuples as lists)")
    token: str | None = Field(None, description="token symbol whose units this amount is in")
    decimals: Decimals | None = None
    display: str | None = Field(None, description="human form, e.g. '1,000.00 USDC' or 'USDC (0x8335…)'")


class Decoded(_Model):
    contract: str = Field(description="human name of the target, from the chain registry")
    function: str = Field(description="canonical signature, e.g. supply(address,uint256,address,uint16)")
    args: list[DecodedArg]


class Gas(_Model):
    estimate: int = Field(ge=0)
    source: Literal["static", "node"]
    failed_dry_run: str | None = Field(None, description="why the step failed when `plan --rpc --allow-failing` dry-ran the plan "
                                                         "on a fork of the node; show and validate report it")


class Tolerance(_Model):
    """How far an actual effect may differ: exactly, by a few wei, or down to a stated minimum."""

    kind: Literal["exact", "wei", "bps", "min_out"]
    value: Wei = 0
    reason: str | None = Field(None, description="why it is this wide, e.g. 'interest at 3.07%/yr over at most 10 min'")


class Effect(_Model):
    """Expected change of `account`'s balance of `token` (positive = gains)."""

    account: Address
    account_label: str = Field(description="'wallet' or the contract's registry name")
    token: str
    token_address: Address
    decimals: Decimals
    delta: Wei
    tolerance: Tolerance = Tolerance(kind="exact")


class AllowanceChange(_Model):
    owner: Address
    spender: Address
    spender_label: str
    token: str
    token_address: Address
    before: Wei | None = Field(None, description="current allowance when known at plan time")
    after: Wei


class Guard(_Model):
    """A condition the runner checks on the step's outcome."""

    kind: Literal["min_out", "return_code"]
    token: str | None = None
    value: Wei = 0
    description: str


class StepOutput(_Model):
    """A value later steps can use, measured as `account`'s balance change of `token` in this step."""

    token: str
    token_address: Address
    decimals: Decimals
    account: Address
    expected: Wei
    min: Wei
    max: Wei


class ArgRef(_Model):
    """An argument of this step's call bound to an earlier step's output (`${step.output}`)."""

    arg: str = Field(description="dotted path of the argument, e.g. 'amount' or 'params.amountIn'")
    ref: str = Field(description="'<step id>.<output name>', several joined by ' + ' are summed")
    num: Wei = Field(1, ge=0, description="the value is sum(outputs) * num // den")
    den: Wei = Field(1, ge=1)
    expected: Wei
    min: Wei
    max: Wei


class Pull(_Model):
    """Tokens the call pulls from the wallet with transferFrom: needs an allowance for `spender`."""

    token: str
    token_address: Address
    spender: Address
    amount: Wei = Field(description="most the step can pull (upper bound when the amount is a reference)")


class Step(_Model):
    id: str
    kind: StepKind
    venue: str
    description: str
    depends_on: list[str] = []
    call: Call
    decoded: Decoded
    gas: Gas
    effects: list[Effect] = []
    allowances: list[AllowanceChange] = []
    pulls: list[Pull] = []
    guards: list[Guard] = []
    outputs: dict[str, StepOutput] = {}
    refs: list[ArgRef] = []


class Precondition(_Model):
    """What the plan assumes about the chain before the first step; apply re-checks each one."""

    kind: Literal["balance", "allowance", "rate"]
    description: str
    contract: Address = Field(description="the token (balance, allowance) or the contract whose rate is read")
    data: HexData | None = Field(None, description="rate: the view call whose uint256 result is compared")
    account: Address | None = None
    spender: Address | None = None
    token: str
    decimals: Decimals
    op: Literal["gte", "eq", "lte"]
    value: Wei


class Policy(_Model):
    slippage_bps: int = Field(ge=0, le=5000)
    max_spend: dict[str, str] = Field(default_factory=dict, description="per-token spend limit in token units")


class Market(_Model):
    """Prices and gas price the plan's totals and swap expectations were computed with."""

    source: str = Field(description="where these came from: a file, the embedded defaults, or an RPC")
    gas_price_gwei: PlainDecimal
    prices_usd: dict[str, PlainDecimal]


class Totals(_Model):
    gas: int
    cost_eth: PlainDecimal
    cost_usd: PlainDecimal
    spend: dict[str, Wei] = Field(default_factory=dict, description="wallet outflow per token (base units)")


class SafeTx(_Model):
    """The Safe 1.4.1 transaction the owners sign (EIP-712 `SafeTx`), pinned with the Safe's state at plan time."""

    safe: Address = Field(description="the Safe (the plan's wallet)")
    to: Address = Field(description="MultiSendCallOnly 1.4.1, called with DELEGATECALL")
    value: UInt = 0
    data: HexData = Field(description="multiSend(bytes): the steps' calls, packed")
    operation: int = Field(1, ge=0, le=1, description="1 = DELEGATECALL")
    safe_tx_gas: UInt = 0
    base_gas: UInt = 0
    gas_price: UInt = 0
    gas_token: Address = "0x0000000000000000000000000000000000000000"
    refund_receiver: Address = "0x0000000000000000000000000000000000000000"
    nonce: UInt
    owners: list[Address]
    threshold: int = Field(ge=1)
    safe_tx_hash: HexData = Field(description="EIP-712 hash of this SafeTx for the Safe on the plan's chain (what owners sign)")


class Batch(_Model):
    """The one transaction of an atomic plan: every step's call, in order, inside one outer call."""

    mode: Literal["batch", "safe"]
    call: Call = Field(description="batch: wallet -> wallet executeBatch((address,uint256,bytes)[]); safe: the SafeTx's call")
    delegate: Address | None = Field(None, description="batch: the EIP-7702 delegate (Simple7702Account) from the registry")
    safe: SafeTx | None = None
    gas: Gas
    left_behind: list[str] = Field(default_factory=list, description="amounts fixed at plan time and what may stay in the wallet")


class ChainRef(_Model):
    id: int
    name: str


class NodeGas(_Model):
    """Gas measured by dry-running the plan on a fork of a node (`mammon plan --rpc`)."""

    block: int = Field(description="the forked block")
    measured: dict[str, int] = Field(default_factory=dict, description="step id -> gas used on the fork")
    failed: dict[str, str] = Field(default_factory=dict, description="step id -> why it did not succeed there (keeps its static gas)")
    batch: int | None = Field(None, description="atomic plans: gas of the one transaction there (with its EIP-7702 authorization "
                                                "or the owners' signature checks)")
    batch_failed: str | None = Field(None, description="atomic plans: why the one transaction reverts there (it keeps its static gas)")


class CompileInputs(_Model):
    """Everything the compile used besides the recommendations and the wallet: `validate` and `apply`
    compile the plan again from these and refuse it unless the result is identical."""

    compiler: str = Field(description="mammon version that compiled the plan")
    chain_config: str = Field(description="sha256 of the chain config compiled against (rpc_url left out)")
    market: MarketSnapshot = Field(description="the market snapshot: prices, gas price, venue state, the wallet's holdings")
    node_gas: NodeGas | None = None


class Plan(_Model):
    format_version: FormatVersion = FORMAT_VERSION
    chain: ChainRef
    wallet: Wallet
    created_at: AwareDatetime
    valid_until: AwareDatetime
    recommendations: list[Recommendation]
    policy: Policy
    market: Market
    preconditions: list[Precondition] = []
    steps: list[Step]
    totals: Totals
    notes: list[str] = Field(default_factory=list, description="compile-time caveats a reviewer must read")
    inputs: CompileInputs | None = Field(None, description="what the compile used, so validate and apply can compile the plan again")
    execution: Literal["sequential", "batch", "safe"] | None = Field(None, description="absent = sequential (one transaction per step)")
    batch: Batch | None = Field(None, description="batch and safe execution: the one transaction that carries every step")
    content_hash: str = ""

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
