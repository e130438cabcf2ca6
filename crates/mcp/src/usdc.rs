//! USDC amounts as text: base units (six decimals) are integers everywhere; text is parsed
//! digit by digit, never through floats.

/// Decimals of USDC.
pub const DECIMALS: u32 = 6;

const SCALE: u64 = 1_000_000;

/// Parses a decimal USDC amount (`"1"`, `"0.015"`) into base units.
///
/// ```
/// assert_eq!(sova_mcp::usdc::parse("0.015"), Ok(15_000));
/// assert_eq!(sova_mcp::usdc::parse("2"), Ok(2_000_000));
/// assert!(sova_mcp::usdc::parse("0.0000001").is_err());
/// assert!(sova_mcp::usdc::parse("-1").is_err());
/// ```
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("{text:?} is not an amount"));
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} is not a non-negative decimal amount of USDC (e.g. 0.015)"
        ));
    }
    if frac.len() > DECIMALS as usize {
        return Err(format!("{text:?} has more than {DECIMALS} decimals"));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("{text:?} is too large"))?
    };
    let mut f: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        f += u64::from(b - b'0') * 10u64.pow(DECIMALS - 1 - i as u32);
    }
    whole
        .checked_mul(SCALE)
        .and_then(|w| w.checked_add(f))
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Formats base units as USDC with six decimals (`15000` → `"0.015000"`).
///
/// ```
/// assert_eq!(sova_mcp::usdc::format(15_000), "0.015000");
/// assert_eq!(sova_mcp::usdc::format(2_500_000), "2.500000");
/// ```
pub fn format(units: u64) -> String {
    format!("{}.{:06}", units / SCALE, units % SCALE)
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
