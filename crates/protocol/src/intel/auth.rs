//! The Sova Intel API key credential.

use std::fmt;

/// A Sova Intel API key (`ak_<hex>`). Its `Debug` and `Display` never show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// Why an API key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The key is empty.
    #[error("the API key is empty")]
    Empty,
    /// The key does not have the `ak_<hex>` form. The key itself is not echoed.
    #[error("the API key is not of the form ak_<hex> ({0})")]
    Malformed(&'static str),
}

impl ApiKey {
    /// Validates and wraps a key.
    ///
    /// ```
    /// use sova_protocol::intel::ApiKey;
    /// assert!(ApiKey::new("ak_0123abcd").is_ok());
    /// assert!(ApiKey::new("sk_live_123").is_err());
    /// assert_eq!(format!("{:?}", ApiKey::new("ak_0123abcd").unwrap()), "ApiKey([redacted])");
    /// ```
    pub fn new(key: impl Into<String>) -> Result<Self, ApiKeyError> {
        let key = key.into();
        let k = key.trim();
        if k.is_empty() {
            return Err(ApiKeyError::Empty);
        }
        let Some(hex) = k.strip_prefix("ak_") else {
            return Err(ApiKeyError::Malformed("it must start with ak_"));
        };
        if hex.is_empty() {
            return Err(ApiKeyError::Malformed("nothing follows ak_"));
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiKeyError::Malformed(
                "only hexadecimal digits may follow ak_",
            ));
        }
        Ok(ApiKey(k.to_owned()))
    }

    /// The key, for the `X-Api-Key` header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl std::str::FromStr for ApiKey {
    type Err = ApiKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiKey::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_format_without_echoing() {
        for bad in ["", "ak_", "ak_xyz", "AK_12", "ak-12", "ak_12 34", "12ab"] {
            let e = ApiKey::new(bad).unwrap_err();
            if bad.len() > 3 {
                assert!(!e.to_string().contains(bad), "{e} echoes the key");
            }
        }
        assert_eq!(
            ApiKey::new(" ak_DEADbeef ").unwrap().expose(),
            "ak_DEADbeef"
        );
    }
}
