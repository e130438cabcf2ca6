//! Decimal amounts as integers of base units (USDC has 6 decimals, SOL 9). Text is parsed
//! digit by digit, never through floats; overflow is an error, never a wrap.

/// Parses a non-negative decimal amount (`"1"`, `"0.015"`, `".5"`) into base units with
/// `decimals` decimals. The error is a sentence quoting the input.
///
/// ```
/// use sova_protocol::units::parse_units;
/// assert_eq!(parse_units("0.015", 6), Ok(15_000));
/// assert_eq!(parse_units("2", 9), Ok(2_000_000_000));
/// assert!(parse_units("0.0000001", 6).is_err());
/// assert!(parse_units("-1", 6).is_err());
/// assert!(parse_units("99999999999999999999", 6).is_err());
/// ```
pub fn parse_units(text: &str, decimals: u32) -> Result<u64, String> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("{text:?} is not an amount"));
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} is not a non-negative decimal amount (e.g. 0.015)"
        ));
    }
    if frac.len() > decimals as usize {
        return Err(format!("{text:?} has more than {decimals} decimals"));
    }
    let too_large = || format!("{text:?} is too large");
    let scale = 10u64.checked_pow(decimals).ok_or_else(too_large)?;
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut f: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        f += u64::from(b - b'0') * 10u64.pow(decimals - 1 - i as u32);
    }
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(f))
        .ok_or_else(too_large)
}

/// Formats base units with `decimals` decimals (`15000`, 6 → `"0.015000"`).
///
/// ```
/// assert_eq!(sova_protocol::units::format_units(15_000, 6), "0.015000");
/// assert_eq!(sova_protocol::units::format_units(1_000_000_000, 9), "1.000000000");
/// ```
pub fn format_units(units: u64, decimals: u32) -> String {
    match 10u64.checked_pow(decimals) {
        Some(_) if decimals == 0 => units.to_string(),
        Some(scale) => format!(
            "{}.{:0width$}",
            units / scale,
            units % scale,
            width = decimals as usize
        ),
        None => units.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses() {
        for decimals in [0, 3, 6, 9] {
            for units in [0, 1, 15_000, 999_999, 1_000_000, 123_456_789] {
                let text = format_units(units, decimals);
                assert_eq!(parse_units(&text, decimals), Ok(units), "{text}");
            }
        }
        assert_eq!(parse_units(".5", 6), Ok(500_000));
        for bad in ["", ".", "1e3", "1,5", "0x10", "1.2.3", " - 1"] {
            assert!(parse_units(bad, 6).is_err(), "{bad:?}");
        }
        assert!(parse_units("18446744073709.551616", 6).is_err());
        assert!(parse_units("1", 30).is_err(), "a scale past u64 is refused");
    }
}
