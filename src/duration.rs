//! Durations as users write them on the command line, and ages as the report prints them.
//!
//! Owns: [`parse`] for flags such as `--retain 10m` (`90s`, `10m`, `2h`, `1h30m`, `7d`, and
//! Kyuubi's own ISO-8601 form `PT5M`), and [`human`] for ages in the report (`3d4h`, kubectl
//! style). Must not: read the clock.

use jiff::SignedDuration;

/// Parses a non-negative duration: `<number><unit>` groups with units `s`, `m`, `h`, `d`
/// (`1h30m`), a bare `0`, or an ISO-8601 duration like `PT5M` as Kyuubi's configuration uses.
pub(crate) fn parse(input: &str) -> Result<SignedDuration, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err("empty duration; use e.g. 10m, 2h, 1h30m, 7d".into());
    }
    if text == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if let Some(positive) = text.strip_prefix('-') {
        return Err(format!(
            "{text:?} is negative; durations are lengths of time such as {}",
            if positive.is_empty() { "10m" } else { positive }
        ));
    }
    if text.starts_with(['P', 'p']) {
        // Through a `Span`, so that `P1D` works: a day is taken as 24 hours here.
        let span = text.parse::<jiff::Span>().map_err(|_| {
            format!("invalid ISO-8601 duration {text:?}; use e.g. PT5M, PT1H30M, P1D")
        })?;
        if span.get_years() != 0 || span.get_months() != 0 {
            return Err(format!(
                "{text:?} uses years or months, which have no fixed length; write days \
                 instead (P365D, P30D) or 365d"
            ));
        }
        let parsed = span
            .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .map_err(|_| format!("{text:?} is too large a duration"))?;
        return if parsed.is_negative() {
            Err(format!("{text:?} is negative"))
        } else {
            Ok(parsed)
        };
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration {text:?}: expected a number at {rest:?}"
            ));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.chars().take_while(char::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let seconds_per_unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: {number} needs a unit (s, m, h, d)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?} (use s, m, h, d)"
                ));
            }
        };
        let value: i64 = number
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: {number} is too large"))?;
        total = value
            .checked_mul(seconds_per_unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("invalid duration {text:?}: too large"))?;
        rest = after;
    }
    Ok(SignedDuration::from_secs(total))
}

/// Formats an age the way kubectl does: the two largest units (`3d4h`, `5h12m`, `7m30s`, `45s`).
/// Negative ages (a clock ahead of ours) print as `0s`.
#[must_use]
pub(crate) fn human(age: SignedDuration) -> String {
    let secs = age.as_secs().max(0);
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) if s == 0 || m >= 10 => format!("{m}m"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) if m == 0 || h >= 10 => format!("{h}h"),
        (0, _, _) => format!("{h}h{m}m"),
        _ if h == 0 || d >= 10 => format!("{d}d"),
        _ => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_users_write() {
        let cases = [
            ("0", 0),
            ("45s", 45),
            ("10m", 600),
            ("2h", 7200),
            ("1h30m", 5400),
            ("7d", 604_800),
            ("1d2h3m4s", 93_784),
            (" 10m ", 600),
            ("PT5M", 300),
            ("PT1H30M", 5400),
            ("P1D", 86_400),
            ("P1DT2H", 93_600),
        ];
        for (input, secs) in cases {
            assert_eq!(parse(input), Ok(SignedDuration::from_secs(secs)), "{input}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_mean() {
        for input in [
            "",
            "10",
            "m",
            "10x",
            "-5m",
            "1.5h",
            "10 m",
            "99999999999999999999s",
            "PT-5M",
        ] {
            assert!(parse(input).is_err(), "{input} should be rejected");
        }
        assert!(parse("10").unwrap_err().contains("needs a unit"));
        assert!(parse("10y").unwrap_err().contains("unknown unit \"y\""));
        assert!(
            parse("-5m").unwrap_err().contains("is negative"),
            "says why"
        );
        assert!(parse("-PT5M").unwrap_err().contains("is negative"));
        let year = parse("P1Y").unwrap_err();
        assert!(
            year.contains("years or months") && year.contains("P365D"),
            "{year}"
        );
        assert!(parse("P1M").unwrap_err().contains("years or months"));
        assert!(!parse("PTxx").unwrap_err().contains("jiff"));
    }

    #[test]
    fn formats_ages_like_kubectl() {
        let cases = [
            (0, "0s"),
            (-5, "0s"),
            (45, "45s"),
            (60, "1m"),
            (450, "7m30s"),
            (720, "12m"),
            (3600, "1h"),
            (3900, "1h5m"),
            (36_000 + 60, "10h"),
            (86_400, "1d"),
            (93_600, "1d2h"),
            (864_000 + 3600, "10d"),
        ];
        for (secs, text) in cases {
            assert_eq!(human(SignedDuration::from_secs(secs)), text, "{secs}");
        }
    }
}
