"""Loading the signing key for the rpc runner, without ever letting it out.

Sources, in order: an encrypted JSON keystore (`--keystore`, password from
MAMMON_KEYSTORE_PASSWORD or an interactive prompt when stdin is a terminal), else the hex key in
MAMMON_PRIVATE_KEY. The key lives only inside a `Signer`: its repr shows the address, errors
about a bad key never quote the value, and no exception raised here chains the original one
(whose message or traceback locals could hold the key).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32

from mammon.errors import InputError
from mammon.files import loads_json, read_text

KEY_ENV = "MAMMON_PRIVATE_KEY"
PASSWORD_ENV = "MAMMON_KEYSTORE_PASSWORD"


class Signer:
    """An address and the ability to sign for it; the key itself is not reachable through str/repr."""

    __slots__ = ("_account", "address")

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        self.address: str = account.address

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[str, str]:
        """(tx hash, raw signed tx), both 0x-hex."""
        signed = self._account.sign_transaction(tx)
        return "0x" + bytes(signed.hash).hex(), "0x" + bytes(signed.raw_transaction).hex()

    def sign_authorization(self, authorization: dict[str, Any]) -> Any:
        """An EIP-7702 authorization (chainId, address, nonce) signed by this key."""
        return self._account.sign_authorization(authorization)

    def sign_hash(self, digest: bytes) -> bytes:
        """65 bytes r || s || v (v = 27/28) over a 32-byte hash, e.g. a Safe's EIP-712 safeTxHash."""
        signed = self._account.unsafe_sign_hash(Hash32(digest))
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
        account = Account.from_key("0x" + body)
    except Exception:  # eth-keys rejects 0 and keys >= the curve order; its message could quote the value
        account = None
    if account is None:
        raise InputError("not a valid secp256k1 private key (value not shown)", where=where)
    return Signer(account)


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
    signer = Signer(Account.from_key(key))
    del key
    expected = data.get("address")
    if isinstance(expected, str) and expected and expected.lower().removeprefix("0x") != signer.address.lower()[2:]:
        raise InputError(f"the keystore says address {expected} but its key is for {signer.address}", where=str(path))
    return signer


def load_signer(keystore: str | Path | None = None, *, prompt: Callable[[str], str] | None = None) -> Signer:
    """The signer from `keystore` if given, else from MAMMON_PRIVATE_KEY; a clear InputError otherwise."""
    if keystore:
        return from_keystore(keystore, prompt=prompt)
    value = os.environ.get(KEY_ENV)
    if value:
        return from_hex(value)
    raise InputError(f"no signing key: set {KEY_ENV} or pass --keystore FILE (password from {PASSWORD_ENV} or a prompt)", where="rpc runner")
