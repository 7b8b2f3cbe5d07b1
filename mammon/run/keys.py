"""Loading the signing key for the rpc runner, without ever letting it out.

Sources, in order: an encrypted JSON keystore (`--keystore`, password from
MAMMON_KEYSTORE_PASSWORD or an interactive prompt when stdin is a terminal), else the hex key in
MAMMON_PRIVATE_KEY, else a BIP-39 seed phrase in MAMMON_MNEMONIC (the optimizer's wallet), derived
with eth-account's HD wallet support at `m/44'/60'/0'/0/<account index>` (index 0 unless
`--account-index N`; any path with `--derivation-path`). The key lives only inside a `Signer`: its repr
shows the address, errors about a bad key or phrase never quote the value, and no exception raised
here chains the original one (whose message or traceback locals could hold the secret). A phrase that
does not derive the plan's wallet is refused naming the derived address only.

eth-account is imported only where it is needed (keystores, seed phrases, messages, authorizations,
transactions other than plain EIP-1559 ones): it pulls in py_ecc's pairing tables, a third of a
second, and the rpc runner's plain type-2 transactions are signed by `mammon.run.eip1559` with the
same eth-keys backend and the same bytes.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mammon.errors import InputError
from mammon.files import loads_json, read_text
from mammon.run import eip1559
from mammon.types import shown

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from eth_keys.datatypes import PrivateKey

KEY_ENV = "MAMMON_PRIVATE_KEY"
PASSWORD_ENV = "MAMMON_KEYSTORE_PASSWORD"
MNEMONIC_ENV = "MAMMON_MNEMONIC"
DEFAULT_PATH = "m/44'/60'/0'/0/{index}"
_PATH = re.compile(r"^m(/[0-9]+'?)+$")
_HARDENED = 2**31


class Signer:
    """An address and the ability to sign for it; the key itself is not reachable through str/repr."""

    __slots__ = ("_account", "_key", "address")

    def __init__(self, key: bytes) -> None:
        """`key`: 32 bytes, a valid secp256k1 private key (eth-keys raises otherwise)."""
        from eth_keys.datatypes import PrivateKey

        self._key: PrivateKey = PrivateKey(key)
        self._account: LocalAccount | None = None
        self.address: str = self._key.public_key.to_checksum_address()

    def _eth_account(self) -> LocalAccount:
        if self._account is None:
            from eth_account import Account

            self._account = Account.from_key(self._key.to_bytes())
        return self._account

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[str, str]:
        """(tx hash, raw signed tx), both 0x-hex."""
        if eip1559.is_plain(tx):
            return eip1559.sign(self._key, tx)
        signed = self._eth_account().sign_transaction(tx)
        return "0x" + bytes(signed.hash).hex(), "0x" + bytes(signed.raw_transaction).hex()

    def sign_text(self, text: str) -> str:
        """An EIP-191 (personal_sign) signature of `text`, 0x-hex (used to approve a plan's content hash)."""
        from eth_account.messages import encode_defunct

        return "0x" + bytes(self._eth_account().sign_message(encode_defunct(text=text)).signature).hex()

    def sign_authorization(self, authorization: dict[str, Any]) -> Any:
        """An EIP-7702 authorization (chainId, address, nonce) signed by this key."""
        return self._eth_account().sign_authorization(authorization)

    def sign_hash(self, digest: bytes) -> bytes:
        """65 bytes r || s || v (v = 27/28) over a 32-byte hash, e.g. a Safe's EIP-712 safeTxHash."""
        from eth_typing import Hash32

        signed = self._eth_account().unsafe_sign_hash(Hash32(digest))
        return signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickled (e.g. into a multiprocessing queue or a cache)
        raise TypeError("a Signer cannot be pickled")


def from_hex(value: str, *, where: str = KEY_ENV) -> Signer:
    text = value.strip()
    body = text[2:] if text[:2].lower() == "0x" else text
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise InputError("not a private key: expected 32 bytes as 64 hex digits (value not shown)", where=where)
    try:
        signer = Signer(bytes.fromhex(body))
    except Exception:  # eth-keys rejects 0 and keys >= the curve order; its message could quote the value
        signer = None
    if signer is None:
        raise InputError("not a valid secp256k1 private key (value not shown)", where=where)
    return signer


def _password(path: Path, prompt: Callable[[str], str] | None) -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return password
    if prompt is None and sys.stdin is not None and sys.stdin.isatty():
        prompt = getpass.getpass
    if prompt is None:
        raise InputError(f"the keystore is encrypted: set {PASSWORD_ENV} (stdin is not a terminal, so there is no prompt)", where=str(path))
    return prompt(f"Password for keystore {path.name}: ")


def from_keystore(path: str | Path, *, prompt: Callable[[str], str] | None = None) -> Signer:
    from eth_account import Account  # before the file is read: it raises the recursion limit, the read stays bounded

    path = Path(path)
    if not path.exists():
        raise InputError("keystore file not found", where=str(path))
    data = loads_json(read_text(path), where=str(path))  # size- and depth-bounded: eth_account raised the recursion limit
    if not isinstance(data, dict) or not isinstance(data.get("crypto", data.get("Crypto")), dict):
        raise InputError("not an encrypted JSON keystore (no 'crypto' section)", where=str(path))
    password = _password(path, prompt)
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        key = None
    except Exception:  # unsupported kdf/cipher and similar
        raise InputError("cannot decrypt the keystore (unsupported format)", where=str(path)) from None
    if key is None:
        raise InputError(f"wrong keystore password (from {PASSWORD_ENV if PASSWORD_ENV in os.environ else 'the prompt'})", where=str(path))
    signer = Signer(bytes(key))
    del key
    expected = data.get("address")
    if isinstance(expected, str) and expected and expected.lower().removeprefix("0x") != signer.address.lower()[2:]:
        raise InputError(f"the keystore says address {expected} but its key is for {signer.address}", where=str(path))
    return signer


def hd_path(account_index: int | None = None, path: str | None = None) -> str:
    """The BIP-32 path to derive: `path` as given, else the Ethereum default at `account_index` (0)."""
    if path is not None and account_index is not None:
        raise InputError("give --account-index or --derivation-path, not both", where="--derivation-path")
    if path is not None:
        if not isinstance(path, str):
            raise InputError(f"must be a BIP-32 path like m/44'/60'/0'/0/0, got {shown(path)}", where="--derivation-path")
        path = path.strip()
        if not _PATH.match(path) or any(int(part.rstrip("'")) >= _HARDENED for part in path.split("/")[1:]):
            raise InputError(f"{shown(path)} is not a BIP-32 path like m/44'/60'/0'/0/0", where="--derivation-path")
        return path
    index = 0 if account_index is None else account_index
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < _HARDENED:
        raise InputError(f"must be a whole number from 0 to {_HARDENED - 1}, got {index!r}", where="--account-index")
    return DEFAULT_PATH.format(index=index)


def from_mnemonic(phrase: str, *, account_index: int | None = None, path: str | None = None, where: str = MNEMONIC_ENV) -> Signer:
    """The account at the derivation path of a BIP-39 phrase; a phrase eth-account does not accept is refused unquoted."""
    from eth_account import Account

    account_path = hd_path(account_index, path)
    words = " ".join(phrase.split())
    Account.enable_unaudited_hdwallet_features()
    try:
        account = Account.from_mnemonic(words, account_path=account_path)
    except Exception:  # eth-account's message quotes the words
        account = None
    del words
    if account is None:
        raise InputError("not a valid BIP-39 seed phrase: check the words and their order (phrase not shown)", where=where)
    return Signer(bytes(account.key))


def check_derivation(keystore: str | Path | None, account_index: int | None, derivation_path: str | None) -> None:
    """Refuse --account-index/--derivation-path unless the key is derived from MAMMON_MNEMONIC: with a keystore or a
    hex key they would be ignored, and the apply would sign with another account than the one asked for.
    A malformed value is refused as such first."""
    if account_index is None and derivation_path is None:
        return
    option = "--derivation-path" if derivation_path is not None else "--account-index"
    hd_path(account_index, derivation_path)
    source = "--keystore" if keystore else (KEY_ENV if os.environ.get(KEY_ENV) and not os.environ.get(MNEMONIC_ENV) else None)
    if source is not None:
        raise InputError(f"applies to a key derived from {MNEMONIC_ENV} only, but the key comes from {source}; drop {option}", where=option)


def load_signer(keystore: str | Path | None = None, *, prompt: Callable[[str], str] | None = None, account_index: int | None = None,
                derivation_path: str | None = None, wallet: str | None = None) -> Signer:
    """The signer from `keystore` if given, else MAMMON_PRIVATE_KEY, else MAMMON_MNEMONIC; a clear InputError otherwise.

    `wallet`: the address the signer must be (the plan's); a seed phrase that derives another one is refused here,
    naming the derived address and the path, so the fix (another index or phrase) is plain. `account_index` and
    `derivation_path` are refused with a keystore or MAMMON_PRIVATE_KEY (`check_derivation`).
    """
    check_derivation(keystore, account_index, derivation_path)
    if keystore:
        return from_keystore(keystore, prompt=prompt)
    value = os.environ.get(KEY_ENV)
    phrase = os.environ.get(MNEMONIC_ENV)
    if value and phrase:
        raise InputError(f"both {KEY_ENV} and {MNEMONIC_ENV} are set: unset the one that is not this plan's wallet", where="rpc runner")
    if value:
        return from_hex(value)
    if phrase:
        signer = from_mnemonic(phrase, account_index=account_index, path=derivation_path)
        if wallet is not None and signer.address.lower() != wallet.lower():
            raise InputError(f"the phrase derives {signer.address} at {hd_path(account_index, derivation_path)}, not the plan's wallet "
                             "(try another --account-index or --derivation-path; phrase not shown)", where=MNEMONIC_ENV)
        return signer
    raise InputError(f"no signing key: set {KEY_ENV} or {MNEMONIC_ENV}, or pass --keystore FILE (password from {PASSWORD_ENV} or a prompt)",
                     where="rpc runner")
