// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AerodromePool} from "./AerodromePool.sol";

/// @title AerodromeRouter (mammon devnet stand-in for Aerodrome v2's Router + PoolFactory)
/// @notice Same external interface (names, argument order, selectors, custom errors) as
///         Aerodrome's Router for the calls mammon builds:
///           swapExactTokensForTokens  0xcac88ea9
///           addLiquidity              0x5a47ddc3
///           removeLiquidity           0x0dede6c4
///         plus getAmountsOut, quoteAddLiquidity, quoteRemoveLiquidity, getReserves, poolFor,
///         sortTokens and defaultFactory.
/// @dev The router is its own pool factory: defaultFactory() returns address(this), and a
///      Route.factory of address(0) also means this factory (Aerodrome does the same with its
///      default factory). Only volatile pools exist: stable = true reverts with
///      StablePoolsNotSupported(). poolFor() returns address(0) for a pool that was never
///      created (Aerodrome predicts a clone address instead).
contract AerodromeRouter {
    using SafeERC20 for IERC20;

    struct Route {
        address from;
        address to;
        bool stable;
        address factory;
    }

    uint256 public constant MINIMUM_LIQUIDITY = 10 ** 3;

    mapping(address => mapping(address => address)) private _pools; // token0 => token1 => pool
    address[] public allPools;

    error Expired();
    error InsufficientOutputAmount();
    error InsufficientAmountA();
    error InsufficientAmountB();
    error InsufficientAmountADesired();
    error InsufficientAmountBDesired();
    error InsufficientLiquidity();
    error InvalidPath();
    error PoolDoesNotExist();
    error PoolFactoryDoesNotExist();
    error SameAddresses();
    error ZeroAddress();
    error StablePoolsNotSupported();

    event PoolCreated(address indexed token0, address indexed token1, bool indexed stable, address pool, uint256);

    modifier ensure(uint256 deadline) {
        if (deadline < block.timestamp) revert Expired();
        _;
    }

    // ---------------------------------------------------------------- factory side

    function defaultFactory() public view returns (address) {
        return address(this);
    }

    function allPoolsLength() external view returns (uint256) {
        return allPools.length;
    }

    function getPool(address tokenA, address tokenB, bool stable) public view returns (address) {
        if (stable) return address(0);
        (address token0, address token1) = sortTokens(tokenA, tokenB);
        return _pools[token0][token1];
    }

    /// @notice Create a volatile pool (PoolFactory.createPool). Anyone may call it.
    function createPool(address tokenA, address tokenB, bool stable) public returns (address pool) {
        if (stable) revert StablePoolsNotSupported();
        (address token0, address token1) = sortTokens(tokenA, tokenB);
        if (_pools[token0][token1] != address(0)) revert InvalidPath();
        pool = address(new AerodromePool{salt: keccak256(abi.encodePacked(token0, token1, stable))}(token0, token1));
        _pools[token0][token1] = pool;
        allPools.push(pool);
        emit PoolCreated(token0, token1, stable, pool, allPools.length);
    }

    // ---------------------------------------------------------------- router views

    function sortTokens(address tokenA, address tokenB) public pure returns (address token0, address token1) {
        if (tokenA == tokenB) revert SameAddresses();
        (token0, token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        if (token0 == address(0)) revert ZeroAddress();
    }

    function poolFor(address tokenA, address tokenB, bool stable, address _factory) public view returns (address pool) {
        _checkFactory(_factory);
        if (stable) revert StablePoolsNotSupported();
        return getPool(tokenA, tokenB, stable);
    }

    function getReserves(address tokenA, address tokenB, bool stable, address _factory)
        public
        view
        returns (uint256 reserveA, uint256 reserveB)
    {
        (address token0,) = sortTokens(tokenA, tokenB);
        address pool = poolFor(tokenA, tokenB, stable, _factory);
        if (pool == address(0)) return (0, 0);
        (uint256 reserve0, uint256 reserve1,) = AerodromePool(pool).getReserves();
        (reserveA, reserveB) = tokenA == token0 ? (reserve0, reserve1) : (reserve1, reserve0);
    }

    function getAmountsOut(uint256 amountIn, Route[] memory routes) public view returns (uint256[] memory amounts) {
        if (routes.length < 1) revert InvalidPath();
        amounts = new uint256[](routes.length + 1);
        amounts[0] = amountIn;
        for (uint256 i = 0; i < routes.length; i++) {
            address pool = poolFor(routes[i].from, routes[i].to, routes[i].stable, routes[i].factory);
            if (pool == address(0)) revert PoolDoesNotExist();
            amounts[i + 1] = AerodromePool(pool).getAmountOut(amounts[i], routes[i].from);
        }
    }

    /// @notice Uniswap V2 / Aerodrome quoteLiquidity: amountB worth amountA at the reserves.
    function quoteLiquidity(uint256 amountA, uint256 reserveA, uint256 reserveB) public pure returns (uint256 amountB) {
        if (amountA == 0) revert InsufficientAmountA();
        if (reserveA == 0 || reserveB == 0) revert InsufficientLiquidity();
        amountB = (amountA * reserveB) / reserveA;
    }

    function quoteAddLiquidity(
        address tokenA,
        address tokenB,
        bool stable,
        address _factory,
        uint256 amountADesired,
        uint256 amountBDesired
    ) external view returns (uint256 amountA, uint256 amountB, uint256 liquidity) {
        address pool = poolFor(tokenA, tokenB, stable, _factory);
        (uint256 reserveA, uint256 reserveB) = (0, 0);
        uint256 _totalSupply = 0;
        if (pool != address(0)) {
            _totalSupply = IERC20(pool).totalSupply();
            (reserveA, reserveB) = getReserves(tokenA, tokenB, stable, _factory);
        }
        if (reserveA == 0 && reserveB == 0) {
            (amountA, amountB) = (amountADesired, amountBDesired);
            liquidity = Math.sqrt(amountA * amountB) - MINIMUM_LIQUIDITY;
        } else {
            uint256 amountBOptimal = quoteLiquidity(amountADesired, reserveA, reserveB);
            if (amountBOptimal <= amountBDesired) {
                (amountA, amountB) = (amountADesired, amountBOptimal);
            } else {
                uint256 amountAOptimal = quoteLiquidity(amountBDesired, reserveB, reserveA);
                (amountA, amountB) = (amountAOptimal, amountBDesired);
            }
            liquidity = Math.min((amountA * _totalSupply) / reserveA, (amountB * _totalSupply) / reserveB);
        }
    }

    function quoteRemoveLiquidity(address tokenA, address tokenB, bool stable, address _factory, uint256 liquidity)
        external
        view
        returns (uint256 amountA, uint256 amountB)
    {
        address pool = poolFor(tokenA, tokenB, stable, _factory);
        if (pool == address(0)) return (0, 0);
        (uint256 reserveA, uint256 reserveB) = getReserves(tokenA, tokenB, stable, _factory);
        uint256 _totalSupply = IERC20(pool).totalSupply();
        amountA = (liquidity * reserveA) / _totalSupply;
        amountB = (liquidity * reserveB) / _totalSupply;
    }

    // ---------------------------------------------------------------- liquidity

    function _addLiquidity(
        address tokenA,
        address tokenB,
        bool stable,
        uint256 amountADesired,
        uint256 amountBDesired,
        uint256 amountAMin,
        uint256 amountBMin
    ) internal returns (uint256 amountA, uint256 amountB) {
        if (amountADesired < amountAMin) revert InsufficientAmountADesired();
        if (amountBDesired < amountBMin) revert InsufficientAmountBDesired();
        address _pool = getPool(tokenA, tokenB, stable);
        if (_pool == address(0)) {
            createPool(tokenA, tokenB, stable);
        }
        (uint256 reserveA, uint256 reserveB) = getReserves(tokenA, tokenB, stable, address(0));
        if (reserveA == 0 && reserveB == 0) {
            (amountA, amountB) = (amountADesired, amountBDesired);
        } else {
            uint256 amountBOptimal = quoteLiquidity(amountADesired, reserveA, reserveB);
            if (amountBOptimal <= amountBDesired) {
                if (amountBOptimal < amountBMin) revert InsufficientAmountB();
                (amountA, amountB) = (amountADesired, amountBOptimal);
            } else {
                uint256 amountAOptimal = quoteLiquidity(amountBDesired, reserveB, reserveA);
                assert(amountAOptimal <= amountADesired);
                if (amountAOptimal < amountAMin) revert InsufficientAmountA();
                (amountA, amountB) = (amountAOptimal, amountBDesired);
            }
        }
    }

    function addLiquidity(
        address tokenA,
        address tokenB,
        bool stable,
        uint256 amountADesired,
        uint256 amountBDesired,
        uint256 amountAMin,
        uint256 amountBMin,
        address to,
        uint256 deadline
    ) external ensure(deadline) returns (uint256 amountA, uint256 amountB, uint256 liquidity) {
        if (stable) revert StablePoolsNotSupported();
        (amountA, amountB) = _addLiquidity(tokenA, tokenB, stable, amountADesired, amountBDesired, amountAMin, amountBMin);
        liquidity = _deposit(tokenA, tokenB, amountA, amountB, to);
    }

    function _deposit(address tokenA, address tokenB, uint256 amountA, uint256 amountB, address to)
        internal
        returns (uint256 liquidity)
    {
        address pool = getPool(tokenA, tokenB, false);
        IERC20(tokenA).safeTransferFrom(msg.sender, pool, amountA);
        IERC20(tokenB).safeTransferFrom(msg.sender, pool, amountB);
        liquidity = AerodromePool(pool).mint(to);
    }

    /// @dev Like Aerodrome: pulls the LP token from the caller with transferFrom into the
    ///      pool, so the caller must approve the LP token (the pool address) to this router.
    function removeLiquidity(
        address tokenA,
        address tokenB,
        bool stable,
        uint256 liquidity,
        uint256 amountAMin,
        uint256 amountBMin,
        address to,
        uint256 deadline
    ) public ensure(deadline) returns (uint256 amountA, uint256 amountB) {
        address pool = poolFor(tokenA, tokenB, stable, address(0));
        if (pool == address(0)) revert PoolDoesNotExist();
        IERC20(pool).safeTransferFrom(msg.sender, pool, liquidity);
        (uint256 amount0, uint256 amount1) = AerodromePool(pool).burn(to);
        (address token0,) = sortTokens(tokenA, tokenB);
        (amountA, amountB) = tokenA == token0 ? (amount0, amount1) : (amount1, amount0);
        if (amountA < amountAMin) revert InsufficientAmountA();
        if (amountB < amountBMin) revert InsufficientAmountB();
    }

    // ---------------------------------------------------------------- swaps

    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        Route[] calldata routes,
        address to,
        uint256 deadline
    ) external ensure(deadline) returns (uint256[] memory amounts) {
        amounts = getAmountsOut(amountIn, routes);
        if (amounts[amounts.length - 1] < amountOutMin) revert InsufficientOutputAmount();
        address firstPool = poolFor(routes[0].from, routes[0].to, routes[0].stable, routes[0].factory);
        IERC20(routes[0].from).safeTransferFrom(msg.sender, firstPool, amounts[0]);
        _swap(amounts, routes, to);
    }

    function _swap(uint256[] memory amounts, Route[] memory routes, address _to) internal {
        uint256 _length = routes.length;
        for (uint256 i = 0; i < _length; i++) {
            (address token0,) = sortTokens(routes[i].from, routes[i].to);
            uint256 amountOut = amounts[i + 1];
            (uint256 amount0Out, uint256 amount1Out) =
                routes[i].from == token0 ? (uint256(0), amountOut) : (amountOut, uint256(0));
            address to = i < routes.length - 1
                ? poolFor(routes[i + 1].from, routes[i + 1].to, routes[i + 1].stable, routes[i + 1].factory)
                : _to;
            AerodromePool(poolFor(routes[i].from, routes[i].to, routes[i].stable, routes[i].factory)).swap(
                amount0Out, amount1Out, to, new bytes(0)
            );
        }
    }

    function _checkFactory(address _factory) internal view {
        if (_factory != address(0) && _factory != address(this)) revert PoolFactoryDoesNotExist();
    }
}
