// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice The two calls of Aave V3's Pool this vault makes (the devnet runs Aave's real bytecode).
interface IAaveV3PoolLike {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
    function withdraw(address asset, uint256 amount, address to) external returns (uint256);
}

/// @title MorphoStyleVault (mammon devnet stand-in for a MetaMorpho vault)
/// @notice An OpenZeppelin ERC-4626 vault that earns the way a MetaMorpho vault does: it lends its
///         assets to a lending market with borrowers (the devnet's Aave V3 pool, standing in for Morpho
///         Blue markets) and reports them as totalAssets, interest included, so its share price rises
///         every second. Like MetaMorpho, shares always have 18 decimals: `_decimalsOffset()` is
///         `18 - asset.decimals()` (12 virtual decimals for USDC, which also protects against inflation).
/// @dev totalAssets() = the vault's aToken balance (principal plus interest, growing with Aave's liquidity
///      index) + idle assets (a donation waits idle until the next deposit supplies it, as MetaMorpho's idle
///      market). Every deposit supplies all idle assets; a withdraw takes from idle first, then from Aave.
///      No allocator, fee, timelock or market list: only the ERC-4626 surface and its accrual matter to mammon.
contract MorphoStyleVault is ERC4626 {
    using SafeERC20 for IERC20;

    uint8 private immutable _offset;
    IAaveV3PoolLike public immutable pool;
    IERC20 public immutable aToken;

    constructor(IERC20Metadata asset_, string memory name_, string memory symbol_, IAaveV3PoolLike pool_, IERC20 aToken_)
        ERC20(name_, symbol_)
        ERC4626(asset_)
    {
        uint8 assetDecimals = asset_.decimals();
        require(assetDecimals <= 18, "MorphoStyleVault: asset has more than 18 decimals");
        _offset = 18 - assetDecimals;
        pool = pool_;
        aToken = aToken_;
        IERC20(address(asset_)).forceApprove(address(pool_), type(uint256).max);
    }

    /// @dev Lent assets with their interest, plus idle assets.
    function totalAssets() public view override returns (uint256) {
        return aToken.balanceOf(address(this)) + IERC20(asset()).balanceOf(address(this));
    }

    /// @dev Shares get 18 decimals whatever the asset's decimals (MetaMorpho convention).
    function _decimalsOffset() internal view override returns (uint8) {
        return _offset;
    }

    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        super._deposit(caller, receiver, assets, shares);
        uint256 idle = IERC20(asset()).balanceOf(address(this));
        if (idle > 0) {
            pool.supply(asset(), idle, address(this), 0);
        }
    }

    function _withdraw(address caller, address receiver, address owner, uint256 assets, uint256 shares) internal override {
        uint256 idle = IERC20(asset()).balanceOf(address(this));
        if (assets > idle) {
            pool.withdraw(asset(), assets - idle, address(this));
        }
        super._withdraw(caller, receiver, owner, assets, shares);
    }
}
