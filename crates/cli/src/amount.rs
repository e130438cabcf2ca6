//! Money and durations on the command line: USDC with six decimals, SOL with nine, seconds.
//! Amounts are integers of base units everywhere; text is parsed digit by digit, never
//! through floats.

use std::time::Duration;

/// Decimals of USDC.
pub(crate) const USDC_DECIMALS: u32 = 6;
/// Decimals of SOL.
pub(crate) const SOL_DECIMALS: u32 = 9;

/// Parses a decimal amount (`"1"`, `"0.015"`) into base units with `decimals` decimals.
pub(crate) fn parse_units(text: &str, decimals: u32) -> Result<u64, String> {
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
    let scale = 10u64.pow(decimals);
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("{text:?} is too large"))?
    };
    let mut f: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        f += u64::from(b - b'0') * 10u64.pow(decimals - 1 - i as u32);
    }
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(f))
        .ok_or_else(|| format!("{text:?} is too large"))
}

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
pub(crate) fn fmt_units(units: u64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    format!(
        "{}.{:0width$}",
        units / scale,
        units % scale,
        width = decimals as usize
    )
}

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
