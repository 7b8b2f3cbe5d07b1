// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title StandardVault (mammon devnet: a plain OpenZeppelin ERC-4626 vault)
/// @notice OpenZeppelin's ERC4626 exactly as published: `_decimalsOffset()` is 0, so the shares have
///         the asset's decimals (6 for a USDC vault). It sits next to the MetaMorpho-style vault so
///         mammon's share math is exercised on both conventions.
/// @dev Yield is simulated by transferring extra assets to the vault (totalAssets() is its balance).
contract StandardVault is ERC4626 {
    constructor(IERC20Metadata asset_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC4626(asset_)
    {}
}
