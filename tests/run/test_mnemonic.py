"""The optimizer's wallet: a BIP-39 seed phrase in MAMMON_MNEMONIC, derived with eth-account's HD wallet support.

The phrase is the one anvil prints for its public test accounts (index 0 is the tests' WALLET, index 1
anvil's second account). Like a key, a phrase is never printed, logged or written: refusals name the
derived address and the path, never a word of the phrase.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mammon import compile_plan, load_recommendations
from mammon.errors import InputError
from mammon.plan.planfile import dump
from mammon.run import keys
from mammon_test_support import EXAMPLES_DIR, NOW, WALLET, Mammon

PHRASE = "test test test test test test test test test test test junk"  # anvil's public test mnemonic
ACCOUNT1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ACCOUNT5 = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (keys.KEY_ENV, keys.MNEMONIC_ENV, keys.PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("index", "path", "address"), [
    (None, None, WALLET), (0, None, WALLET), (1, None, ACCOUNT1), (5, None, ACCOUNT5),
    (None, "m/44'/60'/0'/0/1", ACCOUNT1), (None, " m/44'/60'/0'/0/0 ", WALLET),
])
def test_the_phrase_derives_the_account_at_the_index_or_path(index: int | None, path: str | None, address: str) -> None:
    assert keys.from_mnemonic(PHRASE, account_index=index, path=path).address == address


def test_spacing_of_the_phrase_does_not_matter() -> None:
    assert keys.from_mnemonic(f"  {PHRASE.replace(' ', '   ')}\n").address == WALLET


@pytest.mark.parametrize("phrase", [
    "test test test test test test test test test test test test",  # words, wrong checksum
    "junk test test test test test test test test test test test",
    "hello world",
    "",
])
def test_a_wrong_phrase_is_refused_without_quoting_it(phrase: str) -> None:
    with pytest.raises(InputError) as err:
        keys.from_mnemonic(phrase)
    assert str(err.value) == "MAMMON_MNEMONIC: not a valid BIP-39 seed phrase: check the words and their order (phrase not shown)"
    assert err.value.__cause__ is None and err.value.__context__ is None or "test" not in repr(err.value.__context__)


def test_an_index_deriving_another_address_is_refused_naming_the_derived_address_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.MNEMONIC_ENV, PHRASE)
    with pytest.raises(InputError) as err:
        keys.load_signer(account_index=1, wallet=WALLET)
    assert str(err.value) == (f"MAMMON_MNEMONIC: the phrase derives {ACCOUNT1} at m/44'/60'/0'/0/1, not the plan's wallet "
                              "(try another --account-index or --derivation-path; phrase not shown)")
    assert WALLET not in str(err.value)
    assert keys.load_signer(account_index=0, wallet=WALLET).address == WALLET


@pytest.mark.parametrize(("index", "path", "message"), [
    (1, "m/44'/60'/0'/0/1", "--derivation-path: give --account-index or --derivation-path, not both"),
    (None, "m/44'/x", "--derivation-path: \"m/44'/x\" is not a BIP-32 path like m/44'/60'/0'/0/0"),
    (None, "44'/60'/0'/0/0", "--derivation-path: \"44'/60'/0'/0/0\" is not a BIP-32 path like m/44'/60'/0'/0/0"),
    (None, "m/44'/60'/0'/0/2147483648", "--derivation-path: \"m/44'/60'/0'/0/2147483648\" is not a BIP-32 path like m/44'/60'/0'/0/0"),
    (-1, None, "--account-index: must be a whole number from 0 to 2147483647, got -1"),
])
def test_bad_derivation_options(index: int | None, path: str | None, message: str) -> None:
    with pytest.raises(InputError) as err:
        keys.from_mnemonic(PHRASE, account_index=index, path=path)
    assert str(err.value) == message


def test_a_key_and_a_phrase_at_once_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.MNEMONIC_ENV, PHRASE)
    monkeypatch.setenv(keys.KEY_ENV, "0x" + "11" * 32)
    with pytest.raises(InputError, match="^rpc runner: both MAMMON_PRIVATE_KEY and MAMMON_MNEMONIC are set"):
        keys.load_signer(wallet=WALLET)


def test_the_signer_never_shows_the_phrase(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = keys.from_mnemonic(PHRASE)
    assert repr(signer) == str(signer) == f"Signer({WALLET})"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(signer)


# --- on the command line: refused before any node is contacted --------------------------------------


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    dump(compile_plan(load_recommendations(EXAMPLES_DIR / "seed-moonwell-to-aave.yaml"), chain="base", wallet=WALLET, now=NOW), path)
    return path


@pytest.mark.parametrize(("phrase", "extra", "message"), [
    ("test test test test test test test test test test test test", (),
     "MAMMON_MNEMONIC: not a valid BIP-39 seed phrase: check the words and their order (phrase not shown)"),
    (PHRASE, ("--account-index", "1"),
     f"MAMMON_MNEMONIC: the phrase derives {ACCOUNT1} at m/44'/60'/0'/0/1, not the plan's wallet "
     "(try another --account-index or --derivation-path; phrase not shown)"),
    (PHRASE, ("--derivation-path", "m/44'/60'/0'/0/5"),
     f"MAMMON_MNEMONIC: the phrase derives {ACCOUNT5} at m/44'/60'/0'/0/5, not the plan's wallet "
     "(try another --account-index or --derivation-path; phrase not shown)"),
], ids=["wrong-phrase", "index-1", "path-5"])
@pytest.mark.parametrize("command", ["apply", "rebalance"])
def test_apply_and_rebalance_refuse_a_phrase_for_another_wallet(command: str, phrase: str, extra: tuple[str, ...], message: str,
                                                               mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    # nothing listens on port 9: the refusal comes before the node is contacted, so nothing can be sent
    if command == "apply":
        args: tuple[object, ...] = ("apply", plan_file, "--runner", "rpc", "--rpc-url", "http://127.0.0.1:9", "--yes")
    else:
        args = ("rebalance", EXAMPLES_DIR / "seed-moonwell-to-aave.yaml", "--wallet", WALLET, "--runner", "rpc", "--rpc-url",
                "http://127.0.0.1:9", "--yes", "--no-read-node", "-o", tmp_path / "r.plan.yaml")
    line = mammon.refuses(*args, *extra, "--state-dir", tmp_path / "state", env={"MAMMON_MNEMONIC": phrase})
    assert line == message
    assert "test test" not in line
    assert not (tmp_path / "r.plan.yaml").exists() and not (tmp_path / "state").exists(), "refused before anything is written"
