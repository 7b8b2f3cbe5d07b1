// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title MorphoStyleVault (mammon devnet stand-in for a MetaMorpho vault)
/// @notice A plain OpenZeppelin ERC-4626 vault. Like MetaMorpho, shares always have 18
///         decimals: `_decimalsOffset()` is `18 - asset.decimals()`, so a USDC vault uses
///         an offset of 12 virtual decimals (this also protects against inflation attacks).
/// @dev Yield is simulated by transferring extra assets to the vault: totalAssets() is the
///      vault's asset balance, so the share price rises. There is no allocator, no fee,
///      no timelock and no market list: only the ERC-4626 surface matters to mammon.
contract MorphoStyleVault is ERC4626 {
    uint8 private immutable _offset;

    constructor(IERC20Metadata asset_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC4626(asset_)
    {
        uint8 assetDecimals = asset_.decimals();
        require(assetDecimals <= 18, "MorphoStyleVault: asset has more than 18 decimals");
        _offset = 18 - assetDecimals;
    }

    /// @dev Shares get 18 decimals whatever the asset's decimals (MetaMorpho convention).
    function _decimalsOffset() internal view override returns (uint8) {
        return _offset;
    }
}
