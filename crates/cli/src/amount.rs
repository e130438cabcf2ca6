//! Money and durations on the command line: USDC with six decimals, SOL with nine, seconds.
//! Amounts are integers of base units everywhere; text is parsed digit by digit, never
//! through floats.

use std::time::Duration;

/// Decimals of USDC.
pub(crate) const USDC_DECIMALS: u32 = 6;
/// Decimals of SOL.
pub(crate) const SOL_DECIMALS: u32 = 9;

/// Parses a decimal amount (`"1"`, `"0.015"`) into base units with `decimals` decimals.
pub(crate) use sova_protocol::units::parse_units;

/// Parses USDC (`"0.05"`) into base units (clap value parser).
pub(crate) fn parse_usdc(text: &str) -> Result<u64, String> {
    parse_units(text, USDC_DECIMALS)
}

/// Parses seconds (`"2"`, `"0.25"`) into a duration (clap value parser).
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let ms = parse_units(text, 3)?;
    Ok(Duration::from_millis(ms))
}

/// Formats base units with `decimals` decimals (`15000`, 6 → `"0.015000"`).
pub(crate) use sova_protocol::units::format_units as fmt_units;

/// `"0.015000 USDC"`.
pub(crate) fn usdc(units: u64) -> String {
    format!("{} USDC", fmt_units(units, USDC_DECIMALS))
}

/// `"1.000000000 SOL"`.
pub(crate) fn sol(lamports: u64) -> String {
    format!("{} SOL", fmt_units(lamports, SOL_DECIMALS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_usdc("1"), Ok(1_000_000));
        assert_eq!(parse_usdc("0.015"), Ok(15_000));
        assert_eq!(parse_usdc(".5"), Ok(500_000));
        assert_eq!(parse_usdc("2."), Ok(2_000_000));
        assert!(parse_usdc("0.0000001").is_err());
        assert!(parse_usdc("-1").is_err());
        assert!(parse_usdc("1e3").is_err());
        assert!(parse_usdc("").is_err());
        assert!(parse_usdc("99999999999999999999").is_err());
        assert_eq!(usdc(15_000), "0.015000 USDC");
        assert_eq!(usdc(12_345_678), "12.345678 USDC");
        assert_eq!(sol(1_500_000_000), "1.500000000 SOL");
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
    }
}
