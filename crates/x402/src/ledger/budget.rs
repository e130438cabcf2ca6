//! Budgets over time windows: `AMOUNT[/WINDOW]`, e.g. `10/day` or `2.5/week`.

use std::fmt;
use std::str::FromStr;

/// The window a budget counts over. Windows roll: "day" is the last 24 hours, not the
/// calendar day, so no reset at midnight lets a burst pay twice the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Window {
    /// The last 60 minutes.
    Hour,
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Days30,
    /// Everything the ledger holds.
    Total,
}

impl Window {
    /// The window's length in milliseconds (`None` for [`Window::Total`]).
    pub const fn millis(self) -> Option<u64> {
        match self {
            Window::Hour => Some(3_600_000),
            Window::Day => Some(86_400_000),
            Window::Week => Some(7 * 86_400_000),
            Window::Days30 => Some(30 * 86_400_000),
            Window::Total => None,
        }
    }

    /// The first instant (Unix ms) inside the window that ends at `now_ms`.
    pub fn since(self, now_ms: u64) -> u64 {
        self.millis().map_or(0, |w| now_ms.saturating_sub(w))
    }

    /// The name used in `AMOUNT/WINDOW` (`hour`, `day`, `week`, `30d`, `total`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Week => "week",
            Window::Days30 => "30d",
            Window::Total => "total",
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Window {
    type Err = BudgetParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "h" | "hour" | "1h" | "hourly" => Window::Hour,
            "d" | "day" | "1d" | "24h" | "daily" => Window::Day,
            "w" | "week" | "7d" | "weekly" => Window::Week,
            "30d" | "30days" | "month" | "30-days" => Window::Days30,
            "total" | "all" | "ever" | "lifetime" => Window::Total,
            other => return Err(BudgetParseError::Window(other.to_owned())),
        })
    }
}

/// A budget: at most `amount` base units over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    /// Base units.
    pub amount: u64,
    /// The window.
    pub window: Window,
}

impl Budget {
    /// `amount` base units over `window`.
    pub const fn new(amount: u64, window: Window) -> Self {
        Budget { amount, window }
    }

    /// `amount` base units in all (no window).
    pub const fn total(amount: u64) -> Self {
        Budget {
            amount,
            window: Window::Total,
        }
    }

    /// Parses `AMOUNT[/WINDOW]`, the amount a decimal in whole tokens of `decimals` decimals
    /// (`"10/day"` with 6 decimals is 10,000,000 base units a rolling day). Without a
    /// window, `default_window` applies.
    pub fn parse(
        text: &str,
        decimals: u8,
        default_window: Window,
    ) -> Result<Budget, BudgetParseError> {
        let (amount, window) = match text.split_once('/') {
            Some((a, w)) => (a, w.parse()?),
            None => (text, default_window),
        };
        let amount = sova_protocol::units::parse_units(amount.trim(), u32::from(decimals))
            .map_err(|e| BudgetParseError::Amount(format!("{amount:?}: {e}")))?;
        Ok(Budget { amount, window })
    }
}

/// Why a budget did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetParseError {
    /// The amount is not a decimal number of tokens.
    #[error("the budget amount {0} is not a decimal number of USDC")]
    Amount(String),
    /// The window is unknown.
    #[error("unknown budget window {0:?}: use hour, day, week, 30d or total (e.g. 10/day)")]
    Window(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_and_windows() {
        assert_eq!(
            Budget::parse("10/day", 6, Window::Total),
            Ok(Budget::new(10_000_000, Window::Day))
        );
        assert_eq!(
            Budget::parse("0.02", 6, Window::Day),
            Ok(Budget::new(20_000, Window::Day))
        );
        assert_eq!(
            Budget::parse("1.5/30d", 6, Window::Day),
            Ok(Budget::new(1_500_000, Window::Days30))
        );
        assert_eq!(
            Budget::parse("3/total", 6, Window::Day),
            Ok(Budget::total(3_000_000))
        );
        assert!(matches!(
            Budget::parse("3/fortnight", 6, Window::Day),
            Err(BudgetParseError::Window(_))
        ));
        assert!(matches!(
            Budget::parse("abc/day", 6, Window::Day),
            Err(BudgetParseError::Amount(_))
        ));
        assert_eq!(Window::Day.since(100_000_000), 100_000_000 - 86_400_000);
        assert_eq!(Window::Total.since(5), 0);
    }
}
