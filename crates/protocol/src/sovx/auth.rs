//! SovX credentials: the owner API key and user tokens, and where they go on the wire.
//!
//! * The **owner key** (`customer_secret`) always travels as `x-api-key`.
//! * A **user token** travels as `x-api-key` by default (the SX Connect Authentication page),
//!   or as `Authorization: Bearer` (most SX Users pages; Trading and Transfers say Bearer is
//!   required). [`PlacementPolicy`] chooses per endpoint group.
//! * Never both headers at once: [`apply_credential`] removes the other one.

use std::fmt;

use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue};

use super::routes::{self, Group};
use crate::{BuildError, Credential};

/// The request header that carries the owner key (and, by default, a user token).
pub const API_KEY_HEADER: &str = "x-api-key";

/// Why a secret was refused. The secret itself is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The value is empty (or only whitespace).
    #[error("the {0} is empty")]
    Empty(&'static str),
    /// The value contains characters an HTTP header cannot carry (spaces, control characters,
    /// non-ASCII).
    #[error("the {0} contains characters an HTTP header cannot carry")]
    InvalidCharacters(&'static str),
}

fn check_secret(what: &'static str, value: String) -> Result<String, SecretError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(SecretError::Empty(what));
    }
    if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SecretError::InvalidCharacters(what));
    }
    if trimmed.len() == value.len() {
        Ok(value)
    } else {
        Ok(trimmed.to_owned())
    }
}

/// The owner API key (`customer_secret`), sent as `x-api-key`. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnerKey(String);

impl OwnerKey {
    /// Wraps a key, refusing empty values and characters headers cannot carry (surrounding
    /// whitespace is trimmed).
    ///
    /// ```
    /// use sova_protocol::sovx::OwnerKey;
    /// let key = OwnerKey::new("sk_owner_123")?;
    /// assert_eq!(format!("{key:?}"), "OwnerKey([redacted])");
    /// assert!(OwnerKey::new("  ").is_err());
    /// # Ok::<(), sova_protocol::sovx::SecretError>(())
    /// ```
    pub fn new(key: impl Into<String>) -> Result<Self, SecretError> {
        check_secret("owner key", key.into()).map(OwnerKey)
    }

    /// The key, for the header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OwnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerKey([redacted])")
    }
}

impl std::str::FromStr for OwnerKey {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OwnerKey::new(s)
    }
}

/// A user token issued by `POST /users/{user_id}/token` (valid one year; reissuing
/// invalidates the previous one). Opaque: do not parse it. `Debug` never shows it.
///
/// It deserializes from the token responses as-is and serializes back to the plain string.
#[derive(Clone, PartialEq, Eq)]
pub struct UserToken(String);

impl UserToken {
    /// Wraps a token, refusing empty values and characters headers cannot carry (surrounding
    /// whitespace is trimmed).
    ///
    /// ```
    /// use sova_protocol::sovx::UserToken;
    /// let token = UserToken::new("012d23b0d9a7")?;
    /// assert_eq!(format!("{token:?}"), "UserToken([redacted])");
    /// # Ok::<(), sova_protocol::sovx::SecretError>(())
    /// ```
    pub fn new(token: impl Into<String>) -> Result<Self, SecretError> {
        check_secret("user token", token.into()).map(UserToken)
    }

    /// The token, for the header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserToken([redacted])")
    }
}

impl std::str::FromStr for UserToken {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserToken::new(s)
    }
}

impl serde::Serialize for UserToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for UserToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Kept verbatim: the server's value is what must be sent back. Characters a header
        // cannot carry surface later, in `apply_credential`, without echoing the token.
        String::deserialize(d).map(UserToken)
    }
}

/// Where a user token is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum UserTokenPlacement {
    /// `x-api-key: <token>` — what the SX Connect Authentication page documents. The default.
    #[default]
    XApiKey,
    /// `Authorization: Bearer <token>` — what most SX Users pages (and the Trading and
    /// Transfers pages, as a requirement) document.
    Bearer,
}

/// A SovX credential to attach to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SxCredential {
    /// The owner API key.
    Owner(OwnerKey),
    /// A user token.
    User(UserToken),
}

impl SxCredential {
    /// Whether this credential is one the endpoint accepts ([`Credential::None`] accepts
    /// nothing: public endpoints are called without a credential).
    pub fn satisfies(&self, required: Credential) -> bool {
        matches!(
            (self, required),
            (
                SxCredential::Owner(_),
                Credential::SxOwner | Credential::SxOwnerOrUser
            ) | (
                SxCredential::User(_),
                Credential::SxUser | Credential::SxOwnerOrUser
            )
        )
    }

    /// Applies this credential to `headers` (see [`apply_credential`]).
    pub fn apply(
        &self,
        headers: &mut HeaderMap,
        placement: UserTokenPlacement,
    ) -> Result<(), BuildError> {
        apply_credential(headers, self, placement)
    }
}

impl From<OwnerKey> for SxCredential {
    fn from(k: OwnerKey) -> Self {
        SxCredential::Owner(k)
    }
}

impl From<UserToken> for SxCredential {
    fn from(t: UserToken) -> Self {
        SxCredential::User(t)
    }
}

/// Puts `credential` on a request's headers.
///
/// The owner key goes to `x-api-key`; a user token to `x-api-key` or `Authorization: Bearer`
/// as `placement` says (the placement is ignored for the owner key). Any `x-api-key` or
/// `Authorization` already present is removed first, so exactly one credential header is
/// sent. Header values are marked sensitive. Errors never contain the secret.
///
/// ```
/// use sova_protocol::http::HeaderMap;
/// use sova_protocol::sovx::{apply_credential, SxCredential, UserToken, UserTokenPlacement};
///
/// let mut headers = HeaderMap::new();
/// let token = SxCredential::User(UserToken::new("tok123")?);
/// apply_credential(&mut headers, &token, UserTokenPlacement::Bearer)?;
/// assert_eq!(headers["authorization"], "Bearer tok123");
/// assert!(headers.get("x-api-key").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply_credential(
    headers: &mut HeaderMap,
    credential: &SxCredential,
    placement: UserTokenPlacement,
) -> Result<(), BuildError> {
    headers.remove(API_KEY_HEADER);
    headers.remove(AUTHORIZATION);
    let (name, value) = match (credential, placement) {
        (SxCredential::Owner(k), _) => (
            API_KEY_HEADER,
            header_value(API_KEY_HEADER, "", k.expose())?,
        ),
        (SxCredential::User(t), UserTokenPlacement::XApiKey) => (
            API_KEY_HEADER,
            header_value(API_KEY_HEADER, "", t.expose())?,
        ),
        (SxCredential::User(t), UserTokenPlacement::Bearer) => (
            "authorization",
            header_value("authorization", "Bearer ", t.expose())?,
        ),
    };
    headers.insert(name, value);
    Ok(())
}

/// A sensitive header value `prefix + secret`; the secret must be visible ASCII (a token
/// read from a response is not checked on the way in). Errors name the header only.
fn header_value(name: &'static str, prefix: &str, secret: &str) -> Result<HeaderValue, BuildError> {
    if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BuildError::HeaderValue { name });
    }
    let mut v = HeaderValue::from_str(&format!("{prefix}{secret}"))
        .map_err(|_| BuildError::HeaderValue { name })?;
    v.set_sensitive(true);
    Ok(v)
}

/// Where user tokens go, with per-group overrides (the docs disagree; see the reference §3.2).
///
/// ```
/// use sova_protocol::sovx::{PlacementPolicy, UserTokenPlacement, routes::Group};
/// let policy = PlacementPolicy::default()
///     .with_group(Group::Trading, UserTokenPlacement::Bearer)
///     .with_group(Group::Transfers, UserTokenPlacement::Bearer);
/// assert_eq!(policy.for_group(Group::Wallets), UserTokenPlacement::XApiKey);
/// assert_eq!(policy.for_endpoint("sovx.trading.quote"), UserTokenPlacement::Bearer);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementPolicy {
    /// The placement for every group without an override.
    pub default: UserTokenPlacement,
    /// Per-group overrides; the last entry for a group wins.
    pub overrides: Vec<(Group, UserTokenPlacement)>,
}

impl PlacementPolicy {
    /// A policy with one placement everywhere.
    pub fn new(default: UserTokenPlacement) -> Self {
        PlacementPolicy {
            default,
            overrides: Vec::new(),
        }
    }

    /// Adds an override for one group.
    pub fn with_group(mut self, group: Group, placement: UserTokenPlacement) -> Self {
        self.overrides.push((group, placement));
        self
    }

    /// The placement for a group.
    pub fn for_group(&self, group: Group) -> UserTokenPlacement {
        self.overrides
            .iter()
            .rev()
            .find(|(g, _)| *g == group)
            .map_or(self.default, |(_, p)| *p)
    }

    /// The placement for an endpoint, by its [`crate::Endpoint::name`] (the default for names
    /// that are not SovX routes).
    pub fn for_endpoint(&self, name: &str) -> UserTokenPlacement {
        routes::by_name(name).map_or(self.default, |r| self.for_group(r.group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "012d23b0d9a7d6c7d0b0429963eece727c4eca18635978d0bd6ffe6d1eaaed10";

    #[test]
    fn debug_is_redacted() {
        let owner = OwnerKey::new(SECRET).unwrap();
        let user = UserToken::new(SECRET).unwrap();
        for shown in [
            format!("{owner:?}"),
            format!("{user:?}"),
            format!("{:?}", SxCredential::Owner(owner.clone())),
            format!("{:#?}", SxCredential::User(user.clone())),
        ] {
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
        assert_eq!(owner.expose(), SECRET);
    }

    #[test]
    fn refuses_bad_secrets_without_echoing_them() {
        for bad in ["", "   ", "abc def", "tok\nen", "tökén"] {
            let e = UserToken::new(bad).unwrap_err();
            if !bad.trim().is_empty() {
                assert!(!e.to_string().contains(bad.trim()), "{e}");
            }
            assert!(OwnerKey::new(bad).is_err());
        }
        assert_eq!(UserToken::new(" t0k ").unwrap().expose(), "t0k");
        let e = OwnerKey::new("secret value").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the owner key contains characters an HTTP header cannot carry"
        );
    }

    #[test]
    fn places_credentials_and_never_both() {
        let owner = SxCredential::Owner(OwnerKey::new("owner-key").unwrap());
        let user = SxCredential::User(UserToken::new("user-token").unwrap());

        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer stale"));
        apply_credential(&mut h, &owner, UserTokenPlacement::Bearer).unwrap();
        assert_eq!(h["x-api-key"], "owner-key");
        assert!(h.get(AUTHORIZATION).is_none());
        assert!(h["x-api-key"].is_sensitive());

        apply_credential(&mut h, &user, UserTokenPlacement::XApiKey).unwrap();
        assert_eq!(h["x-api-key"], "user-token");
        assert!(h.get(AUTHORIZATION).is_none());
        assert_eq!(h.len(), 1);

        user.apply(&mut h, UserTokenPlacement::Bearer).unwrap();
        assert_eq!(h[AUTHORIZATION], "Bearer user-token");
        assert!(h.get("x-api-key").is_none());
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn deserialized_tokens_with_bad_bytes_fail_without_echo() {
        let token: UserToken = serde_json::from_str("\"bad token\"").unwrap();
        let e = apply_credential(
            &mut HeaderMap::new(),
            &SxCredential::User(token),
            UserTokenPlacement::Bearer,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("bad token"), "{e}");
    }

    #[test]
    fn credential_kinds() {
        let owner = SxCredential::from(OwnerKey::new("k").unwrap());
        let user = SxCredential::from(UserToken::new("t").unwrap());
        assert!(owner.satisfies(Credential::SxOwner) && owner.satisfies(Credential::SxOwnerOrUser));
        assert!(!owner.satisfies(Credential::SxUser) && !owner.satisfies(Credential::None));
        assert!(user.satisfies(Credential::SxUser) && user.satisfies(Credential::SxOwnerOrUser));
        assert!(!user.satisfies(Credential::SxOwner));
        assert_eq!(
            serde_json::to_string(&UserToken::new("t").unwrap()).unwrap(),
            "\"t\""
        );
    }

    #[test]
    fn placement_policy() {
        let p = PlacementPolicy::new(UserTokenPlacement::Bearer)
            .with_group(Group::Wallets, UserTokenPlacement::XApiKey);
        assert_eq!(
            p.for_endpoint("sovx.wallets.list"),
            UserTokenPlacement::XApiKey
        );
        assert_eq!(
            p.for_endpoint("sovx.transfers.create"),
            UserTokenPlacement::Bearer
        );
        assert_eq!(p.for_endpoint("unknown"), UserTokenPlacement::Bearer);
        assert_eq!(
            PlacementPolicy::default().for_group(Group::Trading),
            UserTokenPlacement::XApiKey
        );
    }
}
