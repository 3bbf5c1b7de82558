//! Parsing of numbers and identifiers as real writers spell them.

/// Largest integer an `f64` holds exactly.
const F64_EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// How a non-negative integer term was spelled, when it was not a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegerSpelling {
    /// `4096`.
    Plain,
    /// `4.096E3` or `4096.0`.
    Decimal,
    /// `-2147483648`: a 64-bit offset written through a signed 32-bit integer.
    Wrapped32,
}

/// Parses a non-negative integer that writers may spell in decimal or scientific notation, or
/// (for byte offsets) wrapped through a signed 32-bit integer. Returns `None` for anything that
/// is not such an integer exactly.
pub fn parse_unsigned(text: &str) -> Option<(u64, IntegerSpelling)> {
    let text = text.trim();
    if let Ok(value) = text.parse::<u64>() {
        return Some((value, IntegerSpelling::Plain));
    }
    if let Ok(value) = text.parse::<i64>() {
        // A negative value from a writer that stored offsets in a signed 32-bit integer.
        if value >= i64::from(i32::MIN) {
            return Some(((value + (1i64 << 32)) as u64, IntegerSpelling::Wrapped32));
        }
        return None;
    }
    let value = text.parse::<f64>().ok()?;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < F64_EXACT_LIMIT {
        Some((value as u64, IntegerSpelling::Decimal))
    } else {
        None
    }
}

/// Parses a coordinate: an integer, possibly written as `3.0`.
pub fn parse_coordinate(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let value = text.parse::<f64>().ok()?;
    (value.is_finite() && value.fract() == 0.0 && value.abs() < F64_EXACT_LIMIT).then_some(value as i64)
}

/// Parses a finite decimal number; also one written with a decimal comma (`12,5`, as writers
/// formatting numbers in a German or French locale do), which the flag marks.
pub fn parse_decimal(text: &str) -> Option<(f64, bool)> {
    let text = text.trim();
    if let Ok(value) = text.parse::<f64>() {
        return value.is_finite().then_some((value, false));
    }
    if text.matches(',').count() != 1 || text.contains('.') {
        return None;
    }
    let value = text.replace(',', ".").parse::<f64>().ok()?;
    value.is_finite().then_some((value, true))
}

/// Parses a UUID in any spelling seen in imzML files: with or without braces, with or without
/// hyphens, upper or lower case.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    let text = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    let hex: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let digits = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(out)
}

/// Canonical lower-case hyphenated spelling of a UUID.
pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let hex = to_hex(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_with_a_point_or_a_comma() {
        assert_eq!(parse_decimal(" 12.5 "), Some((12.5, false)));
        assert_eq!(parse_decimal("1.25e1"), Some((12.5, false)));
        assert_eq!(parse_decimal("12,5"), Some((12.5, true)));
        assert_eq!(parse_decimal("1,250.5"), None);
        assert_eq!(parse_decimal("1,2,5"), None);
        assert_eq!(parse_decimal("inf"), None);
        assert_eq!(parse_decimal("abc"), None);
    }

    #[test]
    fn integers_in_every_spelling() {
        assert_eq!(parse_unsigned("16"), Some((16, IntegerSpelling::Plain)));
        assert_eq!(parse_unsigned(" 1.6E1 "), Some((16, IntegerSpelling::Decimal)));
        assert_eq!(parse_unsigned("16.0"), Some((16, IntegerSpelling::Decimal)));
        assert_eq!(
            parse_unsigned("-2147483648"),
            Some((2_147_483_648, IntegerSpelling::Wrapped32))
        );
        assert_eq!(parse_unsigned("-1"), Some((4_294_967_295, IntegerSpelling::Wrapped32)));
        assert_eq!(parse_unsigned("-9999999999"), None);
        assert_eq!(parse_unsigned("16.5"), None);
        assert_eq!(parse_unsigned("1e300"), None);
        assert_eq!(parse_unsigned("NaN"), None);
        assert_eq!(parse_unsigned(""), None);
    }

    #[test]
    fn uuid_in_all_five_spellings() {
        let expected = parse_uuid("554a27fa79d247669a2c862e6d78b1f3").unwrap();
        for spelling in [
            "554A27FA79D247669A2C862E6D78B1F3",
            "554a27fa-79d2-4766-9a2c-862e6d78b1f3",
            "554A27FA-79D2-4766-9A2C-862E6D78B1F3",
            "{554a27fa-79d2-4766-9a2c-862e6d78b1f3}",
            "{554A27FA-79D2-4766-9A2C-862E6D78B1F3}",
        ] {
            assert_eq!(parse_uuid(spelling), Some(expected), "{spelling}");
        }
        assert_eq!(format_uuid(&expected), "554a27fa-79d2-4766-9a2c-862e6d78b1f3");
        assert_eq!(parse_uuid("554a27fa79d247669a2c862e6d78b1"), None);
        assert_eq!(parse_uuid("zz4a27fa79d247669a2c862e6d78b1f3"), None);
    }
}
