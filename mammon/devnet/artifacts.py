"""Load protocol bytecode from the npm packages in node_modules, and link libraries.

Why: the devnet runs the real Aave V3 and Uniswap V3 bytecode, read at deploy time from
the Hardhat artifacts that the protocols publish on npm (``npm ci`` installs them, pinned
in package-lock.json). No bytecode is copied into this repository.

Aave's Pool and PoolConfigurator call external libraries (SupplyLogic, BorrowLogic, ...).
Their artifacts hold ``__$<hash>$__`` placeholders; ``linkReferences`` gives the byte
offsets where each library's address must be written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from mammon.errors import DevnetError

REPO_ROOT = Path(__file__).resolve().parents[2]

INSTALL_HINT = "run `make install` (or `npm ci` in the repository root) to install the devnet's npm packages"

_AAVE = "@aave/core-v3/artifacts/contracts"
_UNI_CORE = "@uniswap/v3-core/artifacts/contracts"
_UNI_PERIPHERY = "@uniswap/v3-periphery/artifacts/contracts"
_UNI_ROUTER = "@uniswap/swap-router-contracts/artifacts/contracts"
_SAFE = "@safe-global/safe-contracts/build/artifacts/contracts"
_AA = "@account-abstraction/contracts/artifacts"

#: Short name -> artifact path under node_modules. Explicit, because some names exist in
#: more than one package (QuoterV2 is in v3-periphery and in swap-router-contracts).
ARTIFACT_PATHS: dict[str, str] = {
    "MintableERC20": f"{_AAVE}/mocks/tokens/MintableERC20.sol/MintableERC20.json",
    "MockAggregator": f"{_AAVE}/mocks/oracle/CLAggregators/MockAggregator.sol/MockAggregator.json",
    "PoolAddressesProvider": f"{_AAVE}/protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json",
    "ACLManager": f"{_AAVE}/protocol/configuration/ACLManager.sol/ACLManager.json",
    "Pool": f"{_AAVE}/protocol/pool/Pool.sol/Pool.json",
    "PoolConfigurator": f"{_AAVE}/protocol/pool/PoolConfigurator.sol/PoolConfigurator.json",
    "DefaultReserveInterestRateStrategy": (
        f"{_AAVE}/protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy.json"
    ),
    "AaveOracle": f"{_AAVE}/misc/AaveOracle.sol/AaveOracle.json",
    "AaveProtocolDataProvider": f"{_AAVE}/misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider.json",
    "AToken": f"{_AAVE}/protocol/tokenization/AToken.sol/AToken.json",
    "VariableDebtToken": f"{_AAVE}/protocol/tokenization/VariableDebtToken.sol/VariableDebtToken.json",
    "StableDebtToken": f"{_AAVE}/protocol/tokenization/StableDebtToken.sol/StableDebtToken.json",
    "UniswapV3Factory": f"{_UNI_CORE}/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": f"{_UNI_CORE}/UniswapV3Pool.sol/UniswapV3Pool.json",
    "NonfungiblePositionManager": f"{_UNI_PERIPHERY}/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
    "QuoterV2": f"{_UNI_ROUTER}/lens/QuoterV2.sol/QuoterV2.json",
    "SwapRouter02": f"{_UNI_ROUTER}/SwapRouter02.sol/SwapRouter02.json",
    "SafeL2": f"{_SAFE}/SafeL2.sol/SafeL2.json",
    "SafeProxyFactory": f"{_SAFE}/proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
    "MultiSendCallOnly": f"{_SAFE}/libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
    "CompatibilityFallbackHandler": f"{_SAFE}/handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
    "Simple7702Account": f"{_AA}/Simple7702Account.json",
}

#: Aave logic libraries, in an order where each one's own link references come first
#: (FlashLoanLogic links BorrowLogic).
AAVE_POOL_LIBRARIES: tuple[str, ...] = (
    "BorrowLogic",
    "BridgeLogic",
    "EModeLogic",
    "LiquidationLogic",
    "PoolLogic",
    "SupplyLogic",
    "FlashLoanLogic",
)
AAVE_CONFIGURATOR_LIBRARIES: tuple[str, ...] = ("ConfiguratorLogic",)
for _lib in AAVE_POOL_LIBRARIES + AAVE_CONFIGURATOR_LIBRARIES:
    ARTIFACT_PATHS[_lib] = f"{_AAVE}/protocol/libraries/logic/{_lib}.sol/{_lib}.json"


@dataclass(frozen=True)
class Artifact:
    """A Hardhat artifact: ABI, unlinked creation bytecode and its link references."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    link_references: dict[str, dict[str, list[dict[str, int]]]]

    def linked(self, libraries: Mapping[str, str]) -> str:
        """Creation bytecode with every library placeholder replaced by its address."""
        return link_bytecode(self.bytecode, self.link_references, libraries)


def node_modules_dir() -> Path:
    """The repository's node_modules, or a DevnetError saying how to install it."""
    path = REPO_ROOT / "node_modules"
    if not path.is_dir():
        raise DevnetError(f"{path} is missing: {INSTALL_HINT}")
    return path


def package_version(package: str) -> str:
    """Installed version of an npm package (part of the snapshot cache key)."""
    pkg = node_modules_dir() / package / "package.json"
    if not pkg.exists():
        raise DevnetError(f"npm package {package} is not installed: {INSTALL_HINT}")
    return str(json.loads(pkg.read_text())["version"])


@lru_cache(maxsize=None)
def load_artifact(name: str) -> Artifact:
    """Read one artifact by its short name (see ARTIFACT_PATHS)."""
    try:
        rel = ARTIFACT_PATHS[name]
    except KeyError:
        raise DevnetError(f"unknown artifact {name!r}") from None
    path = node_modules_dir() / rel
    if not path.exists():
        raise DevnetError(f"artifact {rel} not found in node_modules: {INSTALL_HINT}")
    data = json.loads(path.read_text())
    return Artifact(
        name=str(data["contractName"]),
        abi=data["abi"],
        bytecode=str(data["bytecode"]),
        link_references=data.get("linkReferences") or {},
    )


def link_bytecode(
    bytecode: str,
    link_references: Mapping[str, Mapping[str, list[dict[str, int]]]],
    libraries: Mapping[str, str],
) -> str:
    """Write library addresses into bytecode at the offsets given by linkReferences.

    ``libraries`` maps a library name (e.g. ``"SupplyLogic"``) to its deployed address.
    Offsets are in bytes of the bytecode without its ``0x`` prefix.
    """
    hexcode = bytecode[2:] if bytecode.startswith("0x") else bytecode
    chars = list(hexcode)
    for source, libs in link_references.items():
        for lib, refs in libs.items():
            if lib not in libraries:
                raise DevnetError(f"library {source}:{lib} is not deployed; cannot link")
            addr = libraries[lib].lower().removeprefix("0x")
            if len(addr) != 40:
                raise DevnetError(f"bad address for library {lib}: {libraries[lib]}")
            for ref in refs:
                start, length = ref["start"] * 2, ref["length"] * 2
                placeholder = hexcode[start : start + length]
                if not placeholder.startswith("__"):
                    raise DevnetError(f"no link placeholder for {lib} at byte {ref['start']}")
                chars[start : start + length] = addr
    linked = "".join(chars)
    if "__" in linked:
        raise DevnetError("bytecode still has unlinked library placeholders")
    return "0x" + linked
