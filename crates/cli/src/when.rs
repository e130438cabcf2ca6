//! Points in time on the command line (`--since`, `--until`): dates, RFC 3339 times, ages
//! and Unix milliseconds, all UTC; and their display.

/// Parses `2026-01-15`, `2026-01-15T10:00:00Z` (or with a space, seconds optional), an age
/// (`30m`, `24h`, `7d`, `2w`: that long before now) or Unix milliseconds, into Unix ms
/// (clap value parser).
pub(crate) fn parse_when(text: &str) -> Result<u64, String> {
    parse_at(text, sova_x402::ledger::unix_ms())
}

/// [`parse_when`] with the current time given.
pub(crate) fn parse_at(text: &str, now_ms: u64) -> Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time: use 2026-01-15, 2026-01-15T10:00:00Z, an age (30m, 24h, 7d) or Unix milliseconds"
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| bad());
    }
    if let Some(unit) = t.chars().last().filter(char::is_ascii_alphabetic)
        && t[..t.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && t.len() > 1
    {
        let n: u64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
        let ms = match unit.to_ascii_lowercase() {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return Err(bad()),
        };
        return Ok(now_ms.saturating_sub(n.saturating_mul(ms)));
    }
    let (date, time) = match t.split_once(['T', 't', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (ymd.next(), ymd.next(), ymd.next()) else {
        return Err(bad());
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if let Some(tm) = time {
        let tm = tm.trim_end_matches(['Z', 'z']);
        let mut hms = tm.splitn(3, ':').map(|p| p.parse::<f64>().ok());
        let h = hms.next().flatten().ok_or_else(bad)?;
        let mi = hms.next().flatten().ok_or_else(bad)?;
        let s = hms.next().flatten().unwrap_or(0.0);
        if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&mi) || !(0.0..61.0).contains(&s) {
            return Err(bad());
        }
        secs += (h as i64) * 3600 + (mi as i64) * 60 + s as i64;
    }
    u64::try_from(secs * 1000).map_err(|_| bad())
}

/// Days from 1970-01-01 to a (year, month, day) (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-01-15 10:30:00` (UTC) for tables.
pub(crate) fn short(ms: u64) -> String {
    let iso = iso(ms);
    iso.get(..19).unwrap_or(&iso).replacen('T', " ", 1)
}

/// `2026-01-15T10:30:00.123Z`.
pub(crate) fn iso(ms: u64) -> String {
    sova_protocol::time::iso8601_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// `2026-01-15`, the UTC day of `ms`.
pub(crate) fn day(ms: u64) -> String {
    iso(ms).get(..10).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_times_ages_and_millis() {
        assert_eq!(parse_at("1768473000123", 0), Ok(1_768_473_000_123));
        assert_eq!(parse_at("2026-01-15", 0), Ok(1_768_435_200_000));
        assert_eq!(parse_at("2026-01-15T10:30:00Z", 0), Ok(1_768_473_000_000));
        assert_eq!(parse_at("2026-01-15 10:30", 0), Ok(1_768_473_000_000));
        assert_eq!(parse_at("24h", 100_000_000), Ok(100_000_000 - 86_400_000));
        assert_eq!(parse_at("30m", 10_000_000), Ok(10_000_000 - 1_800_000));
        assert_eq!(parse_at("2000-02-29", 0), Ok(951_782_400_000));
        for bad in ["", "yesterday", "2026-13-01", "5y", "2026-01-15T25:00"] {
            assert!(parse_at(bad, 0).is_err(), "{bad}");
        }
        assert_eq!(short(1_768_473_000_123), "2026-01-15 10:30:00");
        assert_eq!(day(1_768_473_000_123), "2026-01-15");
    }
}
