"""The devnet as a user sees it: real anvil, real bytecode, no mocks.

Checks that the snapshot boots, anvil's first account holds the default portfolio, and
each protocol does what mammon's plans will rely on (Aave round trip, SwapRouter02
exactInputSingle, Moonwell error codes without revert, Aerodrome slippage revert).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from eth_abi import encode
from eth_utils import function_abi_to_4byte_selector, is_checksum_address, keccak, to_checksum_address
from web3 import Web3
from web3.logs import DISCARD
from web3.contract import Contract

from mammon.devnet import DevnetInfo, down, running, up
from mammon.devnet.anvil import free_port
from mammon.devnet.artifacts import load_artifact
from mammon.devnet.deploy import connect, deploy_all
from mammon.devnet.solc import compile_contracts

ACCOUNT0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
MAX = 2**256 - 1
USDC, WETH = 10**6, 10**18


def erc20(w3: Web3, address: str) -> Contract:
    return w3.eth.contract(address=address, abi=load_artifact("MintableERC20").abi)


def compiled_contract(w3: Web3, cache: Path, name: str, address: str) -> Contract:
    return w3.eth.contract(address=address, abi=compile_contracts(cache)[name].abi)


def send(w3: Web3, fn: Any, sender: str = ACCOUNT0) -> Any:
    tx_hash = fn.transact({"from": sender, "gas": 3_000_000})
    return w3.eth.wait_for_transaction_receipt(tx_hash)


def send_raw(w3: Web3, to: str, data: bytes, sender: str = ACCOUNT0) -> Any:
    tx_hash = w3.eth.send_transaction({"from": sender, "to": to, "data": data, "gas": 3_000_000})
    return w3.eth.wait_for_transaction_receipt(tx_hash)


def approx(actual: int, expected: int, rel: float = 1e-6) -> bool:
    return abs(actual - expected) <= rel * expected


# ---------------------------------------------------------------------------- boot + config


def test_snapshot_boots_and_chain_yaml_matches_registry_shape(devnet: DevnetInfo, w3: Web3) -> None:
    assert w3.eth.chain_id == 31337
    cfg = yaml.safe_load(devnet.chain_config.read_text())
    assert cfg["name"] == "devnet" and cfg["chain_id"] == 31337 and cfg["rpc_url"] == devnet.rpc_url
    assert [(t["symbol"], t["decimals"]) for t in cfg["tokens"]] == [("USDC", 6), ("WETH", 18)]
    p = cfg["protocols"]
    addresses = [t["address"] for t in cfg["tokens"]] + [
        p["aave_v3"]["pool_addresses_provider"], p["aave_v3"]["pool"], p["aave_v3"]["pool_data_provider"],
        *p["aave_v3"]["a_tokens"].values(), *p["moonwell"]["markets"].values(),
        *(v["address"] for v in p["morpho"]["vaults"].values()),
        p["aerodrome"]["router"], p["aerodrome"]["pool_factory"], p["aerodrome"]["pools"][0]["address"],
        p["uniswap_v3"]["factory"], p["uniswap_v3"]["swap_router02"], p["uniswap_v3"]["quoter_v2"],
        p["uniswap_v3"]["pools"][0]["address"],
    ]
    for addr in addresses:
        assert isinstance(addr, str) and is_checksum_address(addr), addr
        assert len(w3.eth.get_code(addr)) > 0, f"no code at {addr}"
    assert p["moonwell"]["m_token_decimals"] == 8
    assert {v["kind"] for v in p["morpho"]["vaults"].values()} == {"erc4626"}
    # Aave's own registry agrees with the file.
    provider = w3.eth.contract(address=p["aave_v3"]["pool_addresses_provider"],
                               abi=load_artifact("PoolAddressesProvider").abi)
    assert provider.functions.getPool().call() == p["aave_v3"]["pool"]
    assert provider.functions.getPoolDataProvider().call() == p["aave_v3"]["pool_data_provider"]


def test_blocks_advance_12_seconds(w3: Web3) -> None:
    before = w3.eth.get_block("latest")
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    after = w3.eth.get_block("latest")
    assert after["number"] == before["number"] + 2
    assert after["timestamp"] == before["timestamp"] + 24


# ---------------------------------------------------------------------------- portfolio


def test_account0_holds_default_portfolio(devnet: DevnetInfo, devnet_cache: Path, w3: Web3) -> None:
    dep = devnet.deployment
    usdc, weth = erc20(w3, dep.tokens["USDC"]), erc20(w3, dep.tokens["WETH"])
    assert usdc.functions.balanceOf(ACCOUNT0).call() == 10_000 * USDC
    assert weth.functions.balanceOf(ACCOUNT0).call() == 10 * WETH

    a_usdc = erc20(w3, dep.aave_v3["a_tokens"]["USDC"])
    a_weth = erc20(w3, dep.aave_v3["a_tokens"]["WETH"])
    assert approx(a_usdc.functions.balanceOf(ACCOUNT0).call(), 5_000 * USDC)
    assert approx(a_weth.functions.balanceOf(ACCOUNT0).call(), 2 * WETH)

    for sym, unit, amount in (("USDC", USDC, 5_000), ("WETH", WETH, 2)):
        m = compiled_contract(w3, devnet_cache, "MoonwellMToken", dep.moonwell[sym])
        rate = m.functions.exchangeRateStored().call()
        assert m.functions.decimals().call() == 8
        assert approx(m.functions.balanceOf(ACCOUNT0).call() * rate // 10**18, amount * unit)
        assert approx(m.functions.balanceOfUnderlying(ACCOUNT0).call(), amount * unit)
        seeded = (2 * 10**14 if sym == "USDC" else 2 * 10**26) * 102 // 100  # 0.0204 after the seed's 2% past interest
        assert seeded <= rate and approx(rate, seeded, 1e-4)  # and the interest since, block by block

        vault = compiled_contract(w3, devnet_cache, "MorphoStyleVault", dep.morpho_vaults[sym])
        assert vault.functions.decimals().call() == 18
        shares = vault.functions.balanceOf(ACCOUNT0).call()
        assert approx(vault.functions.convertToAssets(shares).call(), amount * unit)
        price = vault.functions.convertToAssets(10**18).call() / unit
        assert 1.049 < price < 1.051, price

    lp = erc20(w3, dep.aerodrome["pool_usdc_weth_volatile"])
    assert lp.functions.balanceOf(ACCOUNT0).call() > 0


def test_funding_left_no_allowances(devnet: DevnetInfo, w3: Web3) -> None:
    dep = devnet.deployment
    spenders = [dep.aave_v3["pool"], *dep.moonwell.values(), *dep.morpho_vaults.values(),
                dep.aerodrome["router"], dep.uniswap_v3["swap_router02"]]
    for token in dep.tokens.values():
        for spender in spenders:
            assert erc20(w3, token).functions.allowance(ACCOUNT0, spender).call() == 0


# ---------------------------------------------------------------------------- protocols


def test_aave_supply_withdraw_round_trip(devnet: DevnetInfo, w3: Web3) -> None:
    dep = devnet.deployment
    usdc = erc20(w3, dep.tokens["USDC"])
    a_usdc = erc20(w3, dep.aave_v3["a_tokens"]["USDC"])
    pool = w3.eth.contract(address=dep.aave_v3["pool"], abi=load_artifact("Pool").abi)
    wallet_before = usdc.functions.balanceOf(ACCOUNT0).call()
    a_before = a_usdc.functions.balanceOf(ACCOUNT0).call()

    send(w3, usdc.functions.approve(pool.address, 1_000 * USDC))
    assert send(w3, pool.functions.supply(usdc.address, 1_000 * USDC, ACCOUNT0, 0))["status"] == 1
    assert approx(a_usdc.functions.balanceOf(ACCOUNT0).call(), a_before + 1_000 * USDC)
    assert usdc.functions.balanceOf(ACCOUNT0).call() == wallet_before - 1_000 * USDC

    assert send(w3, pool.functions.withdraw(usdc.address, MAX, ACCOUNT0))["status"] == 1
    assert a_usdc.functions.balanceOf(ACCOUNT0).call() == 0
    assert usdc.functions.balanceOf(ACCOUNT0).call() >= wallet_before + a_before


def test_swaprouter02_exact_input_single(devnet: DevnetInfo, w3: Web3) -> None:
    dep = devnet.deployment
    usdc, weth = erc20(w3, dep.tokens["USDC"]), erc20(w3, dep.tokens["WETH"])
    router = dep.uniswap_v3["swap_router02"]
    quoter = w3.eth.contract(address=dep.uniswap_v3["quoter_v2"], abi=load_artifact("QuoterV2").abi)
    amount_in = 1_000 * USDC
    quoted = quoter.functions.quoteExactInputSingle(
        (usdc.address, weth.address, amount_in, 500, 0)
    ).call()[0]

    send(w3, usdc.functions.approve(router, amount_in))
    selector = keccak(text="exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))")[:4]
    assert selector.hex() == "04e45aaf"
    args = encode(
        ["(address,address,uint24,address,uint256,uint256,uint160)"],
        [(usdc.address, weth.address, 500, ACCOUNT0, amount_in, 0, 0)],
    )
    before = weth.functions.balanceOf(ACCOUNT0).call()
    assert send_raw(w3, router, selector + args)["status"] == 1
    got = weth.functions.balanceOf(ACCOUNT0).call() - before
    assert got == quoted
    assert 0.330 * WETH < got < 0.334 * WETH, got / WETH


def test_moonwell_redeem_too_much_returns_error_code(devnet: DevnetInfo, devnet_cache: Path, w3: Web3) -> None:
    m = compiled_contract(w3, devnet_cache, "MoonwellMToken", devnet.deployment.moonwell["USDC"])
    balance = m.functions.balanceOf(ACCOUNT0).call()
    assert m.functions.redeem(balance + 1).call({"from": ACCOUNT0}) == 9  # MATH_ERROR
    receipt = send(w3, m.functions.redeem(balance + 1))
    assert receipt["status"] == 1  # no revert: Compound-style error code
    failures = m.events.Failure().process_receipt(receipt, errors=DISCARD)  # the AccrueInterest log is not a Failure
    assert [(f.args.error, f.args.info) for f in failures] == [(9, 45)]  # REDEEM_NEW_ACCOUNT_BALANCE_...
    assert m.functions.balanceOf(ACCOUNT0).call() == balance
    # uint max redeems the whole balance.
    assert m.functions.redeemUnderlying(MAX).call({"from": ACCOUNT0}) == 0
    assert send(w3, m.functions.redeem(MAX))["status"] == 1
    assert m.functions.balanceOf(ACCOUNT0).call() == 0


def test_moonwell_redeem_of_less_than_one_mtoken_reverts(devnet: DevnetInfo, devnet_cache: Path, w3: Web3) -> None:
    """As Moonwell's Comptroller.redeemVerify: 1 wei of WETH is worth less than one mToken, so it would burn none."""
    m = compiled_contract(w3, devnet_cache, "MoonwellMToken", devnet.deployment.moonwell["WETH"])
    assert m.functions.exchangeRateStored().call() > 10**18
    with pytest.raises(Exception) as exc:
        m.functions.redeemUnderlying(1).call({"from": ACCOUNT0})
    assert "redeemTokens zero" in str(exc.value)


def test_moonwell_exchange_rate_grows_at_the_supply_rate(devnet: DevnetInfo, devnet_cache: Path, w3: Web3) -> None:
    """The stand-in accrues like Moonwell: borrowers pay interest every second, so exchangeRateCurrent (accrued to
    the block) grows from the stored rate at supplyRatePerTimestamp, which is what mammon reads and the simulator
    applies; a mint after a day of interest gives fewer mTokens for the same USDC."""
    m = compiled_contract(w3, devnet_cache, "MoonwellMToken", devnet.deployment.moonwell["USDC"])
    send(w3, m.functions.accrueInterest())
    stored, per_second = m.functions.exchangeRateStored().call(), m.functions.supplyRatePerTimestamp().call()
    assert 0.01 < per_second * 365 * 24 * 3600 / 10**18 < 0.08  # a realistic USDC supply rate (the seeder borrows ~80%)
    assert m.functions.totalBorrows().call() > 0 and m.functions.borrowRatePerTimestamp().call() > per_second
    day = 24 * 3600
    w3.provider.make_request("evm_setNextBlockTimestamp", [w3.eth.get_block("latest")["timestamp"] + day])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    elapsed = w3.eth.get_block("latest")["timestamp"] - m.functions.accrualBlockTimestamp().call()
    assert m.functions.exchangeRateStored().call() == stored  # nothing accrued yet
    current = m.functions.exchangeRateCurrent().call()  # eth_call: accrued to the latest block
    assert elapsed >= day
    assert approx(current - stored, stored * per_second * elapsed // 10**18, 1e-6)  # the growth, to rounding

    usdc = erc20(w3, devnet.deployment.tokens["USDC"])
    send(w3, usdc.functions.approve(m.address, 1_000 * USDC))
    before = m.functions.balanceOf(ACCOUNT0).call()
    assert send(w3, m.functions.mint(1_000 * USDC))["status"] == 1
    minted = m.functions.balanceOf(ACCOUNT0).call() - before
    assert minted == 1_000 * USDC * 10**18 // m.functions.exchangeRateStored().call() < 1_000 * USDC * 10**18 // stored


def test_aerodrome_swap_reverts_below_amount_out_min(devnet: DevnetInfo, devnet_cache: Path, w3: Web3) -> None:
    dep = devnet.deployment
    usdc, weth = erc20(w3, dep.tokens["USDC"]), erc20(w3, dep.tokens["WETH"])
    router = compiled_contract(w3, devnet_cache, "AerodromeRouter", dep.aerodrome["router"])
    selectors = {e["name"]: function_abi_to_4byte_selector(e).hex() for e in router.abi if e["type"] == "function"}
    assert selectors["swapExactTokensForTokens"] == "cac88ea9"
    assert selectors["addLiquidity"] == "5a47ddc3"
    assert selectors["removeLiquidity"] == "0dede6c4"
    route = [(usdc.address, weth.address, False, dep.aerodrome["pool_factory"])]
    amount_in = 1_000 * USDC
    expected = router.functions.getAmountsOut(amount_in, route).call()[-1]
    assert 0.330 * WETH < expected < 0.333 * WETH  # 30 bps fee + impact
    send(w3, usdc.functions.approve(router.address, amount_in))
    deadline = w3.eth.get_block("latest")["timestamp"] + 600

    too_much = router.functions.swapExactTokensForTokens(amount_in, expected + 1, route, ACCOUNT0, deadline)
    with pytest.raises(Exception) as exc:
        too_much.call({"from": ACCOUNT0})
    assert "0x42301c23" in str(exc.value) or "InsufficientOutputAmount" in str(exc.value)
    assert send(w3, too_much)["status"] == 0

    before = weth.functions.balanceOf(ACCOUNT0).call()
    ok = router.functions.swapExactTokensForTokens(amount_in, expected, route, ACCOUNT0, deadline)
    assert send(w3, ok)["status"] == 1
    assert weth.functions.balanceOf(ACCOUNT0).call() - before == expected


# ---------------------------------------------------------------------------- up/down + timings


def test_up_funds_foreign_address_and_down_stops(devnet_cache: Path, tmp_path: Path) -> None:
    for f in devnet_cache.glob("devnet-*.json"):
        shutil.copy(f, tmp_path / f.name)  # reuse the cached snapshot: up() only boots
    for f in devnet_cache.glob("solc-*.json"):
        shutil.copy(f, tmp_path / f.name)
    stranger = to_checksum_address("0x" + "ab" * 20)
    info = up(port=free_port(), state_dir=tmp_path, fund=[stranger])
    try:
        w3 = connect(info.rpc_url)
        dep = info.deployment
        assert erc20(w3, dep.tokens["USDC"]).functions.balanceOf(stranger).call() == 10_000 * USDC
        assert approx(erc20(w3, dep.aave_v3["a_tokens"]["WETH"]).functions.balanceOf(stranger).call(), 2 * WETH)
        assert erc20(w3, dep.aerodrome["pool_usdc_weth_volatile"]).functions.balanceOf(stranger).call() > 0
        for token in dep.tokens.values():
            assert erc20(w3, token).functions.allowance(stranger, dep.aerodrome["router"]).call() == 0
        assert (tmp_path / "chain.yaml").exists() and (tmp_path / "devnet.json").exists()
    finally:
        assert down(tmp_path) is True
    assert down(tmp_path) is False


def test_timings(devnet_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Measure a fresh deploy and snapshot reloads (printed; run with -s to see them)."""
    from mammon.devnet.anvil import start_anvil, stop_process

    proc = start_anvil(free_port(), devnet_cache / "timing")
    try:
        dep, deploy_s = deploy_all(connect(proc.rpc_url), devnet_cache)
    finally:
        stop_process(proc)
    boots = []
    for _ in range(5):
        t0 = time.perf_counter()
        with running(devnet_cache) as info:
            assert connect(info.rpc_url).eth.block_number > 0
        boots.append(time.perf_counter() - t0)
    reload_median = statistics.median(boots)
    with capsys.disabled():
        print(f"\n[devnet] fresh deploy: {deploy_s:.2f} s for {dep.transactions} transactions; "
              f"snapshot boot+stop median of 5: {reload_median:.3f} s")
    assert deploy_s < 60
    assert reload_median < 5
