// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title AerodromePool (mammon devnet stand-in for an Aerodrome v2 volatile Pool)
/// @notice Volatile (x*y=k) pool whose LP token is this ERC-20 (18 decimals). Follows
///         Aerodrome's Pool: mint/burn/swap are called after tokens were sent to the pool,
///         the first deposit locks MINIMUM_LIQUIDITY (1000) at address(1), and the
///         swap fee (30 bps, Aerodrome's volatile default) is taken from the input amount.
/// @dev Differences from Aerodrome, on purpose: only volatile pools; no oracle
///      observations, no gauge, and the fee stays in the reserves (Uniswap V2 style)
///      instead of going to a PoolFees contract for claimable(). Swap outputs and LP
///      amounts for a user are the same as Aerodrome's for the same reserves.
contract AerodromePool is ERC20 {
    using SafeERC20 for IERC20;

    uint256 public constant MINIMUM_LIQUIDITY = 10 ** 3;
    /// @dev Fee in basis points, taken from amountIn (Aerodrome PoolFactory volatileFee = 30).
    uint256 public constant FEE_BPS = 30;

    address public immutable factory;
    address public immutable token0;
    address public immutable token1;
    bool public constant stable = false;

    uint256 public reserve0;
    uint256 public reserve1;
    uint256 public blockTimestampLast;

    uint256 private _unlocked = 1;

    error InsufficientLiquidityMinted();
    error InsufficientLiquidityBurned();
    error InsufficientOutputAmount();
    error InsufficientInputAmount();
    error InsufficientLiquidity();
    error InvalidTo();
    error K();
    error Locked();

    event Mint(address indexed sender, uint256 amount0, uint256 amount1);
    event Burn(address indexed sender, address indexed to, uint256 amount0, uint256 amount1);
    event Swap(address indexed sender, address indexed to, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out);
    event Sync(uint256 reserve0, uint256 reserve1);

    modifier lock() {
        if (_unlocked != 1) revert Locked();
        _unlocked = 2;
        _;
        _unlocked = 1;
    }

    constructor(address token0_, address token1_)
        ERC20(
            string.concat("Volatile AMM - ", IERC20Metadata(token0_).symbol(), "/", IERC20Metadata(token1_).symbol()),
            string.concat("vAMM-", IERC20Metadata(token0_).symbol(), "/", IERC20Metadata(token1_).symbol())
        )
    {
        factory = msg.sender;
        token0 = token0_;
        token1 = token1_;
    }

    function getReserves() public view returns (uint256 _reserve0, uint256 _reserve1, uint256 _blockTimestampLast) {
        return (reserve0, reserve1, blockTimestampLast);
    }

    function tokens() external view returns (address, address) {
        return (token0, token1);
    }

    function metadata()
        external
        view
        returns (uint256 dec0, uint256 dec1, uint256 r0, uint256 r1, bool st, address t0, address t1)
    {
        return (
            10 ** IERC20Metadata(token0).decimals(),
            10 ** IERC20Metadata(token1).decimals(),
            reserve0,
            reserve1,
            stable,
            token0,
            token1
        );
    }

    /// @notice Amount out for `amountIn` of `tokenIn`, after the 30 bps fee (Pool.getAmountOut).
    function getAmountOut(uint256 amountIn, address tokenIn) public view returns (uint256) {
        (uint256 reserveA, uint256 reserveB) = tokenIn == token0 ? (reserve0, reserve1) : (reserve1, reserve0);
        amountIn -= (amountIn * FEE_BPS) / 10000;
        return (amountIn * reserveB) / (reserveA + amountIn);
    }

    /// @notice Mint LP for the tokens sent to the pool since the last sync.
    function mint(address to) external lock returns (uint256 liquidity) {
        (uint256 _reserve0, uint256 _reserve1) = (reserve0, reserve1);
        uint256 _balance0 = IERC20(token0).balanceOf(address(this));
        uint256 _balance1 = IERC20(token1).balanceOf(address(this));
        uint256 _amount0 = _balance0 - _reserve0;
        uint256 _amount1 = _balance1 - _reserve1;
        uint256 _totalSupply = totalSupply();
        if (_totalSupply == 0) {
            liquidity = Math.sqrt(_amount0 * _amount1) - MINIMUM_LIQUIDITY;
            _mint(address(1), MINIMUM_LIQUIDITY); // permanently locked, as Aerodrome does
        } else {
            liquidity = Math.min((_amount0 * _totalSupply) / _reserve0, (_amount1 * _totalSupply) / _reserve1);
        }
        if (liquidity == 0) revert InsufficientLiquidityMinted();
        _mint(to, liquidity);
        _update(_balance0, _balance1);
        emit Mint(msg.sender, _amount0, _amount1);
    }

    /// @notice Burn the LP tokens held by the pool and send the underlying to `to`.
    function burn(address to) external lock returns (uint256 amount0, uint256 amount1) {
        uint256 _balance0 = IERC20(token0).balanceOf(address(this));
        uint256 _balance1 = IERC20(token1).balanceOf(address(this));
        uint256 _liquidity = balanceOf(address(this));
        uint256 _totalSupply = totalSupply();
        amount0 = (_liquidity * _balance0) / _totalSupply;
        amount1 = (_liquidity * _balance1) / _totalSupply;
        if (amount0 == 0 || amount1 == 0) revert InsufficientLiquidityBurned();
        _burn(address(this), _liquidity);
        IERC20(token0).safeTransfer(to, amount0);
        IERC20(token1).safeTransfer(to, amount1);
        _update(IERC20(token0).balanceOf(address(this)), IERC20(token1).balanceOf(address(this)));
        emit Burn(msg.sender, to, amount0, amount1);
    }

    /// @notice Send out the requested amounts; the input must already be in the pool.
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata) external lock {
        if (amount0Out == 0 && amount1Out == 0) revert InsufficientOutputAmount();
        (uint256 _reserve0, uint256 _reserve1) = (reserve0, reserve1);
        if (amount0Out >= _reserve0 || amount1Out >= _reserve1) revert InsufficientLiquidity();
        if (to == token0 || to == token1) revert InvalidTo();
        if (amount0Out > 0) IERC20(token0).safeTransfer(to, amount0Out);
        if (amount1Out > 0) IERC20(token1).safeTransfer(to, amount1Out);
        (uint256 amount0In, uint256 amount1In) = _settle(_reserve0, _reserve1, amount0Out, amount1Out);
        emit Swap(msg.sender, to, amount0In, amount1In, amount0Out, amount1Out);
    }

    /// @dev Input = balance above (reserve - output); k must hold after the 30 bps input fee.
    function _settle(uint256 _reserve0, uint256 _reserve1, uint256 amount0Out, uint256 amount1Out)
        private
        returns (uint256 amount0In, uint256 amount1In)
    {
        uint256 _balance0 = IERC20(token0).balanceOf(address(this));
        uint256 _balance1 = IERC20(token1).balanceOf(address(this));
        amount0In = _balance0 > _reserve0 - amount0Out ? _balance0 - (_reserve0 - amount0Out) : 0;
        amount1In = _balance1 > _reserve1 - amount1Out ? _balance1 - (_reserve1 - amount1Out) : 0;
        if (amount0In == 0 && amount1In == 0) revert InsufficientInputAmount();
        uint256 adjusted0 = _balance0 - (amount0In * FEE_BPS) / 10000;
        uint256 adjusted1 = _balance1 - (amount1In * FEE_BPS) / 10000;
        if (adjusted0 * adjusted1 < _reserve0 * _reserve1) revert K();
        _update(_balance0, _balance1);
    }

    /// @notice Force reserves to match balances.
    function sync() external lock {
        _update(IERC20(token0).balanceOf(address(this)), IERC20(token1).balanceOf(address(this)));
    }

    function _update(uint256 balance0, uint256 balance1) private {
        reserve0 = balance0;
        reserve1 = balance1;
        blockTimestampLast = block.timestamp;
        emit Sync(balance0, balance1);
    }
}
