// SPDX-License-Identifier: BSD-3-Clause
pragma solidity ^0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title TokenErrorReporter, as in Moonwell's src/TokenErrorReporter.sol (Compound v2).
/// @dev Enum order is copied so the numeric codes match the real protocol. The codes this
///      stand-in can return:
///        0  NO_ERROR
///        1  UNAUTHORIZED       _setReserveFactor by anyone but the admin (info SET_RESERVE_FACTOR_ADMIN_CHECK = 71)
///        2  BAD_INPUT          transfer to self (info TRANSFER_NOT_ALLOWED)
///        9  MATH_ERROR         redeem more mTokens than held (info REDEEM_NEW_ACCOUNT_BALANCE_CALCULATION_FAILED = 45,
///                              or REDEEM_NEW_TOTAL_SUPPLY_CALCULATION_FAILED = 46 when above totalSupply),
///                              transfer above balance (TRANSFER_NOT_ENOUGH = 76) or allowance (TRANSFER_NOT_ALLOWED = 75)
///        14 TOKEN_INSUFFICIENT_CASH  market lacks underlying cash (info REDEEM_TRANSFER_OUT_NOT_POSSIBLE = 47,
///                              BORROW_CASH_NOT_AVAILABLE = 9)
contract TokenErrorReporter {
    enum Error {
        NO_ERROR,
        UNAUTHORIZED,
        BAD_INPUT,
        COMPTROLLER_REJECTION,
        COMPTROLLER_CALCULATION_ERROR,
        INTEREST_RATE_MODEL_ERROR,
        INVALID_ACCOUNT_PAIR,
        INVALID_CLOSE_AMOUNT_REQUESTED,
        INVALID_COLLATERAL_FACTOR,
        MATH_ERROR,
        MARKET_NOT_FRESH,
        MARKET_NOT_LISTED,
        TOKEN_INSUFFICIENT_ALLOWANCE,
        TOKEN_INSUFFICIENT_BALANCE,
        TOKEN_INSUFFICIENT_CASH,
        TOKEN_TRANSFER_IN_FAILED,
        TOKEN_TRANSFER_OUT_FAILED
    }

    enum FailureInfo {
        ACCEPT_ADMIN_PENDING_ADMIN_CHECK,
        ACCRUE_INTEREST_ACCUMULATED_INTEREST_CALCULATION_FAILED,
        ACCRUE_INTEREST_BORROW_RATE_CALCULATION_FAILED,
        ACCRUE_INTEREST_NEW_BORROW_INDEX_CALCULATION_FAILED,
        ACCRUE_INTEREST_NEW_TOTAL_BORROWS_CALCULATION_FAILED,
        ACCRUE_INTEREST_NEW_TOTAL_RESERVES_CALCULATION_FAILED,
        ACCRUE_INTEREST_SIMPLE_INTEREST_FACTOR_CALCULATION_FAILED,
        BORROW_ACCUMULATED_BALANCE_CALCULATION_FAILED,
        BORROW_ACCRUE_INTEREST_FAILED,
        BORROW_CASH_NOT_AVAILABLE,
        BORROW_FRESHNESS_CHECK,
        BORROW_NEW_TOTAL_BALANCE_CALCULATION_FAILED,
        BORROW_NEW_ACCOUNT_BORROW_BALANCE_CALCULATION_FAILED,
        BORROW_MARKET_NOT_LISTED,
        BORROW_COMPTROLLER_REJECTION,
        LIQUIDATE_ACCRUE_BORROW_INTEREST_FAILED,
        LIQUIDATE_ACCRUE_COLLATERAL_INTEREST_FAILED,
        LIQUIDATE_COLLATERAL_FRESHNESS_CHECK,
        LIQUIDATE_COMPTROLLER_REJECTION,
        LIQUIDATE_COMPTROLLER_CALCULATE_AMOUNT_SEIZE_FAILED,
        LIQUIDATE_CLOSE_AMOUNT_IS_UINT_MAX,
        LIQUIDATE_CLOSE_AMOUNT_IS_ZERO,
        LIQUIDATE_FRESHNESS_CHECK,
        LIQUIDATE_LIQUIDATOR_IS_BORROWER,
        LIQUIDATE_REPAY_BORROW_FRESH_FAILED,
        LIQUIDATE_SEIZE_BALANCE_INCREMENT_FAILED,
        LIQUIDATE_SEIZE_BALANCE_DECREMENT_FAILED,
        LIQUIDATE_SEIZE_COMPTROLLER_REJECTION,
        LIQUIDATE_SEIZE_LIQUIDATOR_IS_BORROWER,
        LIQUIDATE_SEIZE_TOO_MUCH,
        MINT_ACCRUE_INTEREST_FAILED,
        MINT_COMPTROLLER_REJECTION,
        MINT_EXCHANGE_CALCULATION_FAILED,
        MINT_EXCHANGE_RATE_READ_FAILED,
        MINT_FRESHNESS_CHECK,
        MINT_NEW_ACCOUNT_BALANCE_CALCULATION_FAILED,
        MINT_NEW_TOTAL_SUPPLY_CALCULATION_FAILED,
        MINT_TRANSFER_IN_FAILED,
        MINT_TRANSFER_IN_NOT_POSSIBLE,
        REDEEM_ACCRUE_INTEREST_FAILED,
        REDEEM_COMPTROLLER_REJECTION,
        REDEEM_EXCHANGE_TOKENS_CALCULATION_FAILED,
        REDEEM_EXCHANGE_AMOUNT_CALCULATION_FAILED,
        REDEEM_EXCHANGE_RATE_READ_FAILED,
        REDEEM_FRESHNESS_CHECK,
        REDEEM_NEW_ACCOUNT_BALANCE_CALCULATION_FAILED,
        REDEEM_NEW_TOTAL_SUPPLY_CALCULATION_FAILED,
        REDEEM_TRANSFER_OUT_NOT_POSSIBLE,
        REDUCE_RESERVES_ACCRUE_INTEREST_FAILED,
        REDUCE_RESERVES_ADMIN_CHECK,
        REDUCE_RESERVES_CASH_NOT_AVAILABLE,
        REDUCE_RESERVES_FRESH_CHECK,
        REDUCE_RESERVES_VALIDATION,
        REPAY_BEHALF_ACCRUE_INTEREST_FAILED,
        REPAY_BORROW_ACCRUE_INTEREST_FAILED,
        REPAY_BORROW_ACCUMULATED_BALANCE_CALCULATION_FAILED,
        REPAY_BORROW_COMPTROLLER_REJECTION,
        REPAY_BORROW_FRESHNESS_CHECK,
        REPAY_BORROW_NEW_ACCOUNT_BORROW_BALANCE_CALCULATION_FAILED,
        REPAY_BORROW_NEW_TOTAL_BALANCE_CALCULATION_FAILED,
        REPAY_BORROW_TRANSFER_IN_NOT_POSSIBLE,
        SET_COLLATERAL_FACTOR_OWNER_CHECK,
        SET_COLLATERAL_FACTOR_VALIDATION,
        SET_COMPTROLLER_OWNER_CHECK,
        SET_INTEREST_RATE_MODEL_ACCRUE_INTEREST_FAILED,
        SET_INTEREST_RATE_MODEL_FRESH_CHECK,
        SET_INTEREST_RATE_MODEL_OWNER_CHECK,
        SET_MAX_ASSETS_OWNER_CHECK,
        SET_ORACLE_MARKET_NOT_LISTED,
        SET_PENDING_ADMIN_OWNER_CHECK,
        SET_RESERVE_FACTOR_ACCRUE_INTEREST_FAILED,
        SET_RESERVE_FACTOR_ADMIN_CHECK,
        SET_RESERVE_FACTOR_FRESH_CHECK,
        SET_RESERVE_FACTOR_BOUNDS_CHECK,
        TRANSFER_COMPTROLLER_REJECTION,
        TRANSFER_NOT_ALLOWED,
        TRANSFER_NOT_ENOUGH,
        TRANSFER_TOO_MUCH,
        ADD_RESERVES_ACCRUE_INTEREST_FAILED,
        ADD_RESERVES_FRESH_CHECK,
        ADD_RESERVES_TRANSFER_IN_NOT_POSSIBLE,
        SET_PROTOCOL_SEIZE_SHARE_ACCRUE_INTEREST_FAILED,
        SET_PROTOCOL_SEIZE_SHARE_OWNER_CHECK,
        SET_PROTOCOL_SEIZE_SHARE_FRESH_CHECK
    }

    /// @dev `error` is an Error, `info` a FailureInfo, `detail` an opaque code (0 here).
    event Failure(uint256 error, uint256 info, uint256 detail);

    function fail(Error err, FailureInfo info) internal returns (uint256) {
        emit Failure(uint256(err), uint256(info), 0);
        return uint256(err);
    }
}

/// @title MoonwellJumpRateModel (mammon devnet stand-in for Moonwell's src/IRModels/JumpRateModel.sol)
/// @notice Compound's jump-rate model per second, as Moonwell runs it on Base: rates are mantissas
///         (1e18 = 100%) per second; the yearly parameters are divided by 365 days.
///         utilization = borrows / (cash + borrows - reserves);
///         borrow rate = base + utilization * multiplier, plus (utilization - kink) * jumpMultiplier above the kink;
///         supply rate = utilization * borrow rate * (1 - reserveFactor).
contract MoonwellJumpRateModel {
    uint256 public constant timestampsPerYear = 365 days;
    uint256 public immutable baseRatePerTimestamp;
    uint256 public immutable multiplierPerTimestamp;
    uint256 public immutable jumpMultiplierPerTimestamp;
    uint256 public immutable kink;

    constructor(uint256 baseRatePerYear, uint256 multiplierPerYear, uint256 jumpMultiplierPerYear, uint256 kink_) {
        baseRatePerTimestamp = baseRatePerYear / timestampsPerYear;
        multiplierPerTimestamp = multiplierPerYear / timestampsPerYear;
        jumpMultiplierPerTimestamp = jumpMultiplierPerYear / timestampsPerYear;
        kink = kink_;
    }

    function utilizationRate(uint256 cash, uint256 borrows, uint256 reserves) public pure returns (uint256) {
        if (borrows == 0) {
            return 0;
        }
        return (borrows * 1e18) / (cash + borrows - reserves);
    }

    function getBorrowRate(uint256 cash, uint256 borrows, uint256 reserves) public view returns (uint256) {
        uint256 util = utilizationRate(cash, borrows, reserves);
        if (util <= kink) {
            return (util * multiplierPerTimestamp) / 1e18 + baseRatePerTimestamp;
        }
        uint256 normalRate = (kink * multiplierPerTimestamp) / 1e18 + baseRatePerTimestamp;
        return ((util - kink) * jumpMultiplierPerTimestamp) / 1e18 + normalRate;
    }

    function getSupplyRate(uint256 cash, uint256 borrows, uint256 reserves, uint256 reserveFactorMantissa) public view returns (uint256) {
        uint256 rateToPool = (getBorrowRate(cash, borrows, reserves) * (1e18 - reserveFactorMantissa)) / 1e18;
        return (utilizationRate(cash, borrows, reserves) * rateToPool) / 1e18;
    }
}

/// @title MoonwellMToken (mammon devnet stand-in for Moonwell's MErc20Delegator/MErc20Delegate)
/// @notice A Moonwell (Compound v2) market without a Comptroller: supply, borrow and interest follow
///         Moonwell's src/MToken.sol; what is left out is collateral and liquidity checks (anyone may
///         borrow up to the market's cash: devnet only), the Comptroller's caps and pauses, and rewards.
///  - Interest accrues per second (timestamps, as Moonwell on Base): accrueInterest() runs first in
///    mint, redeem, redeemUnderlying, borrow, repayBorrow, exchangeRateCurrent, balanceOfUnderlying,
///    borrowBalanceCurrent and totalBorrowsCurrent. It multiplies the borrow rate by the seconds since
///    the last accrual (simple interest), adds that to totalBorrows and borrowIndex, and the reserve
///    factor's share of it to totalReserves.
///  - exchangeRateStored() = (cash + totalBorrows - totalReserves) * 1e18 / totalSupply (the initial
///    rate while nothing is minted), so it grows every second at supplyRatePerTimestamp() between
///    accruals. Underlying sent to the market without minting (a donation) raises it, as on Compound.
///  - 8 decimals; the exchange rate is a mantissa scaled by 1e18 (underlying raw units per mToken
///    raw unit). Initial rate 0.02 underlying per mToken = 2e14 for a 6-decimal underlying,
///    2e26 for an 18-decimal one (2e-2 * 10^(18 + underlyingDecimals - 8)).
///  - mint(amount): mTokens = amount * 1e18 / rate, truncated (divScalarByExpTruncate), the rate read
///    after accrual and before the transfer in. A failing underlying transfer reverts (doTransferIn).
///  - redeem(tokens): underlying = tokens * rate / 1e18, truncated (mulScalarTruncate).
///  - redeemUnderlying(amount): mTokens burned = amount * 1e18 / rate, TRUNCATED
///    (divScalarByExpTruncate), exactly as Moonwell's redeemFresh. (Compound later changed
///    this to round up; Moonwell's deployed MToken did not.)
///  - type(uint256).max passed to redeem or redeemUnderlying redeems the caller's whole
///    mToken balance (Moonwell redeemFresh extension); passed to repayBorrow it repays the whole debt.
///  - Business failures do NOT revert: they emit Failure(error, info, 0) and return the
///    TokenErrorReporter.Error code (see the list above). Redeeming more than the balance
///    returns 9 (MATH_ERROR); redeeming or borrowing more than the market's cash returns 14
///    (TOKEN_INSUFFICIENT_CASH, info REDEEM_TRANSFER_OUT_NOT_POSSIBLE / BORROW_CASH_NOT_AVAILABLE).
///  - transfer/transferFrom return false (no revert) on failure, as Compound's transferTokens.
///  - exchangeRateCurrent() and balanceOfUnderlying() are non-view like the real ones
///    (call them with eth_call to read the rate as of the latest block).
contract MoonwellMToken is TokenErrorReporter {
    using SafeERC20 for IERC20;

    string public name;
    string public symbol;
    uint8 public constant decimals = 8;
    address public immutable underlying;
    address public admin;
    uint256 public totalSupply;
    bool public constant isMToken = true;

    MoonwellJumpRateModel public interestRateModel;
    uint256 public reserveFactorMantissa;
    uint256 public accrualBlockTimestamp;
    uint256 public borrowIndex;
    uint256 public totalBorrows;
    uint256 public totalReserves;
    uint256 internal immutable initialExchangeRateMantissa;
    uint256 internal constant reserveFactorMaxMantissa = 1e18;

    struct BorrowSnapshot {
        uint256 principal;
        uint256 interestIndex;
    }

    mapping(address => uint256) internal accountTokens;
    mapping(address => mapping(address => uint256)) internal transferAllowances;
    mapping(address => BorrowSnapshot) internal accountBorrows;
    bool internal _notEntered = true;

    event AccrueInterest(uint256 cashPrior, uint256 interestAccumulated, uint256 borrowIndex, uint256 totalBorrows);
    event Mint(address minter, uint256 mintAmount, uint256 mintTokens);
    event Redeem(address redeemer, uint256 redeemAmount, uint256 redeemTokens);
    event Borrow(address borrower, uint256 borrowAmount, uint256 accountBorrows, uint256 totalBorrows);
    event RepayBorrow(address payer, address borrower, uint256 repayAmount, uint256 accountBorrows, uint256 totalBorrows);
    event NewReserveFactor(uint256 oldReserveFactorMantissa, uint256 newReserveFactorMantissa);
    event Transfer(address indexed from, address indexed to, uint256 amount);
    event Approval(address indexed owner, address indexed spender, uint256 amount);

    modifier nonReentrant() {
        require(_notEntered, "re-entered");
        _notEntered = false;
        _;
        _notEntered = true;
    }

    constructor(
        address underlying_,
        MoonwellJumpRateModel interestRateModel_,
        uint256 initialExchangeRateMantissa_,
        uint256 reserveFactorMantissa_,
        string memory name_,
        string memory symbol_
    ) {
        require(initialExchangeRateMantissa_ > 0, "initial exchange rate must be greater than zero.");
        require(reserveFactorMantissa_ <= reserveFactorMaxMantissa, "reserve factor above 1");
        underlying = underlying_;
        interestRateModel = interestRateModel_;
        initialExchangeRateMantissa = initialExchangeRateMantissa_;
        reserveFactorMantissa = reserveFactorMantissa_;
        accrualBlockTimestamp = block.timestamp;
        borrowIndex = 1e18;
        name = name_;
        symbol = symbol_;
        admin = msg.sender;
    }

    // ---------------------------------------------------------------- interest

    /// @notice Applies the interest accrued since the last accrual to totalBorrows, totalReserves and borrowIndex.
    /// @return 0 (NO_ERROR)
    function accrueInterest() public returns (uint256) {
        uint256 currentTimestamp = block.timestamp;
        uint256 priorTimestamp = accrualBlockTimestamp;
        if (priorTimestamp == currentTimestamp) {
            return uint256(Error.NO_ERROR);
        }
        uint256 cashPrior = getCashPrior();
        uint256 borrowsPrior = totalBorrows;
        uint256 reservesPrior = totalReserves;
        uint256 borrowIndexPrior = borrowIndex;
        uint256 borrowRate = interestRateModel.getBorrowRate(cashPrior, borrowsPrior, reservesPrior);
        uint256 simpleInterestFactor = borrowRate * (currentTimestamp - priorTimestamp);
        uint256 interestAccumulated = (simpleInterestFactor * borrowsPrior) / 1e18;
        uint256 totalBorrowsNew = interestAccumulated + borrowsPrior;
        uint256 totalReservesNew = (reserveFactorMantissa * interestAccumulated) / 1e18 + reservesPrior;
        uint256 borrowIndexNew = (simpleInterestFactor * borrowIndexPrior) / 1e18 + borrowIndexPrior;
        accrualBlockTimestamp = currentTimestamp;
        borrowIndex = borrowIndexNew;
        totalBorrows = totalBorrowsNew;
        totalReserves = totalReservesNew;
        emit AccrueInterest(cashPrior, interestAccumulated, borrowIndexNew, totalBorrowsNew);
        return uint256(Error.NO_ERROR);
    }

    /// @notice The borrow interest rate per second, scaled by 1e18.
    function borrowRatePerTimestamp() external view returns (uint256) {
        return interestRateModel.getBorrowRate(getCashPrior(), totalBorrows, totalReserves);
    }

    /// @notice The supply interest rate per second, scaled by 1e18: how fast the exchange rate grows.
    function supplyRatePerTimestamp() external view returns (uint256) {
        return interestRateModel.getSupplyRate(getCashPrior(), totalBorrows, totalReserves, reserveFactorMantissa);
    }

    // ---------------------------------------------------------------- supply side

    /// @return 0 on success, otherwise a TokenErrorReporter.Error code.
    function mint(uint256 mintAmount) external nonReentrant returns (uint256) {
        accrueInterest();
        uint256 rate = exchangeRateStoredInternal();
        uint256 actualMintAmount = doTransferIn(msg.sender, mintAmount);
        uint256 mintTokens = (actualMintAmount * 1e18) / rate;
        totalSupply += mintTokens;
        accountTokens[msg.sender] += mintTokens;
        emit Mint(msg.sender, actualMintAmount, mintTokens);
        emit Transfer(address(this), msg.sender, mintTokens);
        return uint256(Error.NO_ERROR);
    }

    /// @return 0 on success, otherwise a TokenErrorReporter.Error code.
    function redeem(uint256 redeemTokens) external nonReentrant returns (uint256) {
        accrueInterest();
        return redeemFresh(msg.sender, redeemTokens, 0);
    }

    /// @return 0 on success, otherwise a TokenErrorReporter.Error code.
    function redeemUnderlying(uint256 redeemAmount) external nonReentrant returns (uint256) {
        accrueInterest();
        return redeemFresh(msg.sender, 0, redeemAmount);
    }

    function redeemFresh(address redeemer, uint256 redeemTokensIn, uint256 redeemAmountIn) internal returns (uint256) {
        require(redeemTokensIn == 0 || redeemAmountIn == 0, "one of redeemTokensIn or redeemAmountIn must be zero");
        uint256 rate = exchangeRateStoredInternal();
        uint256 redeemTokens;
        uint256 redeemAmount;
        if (redeemTokensIn > 0) {
            redeemTokens = redeemTokensIn == type(uint256).max ? accountTokens[redeemer] : redeemTokensIn;
            redeemAmount = (rate * redeemTokens) / 1e18;
        } else if (redeemAmountIn == type(uint256).max) {
            redeemTokens = accountTokens[redeemer];
            redeemAmount = (rate * redeemTokens) / 1e18;
        } else {
            redeemAmount = redeemAmountIn;
            redeemTokens = (redeemAmountIn * 1e18) / rate;
        }
        if (redeemTokens > totalSupply) {
            return fail(Error.MATH_ERROR, FailureInfo.REDEEM_NEW_TOTAL_SUPPLY_CALCULATION_FAILED);
        }
        if (redeemTokens > accountTokens[redeemer]) {
            return fail(Error.MATH_ERROR, FailureInfo.REDEEM_NEW_ACCOUNT_BALANCE_CALCULATION_FAILED);
        }
        if (getCashPrior() < redeemAmount) {
            return fail(Error.TOKEN_INSUFFICIENT_CASH, FailureInfo.REDEEM_TRANSFER_OUT_NOT_POSSIBLE);
        }
        // Comptroller.redeemVerify (called last in Moonwell's redeemFresh): an amount that burns no mTokens reverts
        require(redeemTokens > 0 || redeemAmount == 0, "redeemTokens zero");
        totalSupply -= redeemTokens;
        accountTokens[redeemer] -= redeemTokens;
        emit Transfer(redeemer, address(this), redeemTokens);
        emit Redeem(redeemer, redeemAmount, redeemTokens);
        IERC20(underlying).safeTransfer(redeemer, redeemAmount);
        return uint256(Error.NO_ERROR);
    }

    // ---------------------------------------------------------------- borrow side (no Comptroller: no collateral check)

    /// @return 0 on success, otherwise a TokenErrorReporter.Error code.
    function borrow(uint256 borrowAmount) external nonReentrant returns (uint256) {
        accrueInterest();
        if (getCashPrior() < borrowAmount) {
            return fail(Error.TOKEN_INSUFFICIENT_CASH, FailureInfo.BORROW_CASH_NOT_AVAILABLE);
        }
        uint256 accountBorrowsNew = borrowBalanceStored(msg.sender) + borrowAmount;
        uint256 totalBorrowsNew = totalBorrows + borrowAmount;
        accountBorrows[msg.sender] = BorrowSnapshot(accountBorrowsNew, borrowIndex);
        totalBorrows = totalBorrowsNew;
        IERC20(underlying).safeTransfer(msg.sender, borrowAmount);
        emit Borrow(msg.sender, borrowAmount, accountBorrowsNew, totalBorrowsNew);
        return uint256(Error.NO_ERROR);
    }

    /// @return 0 on success, otherwise a TokenErrorReporter.Error code.
    function repayBorrow(uint256 repayAmount) external nonReentrant returns (uint256) {
        accrueInterest();
        uint256 owed = borrowBalanceStored(msg.sender);
        uint256 actualRepayAmount = doTransferIn(msg.sender, repayAmount == type(uint256).max ? owed : repayAmount);
        require(actualRepayAmount <= owed, "REPAY_BORROW_NEW_ACCOUNT_BORROW_BALANCE_CALCULATION_FAILED");
        uint256 accountBorrowsNew = owed - actualRepayAmount;
        uint256 totalBorrowsNew = totalBorrows - actualRepayAmount;
        accountBorrows[msg.sender] = BorrowSnapshot(accountBorrowsNew, borrowIndex);
        totalBorrows = totalBorrowsNew;
        emit RepayBorrow(msg.sender, msg.sender, actualRepayAmount, accountBorrowsNew, totalBorrowsNew);
        return uint256(Error.NO_ERROR);
    }

    /// @notice principal * borrowIndex / the borrower's index at its last change (no accrual first).
    function borrowBalanceStored(address account) public view returns (uint256) {
        BorrowSnapshot storage snapshot = accountBorrows[account];
        if (snapshot.principal == 0) {
            return 0;
        }
        return (snapshot.principal * borrowIndex) / snapshot.interestIndex;
    }

    function borrowBalanceCurrent(address account) external nonReentrant returns (uint256) {
        accrueInterest();
        return borrowBalanceStored(account);
    }

    function totalBorrowsCurrent() external nonReentrant returns (uint256) {
        accrueInterest();
        return totalBorrows;
    }

    // ---------------------------------------------------------------- views

    function balanceOf(address owner) external view returns (uint256) {
        return accountTokens[owner];
    }

    function allowance(address owner, address spender) external view returns (uint256) {
        return transferAllowances[owner][spender];
    }

    /// @notice The exchange rate as of the last accrual (no interest accrued first).
    function exchangeRateStored() public view returns (uint256) {
        return exchangeRateStoredInternal();
    }

    /// @notice Accrues interest, then returns the exchange rate (non-view, as Moonwell's).
    function exchangeRateCurrent() external nonReentrant returns (uint256) {
        accrueInterest();
        return exchangeRateStoredInternal();
    }

    /// @dev Non-view in Moonwell; underlying = balance * exchangeRateCurrent / 1e18, truncated.
    function balanceOfUnderlying(address owner) external nonReentrant returns (uint256) {
        accrueInterest();
        return (exchangeRateStoredInternal() * accountTokens[owner]) / 1e18;
    }

    function getCash() external view returns (uint256) {
        return getCashPrior();
    }

    // ---------------------------------------------------------------- mToken ERC-20

    function transfer(address dst, uint256 amount) external nonReentrant returns (bool) {
        return transferTokens(msg.sender, msg.sender, dst, amount) == uint256(Error.NO_ERROR);
    }

    function transferFrom(address src, address dst, uint256 amount) external nonReentrant returns (bool) {
        return transferTokens(msg.sender, src, dst, amount) == uint256(Error.NO_ERROR);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        transferAllowances[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transferTokens(address spender, address src, address dst, uint256 tokens) internal returns (uint256) {
        if (src == dst) {
            return fail(Error.BAD_INPUT, FailureInfo.TRANSFER_NOT_ALLOWED);
        }
        uint256 startingAllowance = spender == src ? type(uint256).max : transferAllowances[src][spender];
        if (tokens > startingAllowance) {
            return fail(Error.MATH_ERROR, FailureInfo.TRANSFER_NOT_ALLOWED);
        }
        if (tokens > accountTokens[src]) {
            return fail(Error.MATH_ERROR, FailureInfo.TRANSFER_NOT_ENOUGH);
        }
        accountTokens[src] -= tokens;
        accountTokens[dst] += tokens;
        if (startingAllowance != type(uint256).max) {
            transferAllowances[src][spender] = startingAllowance - tokens;
        }
        emit Transfer(src, dst, tokens);
        return uint256(Error.NO_ERROR);
    }

    // ---------------------------------------------------------------- admin

    /// @return 0 on success; 1 (UNAUTHORIZED) for anyone but the admin, 2 (BAD_INPUT) above 100%.
    function _setReserveFactor(uint256 newReserveFactorMantissa) external nonReentrant returns (uint256) {
        accrueInterest();
        if (msg.sender != admin) {
            return fail(Error.UNAUTHORIZED, FailureInfo.SET_RESERVE_FACTOR_ADMIN_CHECK);
        }
        if (newReserveFactorMantissa > reserveFactorMaxMantissa) {
            return fail(Error.BAD_INPUT, FailureInfo.SET_RESERVE_FACTOR_BOUNDS_CHECK);
        }
        emit NewReserveFactor(reserveFactorMantissa, newReserveFactorMantissa);
        reserveFactorMantissa = newReserveFactorMantissa;
        return uint256(Error.NO_ERROR);
    }

    // ---------------------------------------------------------------- internals

    /// @dev (cash + totalBorrows - totalReserves) * 1e18 / totalSupply, or the initial rate with no supply.
    function exchangeRateStoredInternal() internal view returns (uint256) {
        uint256 supply = totalSupply;
        if (supply == 0) {
            return initialExchangeRateMantissa;
        }
        return ((getCashPrior() + totalBorrows - totalReserves) * 1e18) / supply;
    }

    function getCashPrior() internal view returns (uint256) {
        return IERC20(underlying).balanceOf(address(this));
    }

    /// @dev Like MErc20.doTransferIn: pulls and returns the amount actually received.
    function doTransferIn(address from, uint256 amount) internal returns (uint256) {
        uint256 balanceBefore = IERC20(underlying).balanceOf(address(this));
        IERC20(underlying).safeTransferFrom(from, address(this), amount);
        uint256 balanceAfter = IERC20(underlying).balanceOf(address(this));
        require(balanceAfter >= balanceBefore, "TOKEN_TRANSFER_IN_OVERFLOW");
        return balanceAfter - balanceBefore;
    }
}
