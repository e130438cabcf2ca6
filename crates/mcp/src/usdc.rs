//! USDC amounts as text: base units (six decimals) are integers everywhere; text is parsed
//! digit by digit, never through floats.

/// Decimals of USDC.
pub const DECIMALS: u32 = 6;

/// Parses a decimal USDC amount (`"1"`, `"0.015"`) into base units.
///
/// ```
/// assert_eq!(sova_mcp::usdc::parse("0.015"), Ok(15_000));
/// assert_eq!(sova_mcp::usdc::parse("2"), Ok(2_000_000));
/// assert!(sova_mcp::usdc::parse("0.0000001").is_err());
/// assert!(sova_mcp::usdc::parse("-1").is_err());
/// ```
pub fn parse(text: &str) -> Result<u64, String> {
    sova_protocol::units::parse_units(text, DECIMALS)
}

/// Formats base units as USDC with six decimals (`15000` → `"0.015000"`).
///
/// ```
/// assert_eq!(sova_mcp::usdc::format(15_000), "0.015000");
/// assert_eq!(sova_mcp::usdc::format(2_500_000), "2.500000");
/// ```
pub fn format(units: u64) -> String {
    sova_protocol::units::format_units(units, DECIMALS)
}

/// Formats base units as plain USDC, without trailing zeros (`300000` → `"0.3"`,
/// `2_000_000` → `"2"`): what a person reads in an approval prompt.
///
/// ```
/// assert_eq!(sova_mcp::usdc::plain(300_000), "0.3");
/// assert_eq!(sova_mcp::usdc::plain(15_000), "0.015");
/// assert_eq!(sova_mcp::usdc::plain(2_000_000), "2");
/// ```
pub fn plain(units: u64) -> String {
    let s = format(units);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// An amount as JSON: `{"baseUnits": 15000, "usdc": "0.015000"}`.
pub(crate) fn json(units: u64) -> serde_json::Value {
    serde_json::json!({"baseUnits": units, "usdc": format(units)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for units in [0, 1, 15_000, 999_999, 1_000_000, 123_456_789] {
            assert_eq!(parse(&format(units)), Ok(units));
        }
        assert_eq!(parse(".5"), Ok(500_000));
        assert!(parse("").is_err());
        assert!(parse("1e3").is_err());
        assert!(parse("99999999999999999999").is_err());
    }
}
