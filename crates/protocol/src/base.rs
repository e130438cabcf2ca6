//! Validated base URLs and URL assembly.

use std::fmt;

use http::Uri;

use crate::BuildError;

/// A validated API base URL such as `https://api.sova-intel.com/api/v1`.
///
/// It has an `http` or `https` scheme, a host, an optional path prefix and no query or
/// fragment. Endpoint paths are appended to the prefix.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    /// `scheme://authority`, without a trailing slash.
    origin: String,
    /// The path prefix without a trailing slash (empty for the root).
    prefix: String,
}

impl BaseUrl {
    /// Parses and validates a base URL.
    ///
    /// ```
    /// # use sova_protocol::BaseUrl;
    /// let base = BaseUrl::parse("http://127.0.0.1:8080/api/v1/")?;
    /// assert_eq!(base.as_str(), "http://127.0.0.1:8080/api/v1");
    /// assert!(BaseUrl::parse("ftp://example.com").is_err());
    /// # Ok::<(), sova_protocol::BuildError>(())
    /// ```
    pub fn parse(url: &str) -> Result<Self, BuildError> {
        let invalid = |reason: &str| BuildError::InvalidBaseUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.trim().parse().map_err(|_| invalid("not a valid URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_owned(),
            Some(_) => return Err(invalid("the scheme must be http or https")),
            None => return Err(invalid("the URL needs a scheme (https://…)")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the URL needs a host"))?
            .as_str()
            .to_owned();
        if authority.contains('@') {
            return Err(invalid("credentials in the URL are not allowed"));
        }
        if uri.query().is_some() {
            return Err(invalid("a base URL cannot carry a query string"));
        }
        if url.contains('#') {
            return Err(invalid("a base URL cannot carry a fragment"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            origin: format!("{scheme}://{authority}"),
            prefix,
        })
    }

    /// The base URL as a string, without a trailing slash.
    pub fn as_str(&self) -> String {
        format!("{}{}", self.origin, self.prefix)
    }

    /// `scheme://host[:port]`, used to resolve host-relative links such as `monitoringUrl`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The path prefix (for example `/api/v1`), empty for a root base URL.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Joins an endpoint path (starting with `/`, already percent-encoded) and a query.
    pub fn join(&self, path: &str, query: &[(String, String)]) -> Result<Uri, BuildError> {
        let mut url =
            String::with_capacity(self.origin.len() + self.prefix.len() + path.len() + 16);
        url.push_str(&self.origin);
        url.push_str(&self.prefix);
        if !path.starts_with('/') {
            url.push('/');
        }
        url.push_str(path);
        append_query(&mut url, query);
        url.parse().map_err(|_| BuildError::InvalidInput {
            field: "path",
            reason: format!("the assembled URL {url:?} is not valid"),
        })
    }

    /// Resolves a link the server returned: absolute URLs are kept, host-relative ones
    /// (`/api/v1/jobs/…`) are resolved against the origin.
    pub fn resolve(&self, link: &str) -> Result<Uri, BuildError> {
        let url = if link.starts_with("http://") || link.starts_with("https://") {
            link.to_owned()
        } else if link.starts_with('/') {
            format!("{}{}", self.origin, link)
        } else {
            format!("{}{}/{}", self.origin, self.prefix, link)
        };
        url.parse().map_err(|_| BuildError::InvalidInput {
            field: "link",
            reason: format!("{link:?} is not a valid URL"),
        })
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.as_str()).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin, self.prefix)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn append_query(url: &mut String, query: &[(String, String)]) {
    for (i, (k, v)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        encode_into(url, k, QUERY_KEEP);
        url.push('=');
        encode_into(url, v, QUERY_KEEP);
    }
}

const PATH_KEEP: &[u8] = b"-._~";
const QUERY_KEEP: &[u8] = b"-._~:@/";

fn encode_into(out: &mut String, s: &str, keep: &[u8]) {
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[(b >> 4) as usize]));
            out.push(char::from(HEX[(b & 0xf) as usize]));
        }
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes one path segment (everything but unreserved characters), so that an
/// address or id can never add a path level: `a/b c` becomes `a%2Fb%20c`.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s, PATH_KEEP);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_encodes() {
        let b = BaseUrl::parse("https://api.sandbox.sovera.io/sovx/v1/").unwrap();
        let uri = b
            .join(
                "/accounts/transactions",
                &[
                    ("filter[limit]".into(), "10".into()),
                    ("q".into(), "a b&c".into()),
                ],
            )
            .unwrap();
        assert_eq!(
            uri.to_string(),
            "https://api.sandbox.sovera.io/sovx/v1/accounts/transactions?filter%5Blimit%5D=10&q=a%20b%26c"
        );
    }

    #[test]
    fn rejects_bad_bases() {
        for bad in [
            "",
            "api.sova-intel.com",
            "ftp://x",
            "https://x/a?b=c",
            "https://u:p@x/",
            "https://x/#f",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn resolves_monitoring_links() {
        let b = BaseUrl::parse("http://127.0.0.1:9/api/v1").unwrap();
        assert_eq!(
            b.resolve("/api/v1/jobs/x").unwrap().to_string(),
            "http://127.0.0.1:9/api/v1/jobs/x"
        );
        assert_eq!(
            b.resolve("jobs/x").unwrap().to_string(),
            "http://127.0.0.1:9/api/v1/jobs/x"
        );
        assert_eq!(b.resolve("https://o/z").unwrap().to_string(), "https://o/z");
    }
}
