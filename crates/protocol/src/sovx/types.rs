//! SovX data: identifiers, enums, request bodies and response objects.
//!
//! Request bodies encode exactly the documented fields (optional ones are left out when
//! unset). Response objects decode tolerantly: undocumented or disputed fields are `Option`,
//! enums keep unknown values, and unknown members are kept in `extra`. Money is
//! [`Decimal`](rust_decimal::Decimal), sent and read as JSON numbers.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::auth::UserToken;

/// A string read from a JSON string or number (ids are numbers in some answers).
struct Lenient(String);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Lenient, E> {
                Ok(Lenient(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Lenient, E> {
                Ok(Lenient(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes an optional string that may arrive as a number.
fn opt_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Lenient>::deserialize(d)?.map(|l| l.0))
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// A string newtype; it also decodes from a JSON number.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps an id.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(s.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(s: &$name) -> Self {
                s.clone()
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Lenient::deserialize(d).map(|l| $name(l.0))
            }
        }
    };
}

id_type!(
    /// A user id (UUID v4).
    UserId
);
id_type!(
    /// A wallet id (UUID v4). Trading paths put it in the `/users/{…}` slot.
    WalletId
);
id_type!(
    /// A deposit address id (UUID v4).
    AddressId
);
id_type!(
    /// A quote id, e.g. `e609df31-3af3-11f0-97c3` (not a full UUID).
    QuoteId
);
id_type!(
    /// A withdrawal id: the create answer carries a top-level `id` (UUID) and `withdraw.id`
    /// (a numeric string such as `"9182"`); which one the withdrawal sub-resources take is
    /// not documented.
    WithdrawalId
);
id_type!(
    /// A transfer id.
    TransferId
);
id_type!(
    /// A monetization setting id (a JSON number assigned by the custody provider).
    SettingId
);

open_enum! {
    /// `account_type` of a user.
    pub enum AccountType {
        /// A person.
        Individual = "individual",
        /// A company (only the `individual` KYC object is documented).
        Business = "business",
    }
}

open_enum! {
    /// `account_role` of a user; the docs allow only `third`.
    pub enum AccountRole {
        /// A third-party end user, the only documented value.
        Third = "third",
    }
}

open_enum! {
    /// `account_purpose` of a user.
    pub enum AccountPurpose {
        /// Trading.
        Trading = "trading",
        /// Investing.
        Investing = "investing",
    }
}

open_enum! {
    /// A user's status. New users are `PENDING` until activated; other values are not
    /// documented.
    pub enum UserStatus {
        /// Created, not yet activated.
        Pending = "PENDING",
        /// Activated (spelling inferred).
        Active = "ACTIVE",
    }
}

open_enum! {
    /// The status of an operation (withdrawal, transfer); statuses are UPPERCASE.
    pub enum Status {
        /// Waiting (e.g. for the emailed code).
        Pending = "PENDING",
        /// Verified.
        Verified = "VERIFIED",
        /// Done.
        Completed = "COMPLETED",
        /// Cancelled (`CANCELED` is read as this too).
        Cancelled = "CANCELLED" | "CANCELED",
    }
}

open_enum! {
    /// A monetization **feature code**, as sent in requests and read from `feature_code`.
    pub enum FeatureCode {
        /// Request-for-quote trades.
        Rfq = "RFQ",
        /// Spot trades.
        SpotTrade = "SPOT_TRADE",
        /// Withdrawals.
        Withdraw = "WITHDRAW",
    }
}

open_enum! {
    /// A monetization **method code**, as sent in requests and read from `method_code`.
    pub enum MethodCode {
        /// A fee as a fraction of the amount (0.01 = 1%).
        FeeRate = "FEE_RATE",
        /// A flat fee.
        FeeFlat = "FEE_FLAT",
        /// A spread adjustment.
        SpreadAdjustment = "SPREAD_ADJUSTMENT",
    }
}

open_enum! {
    /// `wallet_type` of a wallet.
    pub enum WalletType {
        /// A virtual wallet (the default).
        Virtual = "virtual",
        /// A real (on-chain vault) wallet.
        Real = "real",
    }
}

open_enum! {
    /// The side of a quote or order.
    pub enum Side {
        /// Buy the base currency.
        Buy = "buy" | "BUY",
        /// Sell the base currency.
        Sell = "sell" | "SELL",
    }
}

open_enum! {
    /// The `type` of a transfer.
    pub enum TransferType {
        /// A pay-in.
        Payin = "PAYIN",
        /// A pay-out.
        Payout = "PAYOUT",
    }
}

/// One issued user token (`POST /users/{user_id}/token`, and each item of the bulk call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedUserToken {
    /// The token; its `Debug` is redacted.
    pub token: UserToken,
    /// The user it belongs to.
    pub user_id: UserId,
    /// When it expires (ISO-8601), about one year after issue.
    #[serde(default)]
    pub expires: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// KYC details of an individual account holder (field names from the onboarding flow). Which
/// fields are required is not documented; unset fields are left out of the body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Individual {
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dob: Option<String>,
    /// ISO 3166-1 alpha-2 country of residence, e.g. `US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residential_country_code: Option<String>,
    /// Street address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residential_address: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residential_city: Option<String>,
    /// State or region, e.g. `WY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residential_state: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residential_postal_code: Option<String>,
    /// Identity document type, e.g. `ssn` (other values not documented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
    /// Identity document number (field name inferred: only the prefix `id_n` is documented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// Further members, sent and kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// A caller-chosen UUID v4; the server generates one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// `individual` or `business`.
    pub account_type: AccountType,
    /// Must be `third`.
    pub account_role: AccountRole,
    /// `trading` or `investing`.
    pub account_purpose: AccountPurpose,
    /// Max 100 characters.
    pub first_name: String,
    /// Max 100 characters.
    pub last_name: String,
    /// Unique within your customer account.
    pub email: String,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    pub phone_country_code: String,
    /// Max 20 characters; a valid mobile number, unique within your customer account.
    pub phone_number: String,
    /// KYC details of the account holder.
    pub individual: Individual,
    /// Undocumented members (e.g. a `business` object), sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NewUser {
    /// An individual trading user (`account_type: individual`, `account_role: third`,
    /// `account_purpose: trading`); change the public fields for other values.
    pub fn individual(
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        email: impl Into<String>,
        phone_country_code: impl Into<String>,
        phone_number: impl Into<String>,
        individual: Individual,
    ) -> Self {
        NewUser {
            user_id: None,
            account_type: AccountType::Individual,
            account_role: AccountRole::Third,
            account_purpose: AccountPurpose::Trading,
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            phone_country_code: phone_country_code.into(),
            phone_number: phone_number.into(),
            individual,
            extra: Map::new(),
        }
    }
}

/// The body of a user update: a subset of the create fields (inferred); unset fields are
/// left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserUpdate {
    /// New `account_purpose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_purpose: Option<AccountPurpose>,
    /// New first name (max 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// New last name (max 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// New email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New phone country code (ISO 3166-1 alpha-2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_country_code: Option<String>,
    /// New phone number (max 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// New KYC details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub individual: Option<Individual>,
    /// Undocumented members, sent verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl UserUpdate {
    /// Whether nothing would be sent.
    pub fn is_empty(&self) -> bool {
        self == &UserUpdate::default()
    }
}

/// A user as the server returns it. The shape is not documented: every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// The user id.
    pub user_id: Option<UserId>,
    /// `PENDING` until activated.
    pub status: Option<UserStatus>,
    /// `individual` or `business`.
    pub account_type: Option<AccountType>,
    /// `third`.
    pub account_role: Option<AccountRole>,
    /// `trading` or `investing`.
    pub account_purpose: Option<AccountPurpose>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone country code.
    pub phone_country_code: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// KYC details.
    pub individual: Option<Individual>,
    /// Created (ISO-8601).
    pub created_at: Option<String>,
    /// Last updated (ISO-8601).
    pub updated_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of a monetization setting create: **codes**, not labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMonetizationSetting {
    /// The feature (`RFQ`, `SPOT_TRADE`, `WITHDRAW`).
    pub feature: FeatureCode,
    /// The method (`FEE_RATE`, `FEE_FLAT`, `SPREAD_ADJUSTMENT`).
    pub method: MethodCode,
    /// The amount; for rates a decimal fraction (0.01 = 1%).
    pub amount: Decimal,
    /// Limit the setting to one instrument, e.g. `BTCUSD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
}

impl NewMonetizationSetting {
    /// A setting for every instrument (no `pair`).
    pub fn new(feature: FeatureCode, method: MethodCode, amount: Decimal) -> Self {
        NewMonetizationSetting {
            feature,
            method,
            amount,
            pair: None,
        }
    }

    /// Limits the setting to one instrument, e.g. `BTCUSD`.
    pub fn pair(mut self, pair: impl Into<String>) -> Self {
        self.pair = Some(pair.into());
        self
    }
}

/// A monetization setting as returned: `feature` and `method` are readable **labels**
/// (e.g. "Spot Trading", "Fee Rate"); the codes are in `feature_code` and `method_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonetizationSetting {
    /// Assigned by the custody provider (a JSON number).
    pub id: SettingId,
    /// The feature's label.
    #[serde(default)]
    pub feature: Option<String>,
    /// The feature's code.
    #[serde(default)]
    pub feature_code: Option<FeatureCode>,
    /// The method's label.
    #[serde(default)]
    pub method: Option<String>,
    /// The method's code.
    #[serde(default)]
    pub method_code: Option<MethodCode>,
    /// The amount (0.01 = 1% for rates).
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// The account the setting applies to.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Currency code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Instrument, e.g. `BTCUSD`.
    #[serde(default)]
    pub pair: Option<String>,
    /// Created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last updated (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One balance line: `{currency, balance, available, held}` (owner, user and wallet
/// balances). `available` can be moved now; `held` is locked in pending operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Currency code; its case varies (`btc`, `USD`): compare case-insensitively.
    pub currency: String,
    /// Total.
    #[serde(default)]
    pub balance: Option<Decimal>,
    /// Available now.
    #[serde(default)]
    pub available: Option<Decimal>,
    /// Held by pending operations.
    #[serde(default)]
    pub held: Option<Decimal>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A transaction ("unifies the order and the trade"). The schema is not documented: the
/// fields below are guesses and everything the server sends is kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Transaction {
    /// The id (string or number on the wire).
    #[serde(deserialize_with = "opt_lenient")]
    pub id: Option<String>,
    /// The kind (`type`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The status.
    pub status: Option<String>,
    /// Currency code.
    pub currency: Option<String>,
    /// Amount.
    pub amount: Option<Decimal>,
    /// Created (ISO-8601).
    pub created_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A currency (`GET /currencies`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Currency {
    /// The provider's internal id (a number on the wire).
    #[serde(deserialize_with = "opt_lenient")]
    pub id: Option<String>,
    /// e.g. `BTC`.
    pub symbol: Option<String>,
    /// e.g. `Bitcoin`.
    pub name: Option<String>,
    /// Currency code.
    pub code: Option<String>,
    /// Same as `code`.
    pub currency: Option<String>,
    /// Decimals supported.
    pub precision: Option<u32>,
    /// e.g. `₿`.
    pub ascii_sign: Option<String>,
    /// Deposits enabled.
    pub can_deposit: Option<bool>,
    /// Withdrawals enabled.
    pub can_withdraw: Option<bool>,
    /// Smallest withdrawal.
    pub min_withdrawal: Option<Decimal>,
    /// A fiat currency.
    pub is_fiat: Option<bool>,
    /// Deposits need confirmations.
    pub is_confirmations_needed: Option<bool>,
    /// Custody enabled.
    pub is_custody_enabled: Option<bool>,
    /// Trading enabled.
    pub is_trading_enabled: Option<bool>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `{name, currency}` network entry of a wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletNetwork {
    /// Vault network id **with** the `networks/` prefix, e.g. `networks/bitcoin-testnet`.
    pub name: String,
    /// e.g. `btc`, `eth`, `sol`.
    pub currency: String,
}

impl WalletNetwork {
    /// A network entry.
    pub fn new(name: impl Into<String>, currency: impl Into<String>) -> Self {
        WalletNetwork {
            name: name.into(),
            currency: currency.into(),
        }
    }
}

/// The body of `POST /users/{user_id}/wallets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWallet {
    /// Max 100 characters, unique per user (a duplicate is a 400).
    pub name: String,
    /// At least one network.
    pub networks: Vec<WalletNetwork>,
    /// `virtual` (the server's default) or `real`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_type: Option<WalletType>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl NewWallet {
    /// A wallet with a name and its networks.
    pub fn new(name: impl Into<String>, networks: Vec<WalletNetwork>) -> Self {
        NewWallet {
            name: name.into(),
            networks,
            wallet_type: None,
            description: None,
        }
    }
}

/// A deposit address: exactly `address_id`, `currency`, `network`, `address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// The address id.
    pub address_id: AddressId,
    /// Lowercase currency, e.g. `btc`.
    pub currency: String,
    /// Network **without** the `networks/` prefix, e.g. `bitcoin-testnet`.
    pub network: String,
    /// The on-chain address.
    pub address: String,
}

/// A wallet as returned by Create Wallet and List Wallets (only the first fields are
/// documented).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// The wallet id.
    pub wallet_id: WalletId,
    /// The vault wallet id, free-form (e.g. `wal_8f3a9d2c7e4a`).
    #[serde(default)]
    pub vault_wallet_id: Option<String>,
    /// The owning user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// `virtual` or `real`.
    #[serde(default)]
    pub wallet_type: Option<WalletType>,
    /// The networks.
    #[serde(default)]
    pub networks: Vec<WalletNetwork>,
    /// The provisioned deposit addresses.
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// Created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last updated (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of Create Address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAddress {
    /// e.g. `btc`, `eth`, `usdc` (the server lowercases it).
    pub currency: String,
    /// e.g. `bitcoin-testnet` — **no** `networks/` prefix.
    pub network: String,
}

/// A wallet with its addresses: the answer of Create Address and List Addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletAddresses {
    /// The wallet id.
    pub wallet_id: WalletId,
    /// The vault wallet id.
    #[serde(default)]
    pub vault_wallet_id: Option<String>,
    /// The owning user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The wallet's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The wallet's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Every address of the wallet.
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// Created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last updated (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of Request Quote: a pair, a side and **one of** `quantity` or `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteBody {
    /// Base and quote together, e.g. `btcusd`.
    pub pair: String,
    /// `buy` or `sell`.
    pub side: Side,
    /// Amount of the **base** currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// Amount in the **quote** currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
}

/// A quote. Passed through from the pricing provider, so fields may vary by pair and side:
/// prices are optional and unknown members are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Pass to Place Order.
    pub quote_id: QuoteId,
    /// The pair.
    #[serde(default)]
    pub pair: Option<String>,
    /// The side.
    #[serde(default)]
    pub side: Option<Side>,
    /// Quote-currency amount.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Base quantity.
    #[serde(default)]
    pub quantity: Option<Decimal>,
    /// The price of a buy.
    #[serde(default)]
    pub buy_price: Option<Decimal>,
    /// The price of a sell (name inferred from the upstream RFQ shape).
    #[serde(default)]
    pub sell_price: Option<Decimal>,
    /// Created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Expiry (ISO-8601), about 5 minutes after creation.
    #[serde(default)]
    pub expired_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Quote {
    /// The price for this quote's side (`buy_price` or `sell_price`), whichever is present.
    pub fn price(&self) -> Option<Decimal> {
        match self.side {
            Some(Side::Sell) => self.sell_price.or(self.buy_price),
            _ => self.buy_price.or(self.sell_price),
        }
    }
}

/// The body of Place Order (not documented): `quote_id` plus optional echoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBody {
    /// The quote to execute.
    pub quote_id: QuoteId,
    /// The pair, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// The side, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// The quantity, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// A caller reference (upstream `client_order_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_order_id: Option<String>,
}

/// An executed order (not documented; passed through from the provider). Everything is
/// optional and unknown members are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    /// The order id (string or number on the wire).
    #[serde(deserialize_with = "opt_lenient")]
    pub id: Option<String>,
    /// The quote it executed.
    pub quote_id: Option<QuoteId>,
    /// The status.
    pub status: Option<String>,
    /// The pair.
    pub pair: Option<String>,
    /// The side.
    pub side: Option<Side>,
    /// Base quantity.
    pub quantity: Option<Decimal>,
    /// Quote-currency amount.
    pub amount: Option<Decimal>,
    /// Execution price.
    pub price: Option<Decimal>,
    /// Created (ISO-8601).
    pub created_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of Initiate Withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWithdrawal {
    /// e.g. `btc`.
    pub currency: String,
    /// The amount.
    pub amount: Decimal,
    /// The destination address.
    pub address: String,
    /// Max 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

impl NewWithdrawal {
    /// A withdrawal of `amount` `currency` to `address`, without a memo.
    pub fn new(currency: impl Into<String>, amount: Decimal, address: impl Into<String>) -> Self {
        NewWithdrawal {
            currency: currency.into(),
            amount,
            address: address.into(),
            memo: None,
        }
    }

    /// Sets the memo (max 255 characters; left out of the body when unset).
    pub fn memo(mut self, memo: impl Into<String>) -> Self {
        self.memo = Some(memo.into());
        self
    }
}

/// The `withdraw` member of a withdrawal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WithdrawState {
    /// A numeric string such as `"9182"` (a number is accepted too).
    #[serde(deserialize_with = "opt_lenient")]
    pub id: Option<String>,
    /// `PENDING`, `COMPLETED` or `CANCELLED`.
    pub status: Option<Status>,
    /// The server's deduplication key.
    pub idempotency_key: Option<String>,
    /// Whether the server treated the request as a duplicate.
    pub is_duplicate: Option<bool>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A withdrawal (documented for the create answer; the other answers are assumed alike).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Withdrawal {
    /// The top-level id (UUID).
    pub id: Option<WithdrawalId>,
    /// The upstream withdrawal and its status.
    pub withdraw: Option<WithdrawState>,
    /// e.g. `btc`.
    pub currency: Option<String>,
    /// The amount.
    pub amount: Option<Decimal>,
    /// The destination address.
    pub address: Option<String>,
    /// The memo.
    pub memo: Option<String>,
    /// A top-level status, if the server sends one.
    pub status: Option<Status>,
    /// Created (ISO-8601).
    pub created_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Withdrawal {
    /// The status: `withdraw.status`, else the top-level `status`.
    pub fn status(&self) -> Option<&Status> {
        self.withdraw
            .as_ref()
            .and_then(|w| w.status.as_ref())
            .or(self.status.as_ref())
    }
}

/// The body of a confirm call: `{"code": "<otp>"}` (field name inferred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationCode {
    /// The one-time code emailed to the user.
    pub code: String,
}

/// The body of Create Transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransfer {
    /// An active wallet other than the source (UUID v4).
    pub destination_wallet_id: WalletId,
    /// `PAYIN` or `PAYOUT`.
    #[serde(rename = "type")]
    pub transfer_type: TransferType,
    /// Max 255 characters.
    pub purpose: String,
    /// Max 500 characters.
    pub description: String,
    /// Max 10 characters, e.g. `USDC`.
    pub currency: String,
    /// Positive, at least 0.000001.
    pub amount: Decimal,
}

/// A transfer (not documented beyond its `id`; everything is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Transfer {
    /// Pass to confirm, resend or cancel.
    pub id: Option<TransferId>,
    /// `PENDING` until confirmed.
    pub status: Option<Status>,
    /// The source wallet, if the server names it `wallet_id`.
    pub wallet_id: Option<WalletId>,
    /// The source wallet, if the server names it `source_wallet_id`.
    pub source_wallet_id: Option<WalletId>,
    /// The destination wallet.
    pub destination_wallet_id: Option<WalletId>,
    /// `PAYIN` or `PAYOUT`.
    #[serde(rename = "type")]
    pub transfer_type: Option<TransferType>,
    /// The purpose.
    pub purpose: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Currency code.
    pub currency: Option<String>,
    /// The amount.
    pub amount: Option<Decimal>,
    /// Created (ISO-8601).
    pub created_at: Option<String>,
    /// Last updated (ISO-8601).
    pub updated_at: Option<String>,
    /// Members this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
