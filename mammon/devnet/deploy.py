"""Deploy the devnet's contracts onto a running anvil, fund wallets, write chain.yaml.

Why: this is the one place that knows how the real protocols are wired together
(Aave's addresses provider/ACL/proxies/reserves, Uniswap's factory/router/pool) and what
the default portfolio is, so tests and the CLI see the same chain.

Accounts: contracts are deployed from anvil's first default account (``accounts[0]``).
Protocol liquidity (Uniswap/Aerodrome pools, vault and Moonwell seed deposits) comes from
a separate seeder account (``accounts[9]``) so that ``accounts[0]`` holds exactly the
default portfolio, like every other funded wallet.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import RPCEndpoint, TxReceipt

from mammon.errors import DevnetError
from mammon.devnet.anvil import CHAIN_ID
from mammon.devnet.artifacts import (
    AAVE_CONFIGURATOR_LIBRARIES,
    AAVE_POOL_LIBRARIES,
    Artifact,
    load_artifact,
)
from mammon.devnet.batching import chain_yaml_lines as batching_yaml_lines
from mammon.devnet.batching import deploy_batching
from mammon.devnet.solc import Compiled, compile_contracts

ZERO = "0x0000000000000000000000000000000000000000"
FAR_DEADLINE = 2**32 - 1  # Uniswap/Aerodrome deadlines; chain time starts in 2025
TX_GAS = 15_000_000
MAX_FEE = 50 * 10**9
RAY = 10**27

USDC_DEC, WETH_DEC = 6, 18
USDC_UNIT, WETH_UNIT = 10**USDC_DEC, 10**WETH_DEC
UNITS = {"USDC": USDC_UNIT, "WETH": WETH_UNIT}
WETH_PRICE_USD = 3000

#: Default portfolio of every funded wallet, in whole tokens (USDC, WETH).
WALLET_BALANCE = (10_000, 10)
AAVE_SUPPLY = (5_000, 2)
MOONWELL_MINT = (5_000, 2)
VAULT_DEPOSIT = (5_000, 2)
AERODROME_LP = (3_000, 1)
GAS_ETH = 10 * 10**18

#: Seeder liquidity.
UNISWAP_LIQUIDITY = (3_000_000, 1_000)
AERODROME_LIQUIDITY = (3_000_000, 1_000)
VAULT_SEED = (100_000, 100)  # the plain OpenZeppelin vaults' seed deposits
MORPHO_VAULT_SEED = (20_000, 20)  # the MetaMorpho-style vaults' (lent on to the Aave pool)
MOONWELL_SEED = (100_000, 100)
VAULT_YIELD_BPS = 500  # share price 1.05
AAVE_LENDER_SUPPLY = (100_000, 200)  # the seeder's Aave deposits: collateral for its borrowing
AAVE_BORROWED = (114_000, 136)  # its debt: USDC ~81% utilised (~2.9%/yr to suppliers), WETH ~59% (~1.5%/yr), the Morpho-style vaults' supply included
STANDARD_VAULT_DEPOSIT = (5_000, 2)  # the default portfolio's position in each plain OpenZeppelin vault
STANDARD_VAULT_YIELD_BPS = 300  # share price 1.03 (offset 0: shares have the asset's decimals)
MOONWELL_INITIAL_RATE = {"USDC": 2 * 10**14, "WETH": 2 * 10**26}  # 0.02 underlying per mToken
MOONWELL_ACCRUED_BPS = 200  # past interest, paid into the market as cash: rate 0.0204 after seeding
MOONWELL_BORROWED = (82_000, 61)  # the seeder's debt: USDC ~80% utilised, WETH ~60%
# Jump-rate models, yearly mantissas (base, multiplier, jump multiplier, kink) and reserve factors: USDC pays
# suppliers ~4.6%/yr at 80% utilisation (borrowers 6.4%), WETH ~1.5%/yr at 60% (borrowers 3%).
MOONWELL_RATE_MODEL = {"USDC": (0, 8 * 10**16, 3 * 10**18, 8 * 10**17), "WETH": (0, 5 * 10**16, 3 * 10**18, 8 * 10**17)}
MOONWELL_RESERVE_FACTOR = {"USDC": 10 * 10**16, "WETH": 15 * 10**16}
UNI_FEE = 500
UNI_TICK_SPACING = 10
UNI_MAX_TICK = 887272


@dataclass
class Deployment:
    """Every address the rest of mammon needs (all EIP-55 checksummed)."""

    tokens: dict[str, str] = field(default_factory=dict)
    aave_v3: dict[str, Any] = field(default_factory=dict)
    moonwell: dict[str, str] = field(default_factory=dict)
    morpho_vaults: dict[str, str] = field(default_factory=dict)
    erc4626_vaults: dict[str, str] = field(default_factory=dict)  # plain OpenZeppelin vaults (offset 0)
    aerodrome: dict[str, str] = field(default_factory=dict)
    uniswap_v3: dict[str, str] = field(default_factory=dict)
    batching: dict[str, Any] = field(default_factory=dict)  # Safe 1.4.1, the devnet Safes, the EIP-7702 delegate
    transactions: int = 0
    deploy_seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Deployment":
        return cls(**json.loads(text))


def connect(rpc_url: str) -> Web3:
    """A Web3 on rpc_url with HTTP retries off (web3 retries read calls by default)."""
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}, exception_retry_configuration=None))


class Chain:
    """Thin transaction helper: explicit gas/fees (no estimate round trips), status checked."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.accounts = [to_checksum_address(a) for a in w3.eth.accounts]
        self.deployer = self.accounts[0]
        self.seeder = self.accounts[9]
        self.tx_count = 0

    def _send(self, tx: dict[str, Any], what: str) -> TxReceipt:
        tx.setdefault("gas", TX_GAS)
        tx.setdefault("maxFeePerGas", MAX_FEE)
        tx.setdefault("maxPriorityFeePerGas", 0)
        tx_hash = self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]  # web3 wants a TxParams TypedDict; tx is a plain dict
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
        self.tx_count += 1
        if receipt["status"] != 1:
            raise DevnetError(f"devnet deploy step failed (reverted): {what}")
        return receipt

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any, what: str = "") -> Contract:
        data = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).data_in_transaction
        receipt = self._send({"from": self.deployer, "data": data}, f"deploy {what}")
        address = receipt["contractAddress"]
        if address is None:
            raise DevnetError(f"devnet deploy step created no contract: {what}")
        return self.w3.eth.contract(address=address, abi=abi)

    def deploy_artifact(self, name: str, *args: Any, libraries: dict[str, str] | None = None) -> Contract:
        art: Artifact = load_artifact(name)
        return self.deploy(art.abi, art.linked(libraries or {}), *args, what=name)

    def deploy_compiled(self, c: Compiled, *args: Any) -> Contract:
        return self.deploy(c.abi, c.bytecode, *args, what=c.name)

    def at(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name).abi)

    def send(self, fn: ContractFunction, sender: str | None = None) -> TxReceipt:
        tx = {"from": sender or self.deployer, "to": fn.address, "data": fn._encode_transaction_data()}
        return self._send(tx, f"{fn.fn_name} on {fn.address}")


def _mint(chain: Chain, token: Contract, to: str, amount: int) -> None:
    chain.send(token.get_function_by_signature("mint(address,uint256)")(to, amount))


def _approve(chain: Chain, token: Contract, owner: str, spender: str, amount: int) -> None:
    chain.send(token.functions.approve(spender, amount), owner)


def _clear_allowances(chain: Chain, owner: str, tokens: Iterable[Contract], spenders: Iterable[str]) -> None:
    """Zero any allowance left behind (e.g. when a pool used less than approved)."""
    spenders = list(spenders)
    for token in tokens:
        for spender in spenders:
            if token.functions.allowance(owner, spender).call() != 0:
                _approve(chain, token, owner, spender, 0)


# ---------------------------------------------------------------------------- protocols


def deploy_tokens(chain: Chain) -> dict[str, Contract]:
    erc20 = load_artifact("MintableERC20")
    return {
        "USDC": chain.deploy(erc20.abi, erc20.bytecode, "USD Coin", "USDC", USDC_DEC, what="USDC"),
        "WETH": chain.deploy(erc20.abi, erc20.bytecode, "Wrapped Ether", "WETH", WETH_DEC, what="WETH"),
    }


def deploy_aave(chain: Chain, tokens: dict[str, Contract]) -> dict[str, Any]:
    """A full Aave V3 market with USDC and WETH reserves, as Aave's deploy scripts wire it."""
    d = chain.deployer
    provider = chain.deploy_artifact("PoolAddressesProvider", "mammon-devnet", d)
    chain.send(provider.functions.setACLAdmin(d))
    acl = chain.deploy_artifact("ACLManager", provider.address)
    chain.send(provider.functions.setACLManager(acl.address))
    chain.send(acl.functions.addPoolAdmin(d))

    libs: dict[str, str] = {}
    for name in AAVE_POOL_LIBRARIES + AAVE_CONFIGURATOR_LIBRARIES:
        libs[name] = chain.deploy_artifact(name, libraries=libs).address

    pool_impl = chain.deploy_artifact("Pool", provider.address, libraries=libs)
    chain.send(pool_impl.functions.initialize(provider.address))
    chain.send(provider.functions.setPoolImpl(pool_impl.address))
    pool = chain.at("Pool", provider.functions.getPool().call())

    conf_impl = chain.deploy_artifact("PoolConfigurator", libraries=libs)
    chain.send(conf_impl.functions.initialize(provider.address))
    chain.send(provider.functions.setPoolConfiguratorImpl(conf_impl.address))
    configurator = chain.at("PoolConfigurator", provider.functions.getPoolConfigurator().call())

    prices = {"USDC": 1 * 10**8, "WETH": WETH_PRICE_USD * 10**8}  # USD, 8 decimals
    feeds = {sym: chain.deploy_artifact("MockAggregator", p).address for sym, p in prices.items()}
    oracle = chain.deploy_artifact(
        "AaveOracle",
        provider.address,
        [tokens[s].address for s in prices],
        [feeds[s] for s in prices],
        ZERO,
        ZERO,  # base currency USD
        10**8,
    )
    chain.send(provider.functions.setPriceOracle(oracle.address))
    data_provider = chain.deploy_artifact("AaveProtocolDataProvider", provider.address)
    chain.send(provider.functions.setPoolDataProvider(data_provider.address))

    a_impl = chain.deploy_artifact("AToken", pool.address)
    s_impl = chain.deploy_artifact("StableDebtToken", pool.address)
    v_impl = chain.deploy_artifact("VariableDebtToken", pool.address)
    strategy = chain.deploy_artifact(
        "DefaultReserveInterestRateStrategy",
        provider.address,
        RAY * 90 // 100,  # optimal usage ratio
        0,  # base variable borrow rate
        RAY * 4 // 100,  # variable slope 1
        RAY * 60 // 100,  # variable slope 2
        RAY * 5 // 1000,  # stable slope 1
        RAY * 60 // 100,  # stable slope 2
        RAY * 1 // 100,  # base stable rate offset
        RAY * 8 // 100,  # stable rate excess offset
        RAY * 20 // 100,  # optimal stable to total debt ratio
    )
    inputs = []
    for sym, token in tokens.items():
        dec = USDC_DEC if sym == "USDC" else WETH_DEC
        inputs.append(
            (
                a_impl.address, s_impl.address, v_impl.address, dec, strategy.address, token.address,
                chain.seeder, ZERO,  # treasury, incentives controller
                f"Aave Devnet {sym}", f"aDev{sym}",
                f"Aave Devnet Variable Debt {sym}", f"variableDebtDev{sym}",
                f"Aave Devnet Stable Debt {sym}", f"stableDebtDev{sym}",
                b"",
            )
        )
    chain.send(configurator.functions.initReserves(inputs))
    risk = {"USDC": (8000, 8500, 10500), "WETH": (8000, 8250, 10500)}  # ltv, liq threshold, bonus (bps)
    for sym, token in tokens.items():
        chain.send(configurator.functions.configureReserveAsCollateral(token.address, *risk[sym]))
        chain.send(configurator.functions.setReserveBorrowing(token.address, True))

    a_tokens = {sym: pool.functions.getReserveData(t.address).call()[8] for sym, t in tokens.items()}
    return {
        "pool_addresses_provider": provider.address,
        "pool": pool.address,
        "pool_configurator": configurator.address,
        "pool_data_provider": data_provider.address,
        "oracle": oracle.address,
        "acl_manager": acl.address,
        "a_tokens": {s: to_checksum_address(a) for s, a in a_tokens.items()},
    }


def seed_aave_borrowers(chain: Chain, aave: dict[str, Any], tokens: dict[str, Contract]) -> None:
    """Borrowers in the Aave market, so its reserves pay interest: aToken balances grow every block, and every
    interaction updates the indexes (what real Aave gas and real plan effects include).

    The seeder supplies USDC and WETH as collateral and borrows both at a variable rate; with the market's
    strategy (optimal usage 90%, slope 4%) that pays suppliers ~2.9%/yr on USDC and ~1.5%/yr on WETH.
    """
    pool = chain.at("Pool", aave["pool"])
    s = chain.seeder
    for i, (sym, token) in enumerate(tokens.items()):
        amount = AAVE_LENDER_SUPPLY[i] * UNITS[sym]
        _mint(chain, token, s, amount)
        _approve(chain, token, s, pool.address, amount)
        chain.send(pool.functions.supply(token.address, amount, s, 0), s)
    for i, (sym, token) in enumerate(tokens.items()):
        chain.send(pool.functions.borrow(token.address, AAVE_BORROWED[i] * UNITS[sym], 2, 0, s), s)  # 2 = variable rate


def sqrt_price_x96(raw0: int, raw1: int) -> int:
    """sqrt(raw1/raw0) * 2**96 in integer math (raw amounts of token0 and token1)."""
    return math.isqrt(raw1 * 2**192 // raw0)


def deploy_uniswap(chain: Chain, tokens: dict[str, Contract]) -> dict[str, str]:
    """Uniswap V3 core + periphery + SwapRouter02, and a seeded USDC/WETH 0.05% pool."""
    weth = tokens["WETH"].address
    factory = chain.deploy_artifact("UniswapV3Factory")
    # The token descriptor only serves tokenURI(); a placeholder address is enough here.
    npm = chain.deploy_artifact("NonfungiblePositionManager", factory.address, weth, ZERO)
    quoter = chain.deploy_artifact("QuoterV2", factory.address, weth)
    router = chain.deploy_artifact("SwapRouter02", ZERO, factory.address, npm.address, weth)

    usdc_amt, weth_amt = UNISWAP_LIQUIDITY[0] * USDC_UNIT, UNISWAP_LIQUIDITY[1] * WETH_UNIT
    t0, t1 = sorted([tokens["USDC"], tokens["WETH"]], key=lambda c: int(c.address, 16))
    amount0, amount1 = (usdc_amt, weth_amt) if t0 is tokens["USDC"] else (weth_amt, usdc_amt)
    chain.send(
        npm.functions.createAndInitializePoolIfNecessary(
            t0.address, t1.address, UNI_FEE, sqrt_price_x96(amount0, amount1)
        )
    )
    pool = factory.functions.getPool(t0.address, t1.address, UNI_FEE).call()

    s = chain.seeder
    top = UNI_MAX_TICK // UNI_TICK_SPACING * UNI_TICK_SPACING
    for token, amount in ((t0, amount0), (t1, amount1)):
        _mint(chain, token, s, amount)
        _approve(chain, token, s, npm.address, amount)
    params = (t0.address, t1.address, UNI_FEE, -top, top, amount0, amount1, 0, 0, s, FAR_DEADLINE)
    chain.send(npm.functions.mint(params), s)
    _clear_allowances(chain, s, (t0, t1), [npm.address])
    return {
        "factory": factory.address,
        "swap_router02": router.address,
        "quoter_v2": quoter.address,
        "nonfungible_position_manager": npm.address,
        "pool_usdc_weth_500": to_checksum_address(pool),
    }


def deploy_vaults(chain: Chain, tokens: dict[str, Contract], compiled: dict[str, Compiled], aave: dict[str, Any]) -> dict[str, str]:
    """One MetaMorpho-style ERC-4626 vault per token that lends to the Aave pool (so its share price grows every
    second, as a MetaMorpho vault's with its Morpho Blue markets), seeded, then share price raised to ~1.05."""
    return _seeded_vaults(chain, tokens, compiled["MorphoStyleVault"], "Devnet {} Vault", "dv", VAULT_YIELD_BPS, MORPHO_VAULT_SEED,
                          lambda sym: (aave["pool"], aave["a_tokens"][sym]))


def deploy_standard_vaults(chain: Chain, tokens: dict[str, Contract], compiled: dict[str, Compiled]) -> dict[str, str]:
    """One plain OpenZeppelin ERC-4626 vault per token (decimals offset 0), seeded, share price raised to ~1.03."""
    return _seeded_vaults(chain, tokens, compiled["StandardVault"], "Devnet OZ {} Vault", "oz", STANDARD_VAULT_YIELD_BPS, VAULT_SEED)


def _seeded_vaults(chain: Chain, tokens: dict[str, Contract], artifact: Compiled, name: str, symbol: str, yield_bps: int,
                   seeds: tuple[int, int], extra_args: Callable[[str], tuple[Any, ...]] = lambda sym: ()) -> dict[str, str]:
    """Deploy `artifact` as a vault per token (constructor: asset, name, symbol, `extra_args(sym)`), deposit a seed from
    the seeder, then send it `yield_bps` of that seed (a donation: the share price steps up once)."""
    vaults: dict[str, str] = {}
    s = chain.seeder
    for i, (sym, token) in enumerate(tokens.items()):
        unit = USDC_UNIT if sym == "USDC" else WETH_UNIT
        vault = chain.deploy_compiled(artifact, token.address, name.format(sym), f"{symbol}{sym}", *extra_args(sym))
        seed = seeds[i] * unit
        _mint(chain, token, s, seed)
        _approve(chain, token, s, vault.address, seed)
        chain.send(vault.functions.deposit(seed, s), s)
        _mint(chain, token, vault.address, seed * yield_bps // 10_000)  # simulated yield
        vaults[sym] = vault.address
    return vaults


def fund_standard_vaults(chain: Chain, dep: Deployment, wallet: str, tokens: dict[str, Contract], compiled: dict[str, Compiled]) -> list[str]:
    """The wallet's position in each plain OpenZeppelin vault (its tokens already minted); returns the spenders used."""
    spenders: list[str] = []
    for i, (sym, token) in enumerate(tokens.items()):
        vault = chain.w3.eth.contract(address=to_checksum_address(dep.erc4626_vaults[sym]), abi=compiled["StandardVault"].abi)
        amount = STANDARD_VAULT_DEPOSIT[i] * UNITS[sym]
        spenders.append(vault.address)
        _approve(chain, token, wallet, vault.address, amount)
        chain.send(vault.functions.deposit(amount, wallet), wallet)
    return spenders


def deploy_moonwell(chain: Chain, tokens: dict[str, Contract], compiled: dict[str, Compiled]) -> dict[str, str]:
    """A Moonwell-style market per token with its jump-rate model: seeded, 2% past interest paid in as cash
    (the exchange rate 0.0204), and the seeder's borrowing, so the exchange rate grows every second from then on."""
    markets: dict[str, str] = {}
    s = chain.seeder
    for i, (sym, token) in enumerate(tokens.items()):
        unit = USDC_UNIT if sym == "USDC" else WETH_UNIT
        model = chain.deploy_compiled(compiled["MoonwellJumpRateModel"], *MOONWELL_RATE_MODEL[sym])
        m = chain.deploy_compiled(compiled["MoonwellMToken"], token.address, model.address, MOONWELL_INITIAL_RATE[sym],
                                  MOONWELL_RESERVE_FACTOR[sym], f"Moonwell {sym}", f"m{sym}")
        seed = MOONWELL_SEED[i] * unit
        _mint(chain, token, s, seed)
        _approve(chain, token, s, m.address, seed)
        chain.send(m.functions.mint(seed), s)
        _mint(chain, token, m.address, seed * MOONWELL_ACCRUED_BPS // 10_000)  # interest earned before the devnet's history
        chain.send(m.functions.borrow(MOONWELL_BORROWED[i] * unit), s)
        if m.functions.borrowBalanceStored(s).call() == 0:
            raise DevnetError(f"Moonwell stand-in borrow for {sym} returned an error code")
        markets[sym] = m.address
    return markets


def deploy_aerodrome(chain: Chain, tokens: dict[str, Contract], compiled: dict[str, Compiled]) -> dict[str, str]:
    """The Aerodrome stand-in router (its own pool factory) and a seeded USDC/WETH volatile pool."""
    router = chain.deploy_compiled(compiled["AerodromeRouter"])
    s = chain.seeder
    usdc, weth = tokens["USDC"], tokens["WETH"]
    a, b = AERODROME_LIQUIDITY[0] * USDC_UNIT, AERODROME_LIQUIDITY[1] * WETH_UNIT
    for token, amount in ((usdc, a), (weth, b)):
        _mint(chain, token, s, amount)
        _approve(chain, token, s, router.address, amount)
    chain.send(
        router.functions.addLiquidity(usdc.address, weth.address, False, a, b, a, b, s, FAR_DEADLINE), s
    )
    pool = router.functions.poolFor(usdc.address, weth.address, False, ZERO).call()
    return {
        "router": router.address,
        "pool_factory": to_checksum_address(router.functions.defaultFactory().call()),
        "pool_usdc_weth_volatile": to_checksum_address(pool),
    }


# ---------------------------------------------------------------------------- wallets


def fund_wallet(chain: Chain, dep: Deployment, wallet: str, compiled: dict[str, Compiled], *, lp: bool = True) -> None:
    """Give ``wallet`` the default portfolio; leaves no ERC-20 allowance behind.

    ``lp=False`` leaves out the Aerodrome LP and the Aave supply (the shared pool's liquidity and the Aave
    reserve's suppliers would move every later swap quote and Aave gas figure the other tests pin); that
    wallet keeps those tokens in its balance instead.

    Addresses that are not anvil accounts are impersonated (and given 10 ETH for gas).
    """
    wallet = to_checksum_address(wallet)
    with _acting_as(chain, wallet):
        _give_portfolio(chain, dep, wallet, compiled, _tokens(chain, dep), _router(chain, dep, compiled), lp=lp)


def _tokens(chain: Chain, dep: Deployment) -> dict[str, Contract]:
    erc20 = load_artifact("MintableERC20").abi
    return {sym: chain.w3.eth.contract(address=to_checksum_address(addr), abi=erc20) for sym, addr in dep.tokens.items()}


def _router(chain: Chain, dep: Deployment, compiled: dict[str, Compiled]) -> Contract:
    return chain.w3.eth.contract(address=to_checksum_address(dep.aerodrome["router"]), abi=compiled["AerodromeRouter"].abi)


@contextmanager
def _acting_as(chain: Chain, wallet: str) -> Iterator[None]:
    """Send from ``wallet`` meanwhile: an address that is not an anvil account is impersonated (and given 10 ETH for gas)."""
    provider, wallet = chain.w3.provider, to_checksum_address(wallet)
    impersonate = wallet not in chain.accounts
    if impersonate:
        provider.make_request(RPCEndpoint("anvil_impersonateAccount"), [wallet])
        if chain.w3.eth.get_balance(wallet) < GAS_ETH:
            provider.make_request(RPCEndpoint("anvil_setBalance"), [wallet, hex(GAS_ETH)])
    try:
        yield
    finally:
        if impersonate:
            provider.make_request(RPCEndpoint("anvil_stopImpersonatingAccount"), [wallet])


def _give_portfolio(chain: Chain, dep: Deployment, wallet: str, compiled: dict[str, Compiled], tokens: dict[str, Contract],
                    router: Contract, *, lp: bool) -> None:
    """`fund_wallet`'s transactions, sent from ``wallet`` (already acting as it)."""
    w3 = chain.w3
    spenders: list[str] = []
    for i, (sym, token) in enumerate(tokens.items()):
        total = (
            WALLET_BALANCE[i] + AAVE_SUPPLY[i] + MOONWELL_MINT[i] + VAULT_DEPOSIT[i] + AERODROME_LP[i]
            + (STANDARD_VAULT_DEPOSIT[i] if dep.erc4626_vaults else 0)
        ) * UNITS[sym]
        _mint(chain, token, wallet, total)

    pool = chain.at("Pool", dep.aave_v3["pool"])
    spenders.append(pool.address)
    for i, (sym, token) in enumerate(tokens.items() if lp else ()):
        amount = AAVE_SUPPLY[i] * UNITS[sym]
        _approve(chain, token, wallet, pool.address, amount)
        chain.send(pool.functions.supply(token.address, amount, wallet, 0), wallet)

    for i, (sym, token) in enumerate(tokens.items()):
        m = w3.eth.contract(address=to_checksum_address(dep.moonwell[sym]), abi=compiled["MoonwellMToken"].abi)
        amount = MOONWELL_MINT[i] * UNITS[sym]
        spenders.append(m.address)
        _approve(chain, token, wallet, m.address, amount)
        chain.send(m.functions.mint(amount), wallet)
        if m.functions.balanceOf(wallet).call() == 0:
            raise DevnetError(f"Moonwell stand-in mint for {sym} returned an error code")

    for i, (sym, token) in enumerate(tokens.items()):
        vault = w3.eth.contract(address=to_checksum_address(dep.morpho_vaults[sym]), abi=compiled["MorphoStyleVault"].abi)
        amount = VAULT_DEPOSIT[i] * UNITS[sym]
        spenders.append(vault.address)
        _approve(chain, token, wallet, vault.address, amount)
        chain.send(vault.functions.deposit(amount, wallet), wallet)

    if dep.erc4626_vaults:
        spenders += fund_standard_vaults(chain, dep, wallet, tokens, compiled)

    spenders.append(router.address)
    usdc, weth = tokens["USDC"], tokens["WETH"]
    if not lp:
        _clear_allowances(chain, wallet, tokens.values(), spenders)
        return
    a, b, _ = router.functions.quoteAddLiquidity(
        usdc.address, weth.address, False, ZERO, AERODROME_LP[0] * USDC_UNIT, AERODROME_LP[1] * WETH_UNIT
    ).call()
    _approve(chain, usdc, wallet, router.address, a)
    _approve(chain, weth, wallet, router.address, b)
    chain.send(
        router.functions.addLiquidity(usdc.address, weth.address, False, a, b, a, b, wallet, FAR_DEADLINE),
        wallet,
    )
    _clear_allowances(chain, wallet, tokens.values(), spenders)


def fund_safe(chain: Chain, dep: Deployment, safe: str, compiled: dict[str, Compiled]) -> None:
    """Give a devnet Safe the wallet's portfolio, Aave supply and Aerodrome LP included.

    Those two are taken over from the seeder rather than made anew: the seeder transfers aTokens and LP
    tokens to the Safe, which pays for them with the very tokens a supply or a deposit would have used.
    A new supply would move the Aave reserve's utilisation (every rate, interest and gas figure the other
    tests pin) and new liquidity the pool's quotes; a transfer moves neither (an aToken transfer updates
    no reserve state). The Safe ends up with the wallet's positions: `AAVE_SUPPLY` in aTokens and as many
    LP tokens as the wallet holds.
    """
    safe, seeder = to_checksum_address(safe), chain.seeder
    tokens, router = _tokens(chain, dep), _router(chain, dep, compiled)
    erc20 = load_artifact("MintableERC20").abi
    lp_token = chain.w3.eth.contract(address=to_checksum_address(dep.aerodrome["pool_usdc_weth_volatile"]), abi=erc20)
    with _acting_as(chain, safe):
        _give_portfolio(chain, dep, safe, compiled, tokens, router, lp=False)
        for i, (sym, token) in enumerate(tokens.items()):
            amount = AAVE_SUPPLY[i] * UNITS[sym]
            a_token = chain.w3.eth.contract(address=to_checksum_address(dep.aave_v3["a_tokens"][sym]), abi=erc20)
            chain.send(a_token.functions.transfer(safe, amount), seeder)
            chain.send(token.functions.transfer(seeder, amount), safe)
        liquidity = lp_token.functions.balanceOf(chain.deployer).call()  # the wallet's LP position
        usdc, weth = tokens["USDC"], tokens["WETH"]
        a, b = router.functions.quoteRemoveLiquidity(usdc.address, weth.address, False, ZERO, liquidity).call()
        chain.send(lp_token.functions.transfer(safe, liquidity), seeder)
        chain.send(usdc.functions.transfer(seeder, a), safe)
        chain.send(weth.functions.transfer(seeder, b), safe)


# ---------------------------------------------------------------------------- entry points


def deploy_all(w3: Web3, cache_dir: Path) -> tuple[Deployment, float]:
    """Deploy everything and fund anvil's first account. Returns (deployment, seconds)."""
    compiled = compile_contracts(cache_dir)
    started = time.perf_counter()
    if w3.eth.chain_id != CHAIN_ID:
        raise DevnetError(f"expected chain id {CHAIN_ID}, node reports {w3.eth.chain_id}")
    chain = Chain(w3)
    tokens = deploy_tokens(chain)
    dep = Deployment(tokens={sym: c.address for sym, c in tokens.items()})
    dep.aave_v3 = deploy_aave(chain, tokens)
    dep.uniswap_v3 = deploy_uniswap(chain, tokens)
    dep.morpho_vaults = deploy_vaults(chain, tokens, compiled, dep.aave_v3)
    seed_aave_borrowers(chain, dep.aave_v3, tokens)  # after the Morpho-style vaults' supply: its cash is part of what is lent
    dep.erc4626_vaults = deploy_standard_vaults(chain, tokens, compiled)
    dep.moonwell = deploy_moonwell(chain, tokens, compiled)
    dep.aerodrome = deploy_aerodrome(chain, tokens, compiled)
    fund_wallet(chain, dep, chain.deployer, compiled)
    # The Safes hold every position the wallet holds (the Aave supply and the LP taken over from the seeder: see fund_safe).
    dep.batching = deploy_batching(chain, lambda address: fund_safe(chain, dep, address, compiled))
    dep.transactions = chain.tx_count
    return dep, time.perf_counter() - started


def fund(w3: Web3, dep: Deployment, wallets: Sequence[str], cache_dir: Path) -> None:
    """Fund extra wallets on an already deployed chain (skips anvil's first account)."""
    compiled = compile_contracts(cache_dir)
    chain = Chain(w3)
    done = {chain.deployer}
    for wallet in wallets:
        wallet = to_checksum_address(wallet)
        if wallet not in done:
            fund_wallet(chain, dep, wallet, compiled)
            done.add(wallet)


def chain_yaml(dep: Deployment, rpc_url: str) -> str:
    """The chain config in the shape of shared/chains/base.yaml (addresses quoted)."""
    q = lambda a: f'"{to_checksum_address(a)}"'  # noqa: E731
    dec = {"USDC": USDC_DEC, "WETH": WETH_DEC}
    lines = [
        "# Generated by mammon.devnet: a local anvil chain. Do not edit; rerun `mammon.devnet.up()`.",
        "# Aave V3 and Uniswap V3 run their real npm bytecode; the Morpho vaults are OpenZeppelin",
        "# ERC-4626 vaults; Moonwell and Aerodrome are stand-ins (mammon/devnet/contracts).",
        "name: devnet",
        f"chain_id: {CHAIN_ID}",
        f'rpc_url: "{rpc_url}"',
        "tokens:",
    ]
    for sym, addr in dep.tokens.items():
        lines.append(f"  - {{symbol: {sym}, address: {q(addr)}, decimals: {dec[sym]}}}")
    a = dep.aave_v3
    lines += [
        "protocols:",
        "  aave_v3:",
        f"    pool_addresses_provider: {q(a['pool_addresses_provider'])}",
        f"    pool: {q(a['pool'])}",
        f"    pool_data_provider: {q(a['pool_data_provider'])}",
        "    a_tokens: {" + ", ".join(f"{s}: {q(x)}" for s, x in a["a_tokens"].items()) + "}",
        "  moonwell:",
        "    markets: {" + ", ".join(f"{s}: {q(x)}" for s, x in dep.moonwell.items()) + "}",
        "    m_token_decimals: 8",
        "  morpho:",
        "    vaults:",
    ]
    for sym, addr in dep.morpho_vaults.items():
        lines.append(f"      devnet_{sym.lower()}: {{address: {q(addr)}, asset: {sym}, kind: erc4626}}")
    if dep.erc4626_vaults:
        lines += ["  erc4626:", "    vaults:"]
        for sym, addr in dep.erc4626_vaults.items():
            lines.append(f"      oz_{sym.lower()}: {{address: {q(addr)}, asset: {sym}, share_decimals: {dec[sym]}}}")
    ae, u = dep.aerodrome, dep.uniswap_v3
    lines += [
        "  aerodrome:",
        f"    router: {q(ae['router'])}",
        f"    pool_factory: {q(ae['pool_factory'])}",
        "    pools:",
        f"      - {{token_a: USDC, token_b: WETH, stable: false, address: {q(ae['pool_usdc_weth_volatile'])}}}",
        "  uniswap_v3:",
        f"    factory: {q(u['factory'])}",
        f"    swap_router02: {q(u['swap_router02'])}",
        f"    quoter_v2: {q(u['quoter_v2'])}",
        "    pools:",
        f"      - {{token_a: USDC, token_b: WETH, fee: {UNI_FEE}, address: {q(u['pool_usdc_weth_500'])}}}",
    ]
    lines += batching_yaml_lines(dep.batching)
    return "\n".join(lines) + "\n"
