//! Base64 as x402 uses it: encode standard with padding, decode leniently.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(false);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a base64 value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base64Error {
    /// The value is empty.
    #[error("the value is empty")]
    Empty,
    /// The value mixes the standard (`+/`) and url-safe (`-_`) alphabets.
    #[error("the value mixes the standard and url-safe base64 alphabets")]
    MixedAlphabets,
    /// The value is not base64.
    #[error("invalid base64 at byte {offset}")]
    Invalid {
        /// Byte offset of the first offending character (approximate for length errors).
        offset: usize,
    },
}

/// Encodes with the standard alphabet and `=` padding (RFC 4648 §4).
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard or url-safe base64, padded or not; surrounding whitespace is ignored.
///
/// ```
/// use sova_protocol::x402::b64;
/// assert_eq!(b64::decode("aGk/Pz8=").unwrap(), b"hi???");
/// assert_eq!(b64::decode("aGk_Pz8").unwrap(), b"hi???");
/// assert!(b64::decode("aGk_Pz+").is_err());
/// ```
pub fn decode(value: &str) -> Result<Vec<u8>, Base64Error> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Base64Error::Empty);
    }
    let std = v.bytes().any(|b| b == b'+' || b == b'/');
    let url = v.bytes().any(|b| b == b'-' || b == b'_');
    let engine = match (std, url) {
        (true, true) => return Err(Base64Error::MixedAlphabets),
        (_, true) => &URL_SAFE_LENIENT,
        _ => &STANDARD_LENIENT,
    };
    engine.decode(v).map_err(|e| {
        let offset = match e {
            base64::DecodeError::InvalidByte(i, _)
            | base64::DecodeError::InvalidLastSymbol(i, _) => i,
            _ => v.len(),
        };
        Base64Error::Invalid { offset }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_leniency() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"\xff\xfe\xfd\xfc",
            b"{\"x402Version\":2}",
        ] {
            let e = encode(data);
            if data.is_empty() {
                assert_eq!(decode(&e), Err(Base64Error::Empty));
                continue;
            }
            assert_eq!(decode(&e).unwrap(), data);
            assert_eq!(decode(e.trim_end_matches('=')).unwrap(), data);
            let url = e.replace('+', "-").replace('/', "_");
            assert_eq!(decode(&url).unwrap(), data);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(decode("a b"), Err(Base64Error::Invalid { .. })));
        assert!(matches!(
            decode("!!!!"),
            Err(Base64Error::Invalid { offset: 0 })
        ));
        assert!(matches!(decode("a"), Err(Base64Error::Invalid { .. })));
        assert_eq!(decode("  "), Err(Base64Error::Empty));
    }
}
