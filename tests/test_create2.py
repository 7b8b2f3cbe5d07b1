"""CREATE2 addresses (`mammon.types.create2_address`): the worked examples of EIP-1014, and its input sizes checked."""

from __future__ import annotations

import pytest

from mammon.hashing import keccak256
from mammon.types import create2_address

ZERO_SALT = "00" * 32
# (deployer, salt, init code, address): EIP-1014's examples 0 to 6.
EIP_1014 = [
    ("0x0000000000000000000000000000000000000000", ZERO_SALT, "00", "0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38"),
    ("0xdeadbeef00000000000000000000000000000000", ZERO_SALT, "00", "0xB928f69Bb1D91Cd65274e3c79d8986362984fDA3"),
    ("0xdeadbeef00000000000000000000000000000000", "000000000000000000000000feed" + "00" * 18, "00", "0xD04116cDd17beBE565EB2422F2497E06cC1C9833"),
    ("0x0000000000000000000000000000000000000000", ZERO_SALT, "deadbeef", "0x70f2b2914A2a4b783FaEFb75f459A580616Fcb5e"),
    ("0x00000000000000000000000000000000deadbeef", "00" * 28 + "cafebabe", "deadbeef", "0x60f3f640a8508fC6a86d45DF051962668E1e8AC7"),
    ("0x00000000000000000000000000000000deadbeef", "00" * 28 + "cafebabe", "deadbeef" * 11, "0x1d8bfDC5D46DC4f61D6b6115972536eBE6A8854C"),
    ("0x0000000000000000000000000000000000000000", ZERO_SALT, "", "0xE33C0C7F7df4809055C3ebA6c09CFe4BaF1BD9e0"),
]


@pytest.mark.parametrize(("deployer", "salt", "init_code", "address"), EIP_1014)
def test_the_eip_1014_examples(deployer: str, salt: str, init_code: str, address: str) -> None:
    assert create2_address(deployer, bytes.fromhex(salt), keccak256(bytes.fromhex(init_code))) == address


def test_a_short_salt_is_refused_rather_than_hashed() -> None:
    with pytest.raises(ValueError, match="32-byte salt"):
        create2_address("0x0000000000000000000000000000000000000000", b"\x01", keccak256(b""))


@pytest.mark.parametrize("deployer", ["0x" + "00" * 19, "0x" + "00" * 21, "00" * 20, "0x" + "0g" * 20, "0x" + "00" * 20 + "\n"])
def test_a_deployer_that_is_not_20_bytes_is_refused_rather_than_hashed(deployer: str) -> None:
    with pytest.raises(ValueError, match="20-byte deployer"):
        create2_address(deployer, bytes(32), keccak256(b""))


def test_a_uniswap_v3_pool_address_is_the_pool_on_chain() -> None:
    """Base's USDC/WETH 0.05% pool (0xd0b5…F224 on basescan), from the factory and init code hash of the chain config."""
    from mammon.protocols.uniswap_v3 import pool_address

    usdc, weth = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "0x4200000000000000000000000000000000000006"
    factory, init_code_hash = "0x33128a8fC17869897dcE68Ed026d694621f6FDfD", "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
    assert pool_address(factory, init_code_hash, weth, usdc, 500) == pool_address(factory, init_code_hash, usdc, weth, 500)
    assert pool_address(factory, init_code_hash, usdc, weth, 500) == "0xd0b53D9277642d899DF5C87A3966A349A798F224"
