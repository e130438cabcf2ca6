//! Typed list queries: one type per SovX list endpoint (one shared by the three transaction
//! lists, which the docs say take the same filters), serialized into the `filter[...]` query
//! family of [`Filter`].
//!
//! What the reference documents is the family itself — `filter[limit]`, `filter[skip]`,
//! `filter[sort]`, `filter[where][<field>]`, offset-based, LoopBack style (inferred) — and the
//! status values (`PENDING`, `VERIFIED`, `COMPLETED`, `CANCELLED`). It does **not** list the
//! filterable fields of any endpoint. The typed setters therefore filter on the fields of the
//! objects each list returns (`status`, `currency`, `pair`, `created_at`, …), and date ranges
//! use the LoopBack operators `gte`/`lt` (`filter[where][created_at][gte]=…`); both are
//! inferred and say so. A condition the setters do not cover goes through `where_eq` /
//! `where_op`.
//!
//! Unset fields send nothing, so `Default::default()` is a list call without parameters.
//!
//! ```
//! use sova_protocol::sovx::{Sort, Status, WithdrawalQuery};
//!
//! // Builder style …
//! let q = WithdrawalQuery::new().status(Status::Pending).limit(20).sort(Sort::desc("created_at"));
//! // … or a struct literal.
//! let same = WithdrawalQuery {
//!     status: Some(Status::Pending),
//!     limit: Some(20),
//!     sort: Some(Sort::desc("created_at")),
//!     ..Default::default()
//! };
//! assert_eq!(q, same);
//! assert_eq!(
//!     q.to_filter().to_query(),
//!     vec![
//!         ("filter[limit]".to_owned(), "20".to_owned()),
//!         ("filter[sort]".to_owned(), "created_at DESC".to_owned()),
//!         ("filter[where][status]".to_owned(), "PENDING".to_owned()),
//!     ]
//! );
//! ```

use std::fmt;

use super::filter::{Condition, Filter};
use super::types::{FeatureCode, MethodCode, Status, TransferType, UserId, WalletId, WalletType};
use crate::BuildError;

/// The direction of a [`Sort`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Smallest (oldest) first, sent as `ASC`.
    Asc,
    /// Largest (newest) first, sent as `DESC`.
    Desc,
}

/// `filter[sort]`: a field and a direction, sent as `<field> ASC` or `<field> DESC`.
///
/// The sortable fields are not documented; `created_at` is the one every list object has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sort {
    /// The field, e.g. `created_at`.
    pub field: String,
    /// The direction.
    pub order: SortOrder,
}

impl Sort {
    /// Ascending by `field`.
    pub fn asc(field: impl Into<String>) -> Self {
        Sort {
            field: field.into(),
            order: SortOrder::Asc,
        }
    }

    /// Descending by `field`.
    pub fn desc(field: impl Into<String>) -> Self {
        Sort {
            field: field.into(),
            order: SortOrder::Desc,
        }
    }

    fn check(&self) -> Result<(), BuildError> {
        let f = &self.field;
        if f.is_empty() || f.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(BuildError::input(
                "sort",
                format!("the sort field must be one word such as created_at, got {f:?}"),
            ));
        }
        if f.contains(['[', ']']) {
            return Err(BuildError::input(
                "sort",
                format!("{f:?} contains brackets"),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = match self.order {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        };
        write!(f, "{} {dir}", self.field)
    }
}

/// An ISO-8601 date (`2026-01-15`) or date-time (`2026-01-15T10:30:00.000Z`) used as a
/// bound of a date range. Checked before sending; sent as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub String);

impl Timestamp {
    /// Wraps a timestamp (checked when the request is built).
    pub fn new(value: impl Into<String>) -> Self {
        Timestamp(value.into())
    }

    /// The timestamp as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(&self, field: &'static str) -> Result<(), BuildError> {
        let s = self.0.as_bytes();
        let date_ok = s.len() >= 10
            && s[..10].iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        let rest_ok = match s.get(10..) {
            None | Some([]) => true,
            Some([b'T', rest @ ..]) => {
                rest.len() >= 5
                    && rest[..2].iter().all(u8::is_ascii_digit)
                    && rest[2] == b':'
                    && rest
                        .iter()
                        .all(|b| b.is_ascii_digit() || b":.Z+-".contains(b))
            }
            Some(_) => false,
        };
        if date_ok && rest_ok {
            Ok(())
        } else {
            Err(BuildError::input(
                field,
                format!(
                    "must be an ISO-8601 date or date-time such as 2026-01-15 or 2026-01-15T10:30:00.000Z, got {:?}",
                    self.0
                ),
            ))
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Timestamp {
    fn from(s: &str) -> Self {
        Timestamp(s.to_owned())
    }
}

impl From<String> for Timestamp {
    fn from(s: String) -> Self {
        Timestamp(s)
    }
}

/// A value a typed setter sends: its wire text and its check.
trait QueryValue {
    fn wire(&self) -> String;
    fn check(&self, field: &'static str) -> Result<(), BuildError>;
}

fn plain_text(field: &'static str, v: &str) -> Result<(), BuildError> {
    if v.trim().is_empty() {
        return Err(BuildError::input(field, "must not be empty"));
    }
    if v.chars().any(char::is_control) {
        return Err(BuildError::input(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

impl QueryValue for String {
    fn wire(&self) -> String {
        self.trim().to_owned()
    }
    fn check(&self, field: &'static str) -> Result<(), BuildError> {
        plain_text(field, self)
    }
}

impl QueryValue for Timestamp {
    fn wire(&self) -> String {
        self.0.clone()
    }
    fn check(&self, field: &'static str) -> Result<(), BuildError> {
        Timestamp::check(self, field)
    }
}

macro_rules! as_str_value {
    ($($ty:ty),+) => {$(
        impl QueryValue for $ty {
            fn wire(&self) -> String {
                self.as_str().trim().to_owned()
            }
            fn check(&self, field: &'static str) -> Result<(), BuildError> {
                plain_text(field, self.as_str())
            }
        }
    )+};
}

as_str_value!(
    Status,
    FeatureCode,
    MethodCode,
    TransferType,
    WalletType,
    UserId,
    WalletId
);

/// Declares a list query: pagination, sort, typed `filter[where]` setters and extra
/// conditions; `to_filter`, `validate` and the builders.
macro_rules! list_query {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fdoc:meta])*
                $field:ident: $ty:ty => $op:ident $wire:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            /// `filter[limit]`: the page size, at least 1 (the server's default and maximum
            /// are not documented).
            pub limit: Option<u32>,
            /// `filter[skip]`: how many items to skip (the offset).
            pub skip: Option<u64>,
            /// `filter[sort]`, e.g. [`Sort::desc("created_at")`](Sort::desc).
            pub sort: Option<Sort>,
            $(
                $(#[$fdoc])*
                pub $field: Option<$ty>,
            )*
            /// Further `filter[where]` conditions, sent after the typed ones (for fields the
            /// setters do not cover).
            pub extra: Vec<Condition>,
        }

        impl $name {
            /// An empty query: no parameter is sent.
            pub fn new() -> Self {
                Self::default()
            }

            /// Sets `filter[limit]` (the page size, at least 1).
            pub fn limit(mut self, limit: u32) -> Self {
                self.limit = Some(limit);
                self
            }

            /// Sets `filter[skip]` (the offset).
            pub fn skip(mut self, skip: u64) -> Self {
                self.skip = Some(skip);
                self
            }

            /// Sets `filter[sort]`.
            pub fn sort(mut self, sort: Sort) -> Self {
                self.sort = Some(sort);
                self
            }

            $(
                $(#[$fdoc])*
                pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*

            /// Adds `filter[where][field]=value`.
            pub fn where_eq(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
                self.extra.push(Condition::eq(field, value));
                self
            }

            /// Adds `filter[where][field][op]=value` (e.g. `gt`, `lte`, `neq`).
            pub fn where_op(
                mut self,
                field: impl Into<String>,
                op: impl Into<String>,
                value: impl Into<String>,
            ) -> Self {
                self.extra.push(Condition::op(field, op, value));
                self
            }

            /// Whether no parameter would be sent.
            pub fn is_empty(&self) -> bool {
                self == &Self::default()
            }

            /// The wire-level filter: pagination, sort, then the typed conditions in
            /// declaration order, then [`Self::extra`].
            pub fn to_filter(&self) -> Filter {
                let mut conditions = Vec::new();
                $(
                    if let Some(v) = &self.$field {
                        conditions.push(list_query!(@cond $op, $wire, QueryValue::wire(v)));
                    }
                )*
                conditions.extend(self.extra.iter().cloned());
                Filter {
                    limit: self.limit,
                    skip: self.skip,
                    sort: self.sort.as_ref().map(ToString::to_string),
                    conditions,
                }
            }

            /// Checks the values before sending: a positive limit, a one-word sort field,
            /// non-empty values, well-formed dates, condition names without brackets.
            pub fn validate(&self) -> Result<(), BuildError> {
                if self.limit == Some(0) {
                    return Err(BuildError::input("limit", "must be at least 1"));
                }
                if let Some(s) = &self.sort {
                    s.check()?;
                }
                $(
                    if let Some(v) = &self.$field {
                        QueryValue::check(v, stringify!($field))?;
                    }
                )*
                self.to_filter().validate()
            }
        }
    };
    (@cond eq, $wire:literal, $value:expr) => {
        Condition { field: $wire.to_owned(), op: None, value: $value }
    };
    (@cond $op:ident, $wire:literal, $value:expr) => {
        Condition { field: $wire.to_owned(), op: Some(stringify!($op).to_owned()), value: $value }
    };
}

list_query! {
    /// The query of `GET /monetization/settings`
    /// ([`ListMonetizationSettingsRequest`](super::ListMonetizationSettingsRequest)).
    ///
    /// The docs name no filters for this list; the setters filter on the setting object's
    /// code fields (`feature_code`, `method_code`), `pair` and `currency` (inferred).
    ///
    /// ```
    /// use sova_protocol::sovx::{FeatureCode, MonetizationSettingsQuery};
    /// let q = MonetizationSettingsQuery::new().feature(FeatureCode::SpotTrade).pair("BTCUSD");
    /// assert_eq!(q.to_filter().to_query()[1], ("filter[where][pair]".to_owned(), "BTCUSD".to_owned()));
    /// ```
    pub struct MonetizationSettingsQuery {
        /// `filter[where][feature_code]`: only settings of this feature.
        feature: FeatureCode => eq "feature_code",
        /// `filter[where][method_code]`: only settings of this method.
        method: MethodCode => eq "method_code",
        /// `filter[where][pair]`: only settings limited to this instrument, e.g. `BTCUSD`.
        pair: String => eq "pair",
        /// `filter[where][currency]`: only settings limited to this currency.
        currency: String => eq "currency",
    }
}

list_query! {
    /// The query of the three transaction lists, which the docs say take the same filters:
    /// `GET /accounts/transactions`, `GET /users/{user_id}/accounts/transactions` and
    /// `GET /wallets/{wallet_id}/transactions`.
    ///
    /// The transaction schema is not documented; the setters filter on the fields
    /// transactions are expected to carry (inferred). Date bounds form the half-open range
    /// `[created_from, created_before)`.
    ///
    /// ```
    /// use sova_protocol::sovx::{Status, TransactionQuery};
    /// let q = TransactionQuery::new()
    ///     .status(Status::Completed)
    ///     .pair("btcusd")
    ///     .created_from("2026-01-01")
    ///     .created_before("2026-02-01");
    /// let wire = q.to_filter().to_query();
    /// assert_eq!(wire[2], ("filter[where][created_at][gte]".to_owned(), "2026-01-01".to_owned()));
    /// assert_eq!(wire[3], ("filter[where][created_at][lt]".to_owned(), "2026-02-01".to_owned()));
    /// ```
    pub struct TransactionQuery {
        /// `filter[where][status]`: only transactions in this status.
        status: Status => eq "status",
        /// `filter[where][type]`: only transactions of this kind (values not documented;
        /// e.g. `TRADE`, `DEPOSIT`, `WITHDRAWAL`).
        kind: String => eq "type",
        /// `filter[where][currency]`: only transactions in this currency.
        currency: String => eq "currency",
        /// `filter[where][pair]`: only trades of this pair, e.g. `btcusd`.
        pair: String => eq "pair",
        /// `filter[where][wallet_id]`: only transactions of this wallet.
        wallet_id: WalletId => eq "wallet_id",
        /// `filter[where][user_id]`: only transactions of this user (useful on the owner list).
        user_id: UserId => eq "user_id",
        /// `filter[where][created_at][gte]`: created at or after this time.
        created_from: Timestamp => gte "created_at",
        /// `filter[where][created_at][lt]`: created before this time.
        created_before: Timestamp => lt "created_at",
    }
}

list_query! {
    /// The query of `GET /users/{user_id}/wallets`
    /// ([`ListWalletsRequest`](super::ListWalletsRequest)). Its pagination and filters are
    /// not documented; the setters filter on the wallet object's fields (inferred).
    pub struct WalletQuery {
        /// `filter[where][wallet_type]`: only `virtual` or only `real` wallets.
        wallet_type: WalletType => eq "wallet_type",
        /// `filter[where][name]`: the wallet with this name.
        name: String => eq "name",
        /// `filter[where][created_at][gte]`: created at or after this time.
        created_from: Timestamp => gte "created_at",
        /// `filter[where][created_at][lt]`: created before this time.
        created_before: Timestamp => lt "created_at",
    }
}

list_query! {
    /// The query of `GET /users/{user_id}/accounts/crypto/withdrawals`
    /// ([`ListWithdrawalsRequest`](super::ListWithdrawalsRequest); unconfirmed path). The
    /// documented withdrawal statuses are `PENDING`, `COMPLETED` and `CANCELLED`; the filter
    /// fields are inferred from the withdrawal object.
    pub struct WithdrawalQuery {
        /// `filter[where][status]`: only withdrawals in this status.
        status: Status => eq "status",
        /// `filter[where][currency]`: only withdrawals of this currency, e.g. `btc`.
        currency: String => eq "currency",
        /// `filter[where][created_at][gte]`: created at or after this time.
        created_from: Timestamp => gte "created_at",
        /// `filter[where][created_at][lt]`: created before this time.
        created_before: Timestamp => lt "created_at",
    }
}

list_query! {
    /// The query of `GET /wallets/{wallet_id}/transfers`
    /// ([`ListTransfersRequest`](super::ListTransfersRequest); unconfirmed path). The filter
    /// fields are inferred from the transfer object.
    pub struct TransferQuery {
        /// `filter[where][status]`: only transfers in this status.
        status: Status => eq "status",
        /// `filter[where][currency]`: only transfers of this currency, e.g. `USDC`.
        currency: String => eq "currency",
        /// `filter[where][type]`: only `PAYIN` or only `PAYOUT` transfers.
        transfer_type: TransferType => eq "type",
        /// `filter[where][destination_wallet_id]`: only transfers to this wallet.
        destination_wallet_id: WalletId => eq "destination_wallet_id",
        /// `filter[where][created_at][gte]`: created at or after this time.
        created_from: Timestamp => gte "created_at",
        /// `filter[where][created_at][lt]`: created before this time.
        created_before: Timestamp => lt "created_at",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_queries_send_nothing() {
        assert!(
            TransactionQuery::default()
                .to_filter()
                .to_query()
                .is_empty()
        );
        assert!(WithdrawalQuery::new().is_empty());
        assert!(!WithdrawalQuery::new().limit(1).is_empty());
    }

    #[test]
    fn timestamps_are_checked() {
        for ok in [
            "2026-01-15",
            "2026-01-15T10:30:00.000Z",
            "2026-01-15T10:30:00+02:00",
            "2026-01-15T10:30",
        ] {
            assert!(Timestamp::from(ok).check("t").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "yesterday",
            "2026-1-15",
            "2026-01-15 10:30",
            "2026-01-15T",
            "2026-01-15T10:30&x=1",
            "2026-01-15X",
        ] {
            assert!(Timestamp::from(bad).check("t").is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_field_name() {
        let field = |e: BuildError| match e {
            BuildError::InvalidInput { field, .. } => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        };
        let e = TransactionQuery::new().limit(0).validate().unwrap_err();
        assert_eq!(field(e), "limit");
        let e = TransactionQuery::new()
            .sort(Sort::desc("created at"))
            .validate()
            .unwrap_err();
        assert_eq!(field(e), "sort");
        let e = TransactionQuery::new()
            .created_from("01/02/2026")
            .validate()
            .unwrap_err();
        assert_eq!(field(e), "created_from");
        let e = WithdrawalQuery::new()
            .currency("  ")
            .validate()
            .unwrap_err();
        assert_eq!(field(e), "currency");
        let e = WithdrawalQuery::new()
            .status(Status::Unknown(String::new()))
            .validate()
            .unwrap_err();
        assert_eq!(field(e), "status");
        let e = TransferQuery::new()
            .where_eq("a[b]", "x")
            .validate()
            .unwrap_err();
        assert_eq!(field(e), "filter");
        assert!(
            TransferQuery::new()
                .status(Status::Unknown("ON_HOLD".into()))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn sort_is_field_and_direction() {
        assert_eq!(Sort::asc("amount").to_string(), "amount ASC");
        assert_eq!(Sort::desc("created_at").to_string(), "created_at DESC");
    }
}
