"""The devnet's batching contracts: Safe 1.4.1 with two Safes, and the EIP-7702 delegate Simple7702Account.

Why: `--execution safe` and `--execution batch` must run against the real bytecode. Safe comes from the
npm package `@safe-global/safe-contracts@1.4.1` (SafeL2, as Safe deploys on L2s such as Base,
SafeProxyFactory, MultiSendCallOnly, CompatibilityFallbackHandler); Simple7702Account from
`@account-abstraction/contracts@0.8.0`. Nothing is copied into the repository.

Simple7702Account is deployed through the deterministic deployment proxy (CREATE2, salt 0) that anvil
ships at 0x4e59…956C, the way eth-infinitism deploys it, so it lands at the same address as on Base
(0xe6Ca…555B, the registry's `infra.eip7702` entry): the devnet and the registry agree by construction.

Two Safes are created, owned by anvil accounts and holding the default portfolio like the wallet (`deploy.fund_safe`):
a 1-of-1 (owner accounts[1]) and a 2-of-3 (owners accounts[2], [3], [4]).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

from web3.types import RPCEndpoint

from mammon.devnet.anvil import BLOCK_INTERVAL_SECONDS
from mammon.devnet.artifacts import load_artifact
from mammon.errors import DevnetError
from mammon.types import create2_address as create2_of_hash

if TYPE_CHECKING:
    from mammon.devnet.deploy import Chain

#: The deterministic deployment proxy (github.com/Arachnid/deterministic-deployment-proxy), present on anvil.
CREATE2_DEPLOYER = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
ZERO = "0x0000000000000000000000000000000000000000"
#: Safes on the devnet: name -> (owner account indexes, threshold).
SAFES: dict[str, tuple[tuple[int, ...], int]] = {"one_of_one": ((1,), 1), "two_of_three": ((2, 3, 4), 2)}


def create2_address(init_code: bytes, salt: bytes = b"\0" * 32, deployer: str = CREATE2_DEPLOYER) -> str:
    """Where `deployer` (by default the deterministic deployment proxy) puts `init_code` with `salt`."""
    return create2_of_hash(deployer, salt, keccak(init_code))


def deploy_delegate(chain: Chain) -> str:
    """Simple7702Account at its CREATE2 address (the same as on every chain eth-infinitism deployed it to)."""
    init = bytes.fromhex(load_artifact("Simple7702Account").bytecode.removeprefix("0x"))
    address = create2_address(init)
    if not chain.w3.eth.get_code(CREATE2_DEPLOYER):  # type: ignore[arg-type]
        raise DevnetError(f"the deterministic deployment proxy {CREATE2_DEPLOYER} is missing on this anvil")
    if not chain.w3.eth.get_code(address):  # type: ignore[arg-type]
        chain._send({"from": chain.deployer, "to": CREATE2_DEPLOYER, "data": "0x" + ("00" * 32) + init.hex()}, "deploy Simple7702Account")
    if not chain.w3.eth.get_code(address):  # type: ignore[arg-type]
        raise DevnetError(f"Simple7702Account did not land at {address}")
    return address


def deploy_safe(chain: Chain) -> dict[str, str]:
    """Safe 1.4.1: the SafeL2 singleton, proxy factory, MultiSendCallOnly and the fallback handler."""
    out: dict[str, str] = {}
    for key, name in (("singleton", "SafeL2"), ("proxy_factory", "SafeProxyFactory"),
                      ("multisend_call_only", "MultiSendCallOnly"), ("fallback_handler", "CompatibilityFallbackHandler")):
        art = load_artifact(name)
        out[key] = chain.deploy(art.abi, art.bytecode, what=name).address
    return out


def create_safe(chain: Chain, safe: dict[str, str], owners: Sequence[str], threshold: int, salt: int) -> str:
    """A Safe proxy set up with `owners` and `threshold` (and the compatibility fallback handler)."""
    singleton = chain.w3.eth.contract(address=to_checksum_address(safe["singleton"]), abi=load_artifact("SafeL2").abi)
    setup = singleton.encode_abi("setup", [list(owners), threshold, ZERO, b"", safe["fallback_handler"], ZERO, 0, ZERO])
    factory = chain.w3.eth.contract(address=to_checksum_address(safe["proxy_factory"]), abi=load_artifact("SafeProxyFactory").abi)
    receipt = chain.send(factory.functions.createProxyWithNonce(singleton.address, setup, salt))
    created = factory.events.ProxyCreation().process_receipt(receipt, errors=DISCARD)  # the Safe's own setup events too
    if not created:
        raise DevnetError("SafeProxyFactory created no Safe")
    address = to_checksum_address(created[0]["args"]["proxy"])
    proxy = chain.w3.eth.contract(address=address, abi=load_artifact("SafeL2").abi)
    if proxy.functions.getThreshold().call() != threshold:
        raise DevnetError(f"Safe {address} was not set up")
    return address


def deploy_batching(chain: Chain, fund: Callable[[str], None]) -> dict[str, Any]:
    """Everything batching needs, funded Safes included; `fund(address)` gives an address the default portfolio.

    Its blocks share one timestamp (the block interval is 0 meanwhile, then 12 s again): the chain's clock,
    and so the interest Aave's borrowers accrue by the time a test runs, is the same as without them.
    """
    provider = chain.w3.provider
    provider.make_request(RPCEndpoint("anvil_setBlockTimestampInterval"), [0])
    try:
        return _deploy_batching(chain, fund)
    finally:
        provider.make_request(RPCEndpoint("anvil_setBlockTimestampInterval"), [BLOCK_INTERVAL_SECONDS])


def _deploy_batching(chain: Chain, fund: Callable[[str], None]) -> dict[str, Any]:
    safe = deploy_safe(chain)
    safes: dict[str, dict[str, Any]] = {}
    for salt, (name, (indexes, threshold)) in enumerate(SAFES.items()):
        owners = [chain.accounts[i] for i in indexes]
        address = create_safe(chain, safe, owners, threshold, salt)
        fund(address)
        safes[name] = {"address": address, "owners": owners, "owner_indexes": list(indexes), "threshold": threshold}
    return {"safe": safe, "safes": safes, "simple7702_account": deploy_delegate(chain)}


def chain_yaml_lines(batching: dict[str, Any]) -> list[str]:
    """The devnet chain config's `infra` section for batching (same shape as the Base registry's)."""
    if not batching:
        return []
    q = lambda a: f'"{to_checksum_address(a)}"'  # noqa: E731
    s = batching["safe"]
    return [
        "infra:",
        "  safe:",
        f"    multisend_call_only: {q(s['multisend_call_only'])}",
        f"    singleton: {q(s['singleton'])}",
        f"    proxy_factory: {q(s['proxy_factory'])}",
        f"    fallback_handler: {q(s['fallback_handler'])}",
        "  eip7702:",
        f"    simple7702_account: {q(batching['simple7702_account'])}",
        "    # source: CREATE2 of @account-abstraction/contracts@0.8.0 artifacts/Simple7702Account.json via 0x4e59…956C, salt 0",
    ]
