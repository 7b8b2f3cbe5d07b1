"""The rpc runner signs its type-2 transactions without eth-account (`mammon.run.eip1559`): same bytes.

eth-account stays the reference: every transaction the fast path signs must come out byte for byte as
eth-account signs it (same hash, same raw bytes), and anything the fast path does not take (access
lists, EIP-7702 authorizations, a `to` that is not checksummed) goes to eth-account unchanged.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from mammon.run import eip1559
from mammon.run.keys import Signer, from_hex

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's public default key 0

addresses = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address("0x" + b.hex()))
transactions = st.fixed_dictionaries({
    "type": st.just(2),
    "chainId": st.sampled_from([1, 10, 8453, 31337]) | st.integers(1, 2**64),
    "nonce": st.integers(0, 2**64 - 1),
    "to": addresses,
    "value": st.integers(0, 2**256 - 1),
    "data": st.binary(max_size=600).map(lambda b: "0x" + b.hex()),
    "gas": st.integers(21_000, 2**63),
    "maxFeePerGas": st.integers(0, 2**128),
    "maxPriorityFeePerGas": st.integers(0, 2**128),
})


@settings(max_examples=60, deadline=None)
@given(tx=transactions, key=st.integers(1, 2**255))
def test_the_fast_path_signs_the_bytes_eth_account_signs(tx: dict, key: int) -> None:
    hex_key = "0x" + key.to_bytes(32, "big").hex()
    expected = Account.from_key(hex_key).sign_transaction(tx)
    signer = from_hex(hex_key)
    assert eip1559.is_plain(tx)
    assert signer.sign_transaction(tx) == ("0x" + bytes(expected.hash).hex(), "0x" + bytes(expected.raw_transaction).hex())
    assert signer.address == Account.from_key(hex_key).address
    assert eip1559.nonce_of("0x" + bytes(expected.raw_transaction).hex()) == tx["nonce"]


def test_what_the_fast_path_does_not_take_goes_to_eth_account() -> None:
    signer = from_hex(KEY)
    base = {"type": 2, "chainId": 8453, "nonce": 7, "to": to_checksum_address("0x" + "ab" * 20), "value": 0, "data": "0x",
            "gas": 50_000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6}
    listed = {**base, "accessList": [{"address": base["to"], "storageKeys": ["0x" + "00" * 32]}]}
    assert not eip1559.is_plain(listed)
    expected = Account.from_key(KEY).sign_transaction(listed)
    assert signer.sign_transaction(listed)[1] == "0x" + bytes(expected.raw_transaction).hex()
    lowercase = {**base, "to": base["to"].lower()}
    assert not eip1559.is_plain(lowercase)
    with pytest.raises(TypeError, match="invalid fields"):  # eth-account's refusal, as before the fast path
        signer.sign_transaction(lowercase)
    assert not eip1559.is_plain({**base, "value": -1}) and not eip1559.is_plain({**base, "nonce": True})
    assert not eip1559.is_plain({k: v for k, v in base.items() if k != "gas"})


def test_nonce_of_reads_journaled_bytes_and_refuses_garbage() -> None:
    legacy = Account.from_key(KEY).sign_transaction({"chainId": 1, "nonce": 42, "to": to_checksum_address("0x" + "ab" * 20), "value": 0,
                                                     "data": "0x", "gas": 21_000, "gasPrice": 10**9})
    assert eip1559.nonce_of("0x" + bytes(legacy.raw_transaction).hex()) == 42
    assert eip1559.nonce_of("0x") is None and eip1559.nonce_of("0x02ff") is None and eip1559.nonce_of("nonsense") is None


def test_a_signer_never_shows_its_key() -> None:
    signer = from_hex(KEY)
    assert KEY[2:] not in repr(signer) + str(signer) and isinstance(signer, Signer)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(signer)


def test_loading_a_hex_key_and_signing_imports_no_eth_account() -> None:
    code = ("import sys; from mammon.run.keys import from_hex; s = from_hex(sys.argv[1]); "
            "s.sign_transaction({'type': 2, 'chainId': 1, 'nonce': 0, 'to': s.address, 'value': 0, 'data': '0x', 'gas': 21000, "
            "'maxFeePerGas': 1, 'maxPriorityFeePerGas': 1}); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'eth_account', 'eth_keyfile', 'py_ecc', 'web3'}))")
    out = subprocess.run([sys.executable, "-c", code, KEY], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"
