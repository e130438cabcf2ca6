//! SX Connect endpoints (owner key): health, user tokens, user onboarding, fees and
//! monetization, the owner account, currencies.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::envelope::{Health, parse_health};
use super::query::{MonetizationSettingsQuery, TransactionQuery};
use super::request::{Parts, RequestOptions, length, non_empty, positive, sx_endpoint};
use super::types::*;
use crate::BuildError;
use crate::endpoint::json_body;

// ---------------------------------------------------------------------------------------------
// Health

/// `GET /health` — connectivity check. No credential; the answer has **no envelope**
/// (`{status, timestamp, uptime}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthRequest {
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl HealthRequest {
    /// A health check.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Parts for HealthRequest {}
sx_endpoint!(HealthRequest, HEALTH, unenveloped Health, parse_health);

// ---------------------------------------------------------------------------------------------
// Authentication: user tokens

/// `POST /users/{user_id}/token` — issues a token for one user (owner key; 200). No body.
///
/// The user must exist (404 otherwise); activate it first so the token can transact. The
/// token lasts one year, and issuing again **invalidates the previous token**: store the
/// value. Not idempotent for that reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateUserTokenRequest {
    /// The user.
    pub user_id: UserId,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl GenerateUserTokenRequest {
    /// A token request for `user_id`.
    pub fn new(user_id: impl Into<UserId>) -> Self {
        GenerateUserTokenRequest {
            user_id: user_id.into(),
            options: RequestOptions::default(),
        }
    }
}

impl Parts for GenerateUserTokenRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("user_id", self.user_id.as_str())]
    }
}
sx_endpoint!(
    GenerateUserTokenRequest,
    GENERATE_USER_TOKEN,
    IssuedUserToken
);

/// `POST /users/tokens` — issues tokens for several users: body `{"user_ids": [...]}`
/// (owner key). `data` is one entry per user.
///
/// Same rules as the single call; an unknown user probably fails the whole call (404).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateUserTokensRequest {
    /// The users; at least one.
    pub user_ids: Vec<UserId>,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl GenerateUserTokensRequest {
    /// A bulk token request.
    pub fn new<I, U>(user_ids: I) -> Self
    where
        I: IntoIterator<Item = U>,
        U: Into<UserId>,
    {
        GenerateUserTokensRequest {
            user_ids: user_ids.into_iter().map(Into::into).collect(),
            options: RequestOptions::default(),
        }
    }
}

#[derive(Serialize)]
struct UserIdsBody<'a> {
    user_ids: &'a [UserId],
}

impl Parts for GenerateUserTokensRequest {
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&UserIdsBody {
            user_ids: &self.user_ids,
        })
    }
    fn check(&self) -> Result<(), BuildError> {
        if self.user_ids.is_empty() {
            return Err(BuildError::input(
                "user_ids",
                "at least one user id is needed",
            ));
        }
        if let Some(i) = self
            .user_ids
            .iter()
            .position(|u| u.as_str().trim().is_empty())
        {
            return Err(BuildError::input("user_ids", format!("entry {i} is empty")));
        }
        Ok(())
    }
}
sx_endpoint!(
    GenerateUserTokensRequest,
    GENERATE_USER_TOKENS,
    Vec<IssuedUserToken>
);

// ---------------------------------------------------------------------------------------------
// User onboarding

fn check_user_fields(
    first_name: Option<&str>,
    last_name: Option<&str>,
    email: Option<&str>,
    phone_country_code: Option<&str>,
    phone_number: Option<&str>,
) -> Result<(), BuildError> {
    if let Some(v) = first_name {
        length("first_name", v, 100)?;
    }
    if let Some(v) = last_name {
        length("last_name", v, 100)?;
    }
    if let Some(v) = email {
        non_empty("email", v)?;
        if !v.contains('@') {
            return Err(BuildError::input("email", "is not an email address"));
        }
    }
    if let Some(v) = phone_country_code
        && !(v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(BuildError::input(
            "phone_country_code",
            "must be an ISO 3166-1 alpha-2 code such as US",
        ));
    }
    if let Some(v) = phone_number {
        length("phone_number", v, 20)?;
    }
    Ok(())
}

/// `POST /users` — creates an end user (owner key). The user starts `PENDING`; activate it
/// with [`ActivateUserRequest`] before it can transact.
///
/// Reusing an email or phone number within your customer account is a 409. The answer's
/// status and `data` are not documented (probably `201` with the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateUserRequest {
    /// The body.
    pub user: NewUser,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl CreateUserRequest {
    /// A create request.
    pub fn new(user: NewUser) -> Self {
        CreateUserRequest {
            user,
            options: RequestOptions::default(),
        }
    }
}

impl Parts for CreateUserRequest {
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.user)
    }
    fn check(&self) -> Result<(), BuildError> {
        let u = &self.user;
        if let Some(id) = &u.user_id {
            non_empty("user_id", id.as_str())?;
        }
        check_user_fields(
            Some(&u.first_name),
            Some(&u.last_name),
            Some(&u.email),
            Some(&u.phone_country_code),
            Some(&u.phone_number),
        )
    }
}
sx_endpoint!(CreateUserRequest, CREATE_USER, User);

macro_rules! user_request {
    ($(#[$doc:meta])* $ty:ident, $route:ident, $data:ty, repeatable = $rep:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            /// The user.
            pub user_id: UserId,
            /// Trace id and route override.
            pub options: RequestOptions,
        }

        impl $ty {
            /// A request for `user_id`.
            pub fn new(user_id: impl Into<UserId>) -> Self {
                $ty {
                    user_id: user_id.into(),
                    options: RequestOptions::default(),
                }
            }
        }

        impl Parts for $ty {
            fn path_params(&self) -> Vec<(&'static str, &str)> {
                vec![("user_id", self.user_id.as_str())]
            }
            fn repeatable(&self) -> Option<bool> {
                $rep
            }
        }
        sx_endpoint!($ty, $route, $data);
    };
}

user_request!(
    /// `GET /users/{user_id}` — reads a user (owner key). **Unconfirmed path** (the
    /// conventional REST path until Sovera documents it); the answer's shape is not documented.
    GetUserRequest,
    GET_USER,
    User,
    repeatable = None
);

user_request!(
    /// `POST /users/{user_id}/activate` — activates a `PENDING` user (owner key). **Unconfirmed
    /// path**; no body (inferred); `data` is kept as JSON. Repeating it is harmless.
    ActivateUserRequest,
    ACTIVATE_USER,
    Value,
    repeatable = Some(true)
);

user_request!(
    /// `POST /users/{user_id}/deactivate` — deactivates a user (owner key). **Unconfirmed
    /// path**; no body (inferred); `data` is kept as JSON. The effect on tokens and wallets is
    /// not documented. Repeating it is harmless.
    DeactivateUserRequest,
    DEACTIVATE_USER,
    Value,
    repeatable = Some(true)
);

user_request!(
    /// `DELETE /users/{user_id}` — soft-deletes a user (owner key). **Unconfirmed path**;
    /// `data` is kept as JSON. Whether it is reversible is not documented.
    DeleteUserRequest,
    DELETE_USER,
    Value,
    repeatable = None
);

/// `PATCH /users/{user_id}` — updates a user (owner key). **Unconfirmed path**; the body is a
/// subset of the create fields (inferred) with unset fields left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateUserRequest {
    /// The user.
    pub user_id: UserId,
    /// The fields to change; at least one.
    pub update: UserUpdate,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl UpdateUserRequest {
    /// An update of `user_id`.
    pub fn new(user_id: impl Into<UserId>, update: UserUpdate) -> Self {
        UpdateUserRequest {
            user_id: user_id.into(),
            update,
            options: RequestOptions::default(),
        }
    }
}

impl Parts for UpdateUserRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("user_id", self.user_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.update)
    }
    fn check(&self) -> Result<(), BuildError> {
        let u = &self.update;
        if u.is_empty() {
            return Err(BuildError::input("update", "no field to change"));
        }
        check_user_fields(
            u.first_name.as_deref(),
            u.last_name.as_deref(),
            u.email.as_deref(),
            u.phone_country_code.as_deref(),
            u.phone_number.as_deref(),
        )
    }
}
sx_endpoint!(UpdateUserRequest, UPDATE_USER, User);

// ---------------------------------------------------------------------------------------------
// Fees & monetization

/// `GET /monetization/settings` — lists the monetization settings (owner key). The docs
/// name no filters for this list; [`MonetizationSettingsQuery`] sends `filter[...]`
/// parameters on the setting's fields (inferred), and an empty query sends none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListMonetizationSettingsRequest {
    /// Pagination and filters (empty: none sent).
    pub query: MonetizationSettingsQuery,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl ListMonetizationSettingsRequest {
    /// A list request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the pagination and filters.
    pub fn query(mut self, query: MonetizationSettingsQuery) -> Self {
        self.query = query;
        self
    }
}

impl Parts for ListMonetizationSettingsRequest {
    fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.to_filter().to_query()
    }
    fn check(&self) -> Result<(), BuildError> {
        self.query.validate()
    }
}
sx_endpoint!(
    ListMonetizationSettingsRequest,
    LIST_MONETIZATION_SETTINGS,
    Vec<MonetizationSetting>
);

macro_rules! setting_request {
    ($(#[$doc:meta])* $ty:ident, $route:ident, $data:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            /// The setting.
            pub setting_id: SettingId,
            /// Trace id and route override.
            pub options: RequestOptions,
        }

        impl $ty {
            /// A request for `setting_id`.
            pub fn new(setting_id: impl Into<SettingId>) -> Self {
                $ty {
                    setting_id: setting_id.into(),
                    options: RequestOptions::default(),
                }
            }
        }

        impl Parts for $ty {
            fn path_params(&self) -> Vec<(&'static str, &str)> {
                vec![("setting_id", self.setting_id.as_str())]
            }
        }
        sx_endpoint!($ty, $route, $data);
    };
}

setting_request!(
    /// `GET /monetization/settings/{setting_id}` — reads one setting (owner key).
    /// **Unconfirmed path**.
    GetMonetizationSettingRequest,
    GET_MONETIZATION_SETTING,
    MonetizationSetting
);

setting_request!(
    /// `DELETE /monetization/settings/{setting_id}` — deletes a setting (owner key).
    /// **Unconfirmed path**; `data` is kept as JSON.
    DeleteMonetizationSettingRequest,
    DELETE_MONETIZATION_SETTING,
    Value
);

/// `POST /monetization/settings` — creates a setting from **codes** (owner key).
/// **Unconfirmed path**.
///
/// Upstream hint (not confirmed for SovX): valid pairings are RFQ → `FEE_RATE` or
/// `SPREAD_ADJUSTMENT`, `SPOT_TRADE` → `FEE_RATE`, `WITHDRAW` → `FEE_FLAT`; other pairings
/// are sent as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateMonetizationSettingRequest {
    /// The body.
    pub setting: NewMonetizationSetting,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl CreateMonetizationSettingRequest {
    /// A create request.
    pub fn new(feature: FeatureCode, method: MethodCode, amount: Decimal) -> Self {
        CreateMonetizationSettingRequest {
            setting: NewMonetizationSetting::new(feature, method, amount),
            options: RequestOptions::default(),
        }
    }

    /// A create request from a body built elsewhere (e.g. with [`NewMonetizationSetting::new`]).
    pub fn from_body(setting: NewMonetizationSetting) -> Self {
        CreateMonetizationSettingRequest {
            setting,
            options: RequestOptions::default(),
        }
    }

    /// Limits the setting to one instrument, e.g. `BTCUSD` (the documented optional `pair`;
    /// left out of the body when unset).
    pub fn pair(mut self, pair: impl Into<String>) -> Self {
        self.setting.pair = Some(pair.into());
        self
    }
}

impl Parts for CreateMonetizationSettingRequest {
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.setting)
    }
    fn check(&self) -> Result<(), BuildError> {
        positive("amount", self.setting.amount)?;
        if let Some(p) = &self.setting.pair {
            non_empty("pair", p)?;
            if !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(BuildError::input(
                    "pair",
                    format!(
                        "base and quote together, letters and digits only (e.g. BTCUSD), got {p:?}"
                    ),
                ));
            }
        }
        Ok(())
    }
}
sx_endpoint!(
    CreateMonetizationSettingRequest,
    CREATE_MONETIZATION_SETTING,
    MonetizationSetting
);

#[derive(Serialize)]
struct AmountBody {
    amount: Decimal,
}

/// `PUT /monetization/settings/{setting_id}` — changes a setting's amount (owner key).
/// **Unconfirmed path and body**: sends `{"amount": …}` like the create body (the upstream
/// provider names it `new_monetization_amount`). The amount must be positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMonetizationSettingRequest {
    /// The setting.
    pub setting_id: SettingId,
    /// The new amount.
    pub amount: Decimal,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl UpdateMonetizationSettingRequest {
    /// An update of `setting_id` to `amount`.
    pub fn new(setting_id: impl Into<SettingId>, amount: Decimal) -> Self {
        UpdateMonetizationSettingRequest {
            setting_id: setting_id.into(),
            amount,
            options: RequestOptions::default(),
        }
    }
}

impl Parts for UpdateMonetizationSettingRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("setting_id", self.setting_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&AmountBody {
            amount: self.amount,
        })
    }
    fn check(&self) -> Result<(), BuildError> {
        positive("amount", self.amount)
    }
}
sx_endpoint!(
    UpdateMonetizationSettingRequest,
    UPDATE_MONETIZATION_SETTING,
    MonetizationSetting
);

// ---------------------------------------------------------------------------------------------
// Owner account management

/// `GET /accounts/balance` — the owner account's balances: a flat array of
/// `{currency, balance, available, held}` (owner key only; a user token is a 403).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerBalanceRequest {
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl OwnerBalanceRequest {
    /// A balance request.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Parts for OwnerBalanceRequest {}
sx_endpoint!(OwnerBalanceRequest, OWNER_BALANCE, Vec<Balance>);

/// `GET /accounts/transactions` — the owner account's transactions, with `filter[...]`
/// parameters ([`TransactionQuery`]); pagination in `meta.pagination`. **Unconfirmed path**: the path is
/// documented by cross-reference, the method (GET) is inferred. The transaction schema is
/// not documented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerTransactionsRequest {
    /// Pagination and filters (empty: none sent).
    pub query: TransactionQuery,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl OwnerTransactionsRequest {
    /// A transactions request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the pagination and filters.
    pub fn query(mut self, query: TransactionQuery) -> Self {
        self.query = query;
        self
    }
}

impl Parts for OwnerTransactionsRequest {
    fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.to_filter().to_query()
    }
    fn check(&self) -> Result<(), BuildError> {
        self.query.validate()
    }
}
sx_endpoint!(
    OwnerTransactionsRequest,
    OWNER_TRANSACTIONS,
    Vec<Transaction>
);

// ---------------------------------------------------------------------------------------------
// Currencies

/// `GET /currencies` — every currency (owner key; no filters, no pagination).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListCurrenciesRequest {
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl ListCurrenciesRequest {
    /// A currencies request.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Parts for ListCurrenciesRequest {}
sx_endpoint!(ListCurrenciesRequest, LIST_CURRENCIES, Vec<Currency>);

/// `GET /currency-pairs` — the trading pairs (owner key). **Unconfirmed path**; the answer's
/// shape is not documented, so `data` is kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTradingPairsRequest {
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl ListTradingPairsRequest {
    /// A trading-pairs request.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Parts for ListTradingPairsRequest {}
sx_endpoint!(ListTradingPairsRequest, LIST_TRADING_PAIRS, Value);
