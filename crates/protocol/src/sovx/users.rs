//! SX Users endpoints (per end user): wallets, addresses, account data, trading,
//! withdrawals, transfers.

use rust_decimal::Decimal;
use serde_json::Value;

use super::query::{TransactionQuery, TransferQuery, WalletQuery, WithdrawalQuery};
use super::request::{Parts, RequestOptions, length, max_length, non_empty, positive, sx_endpoint};
use super::types::*;
use crate::BuildError;
use crate::endpoint::json_body;

/// Declares a request whose only inputs are path ids (and, with `query`, a typed list query).
macro_rules! id_request {
    (
        $(#[$doc:meta])* $ty:ident, $route:ident, $data:ty,
        ids($($field:ident: $idty:ident),+) $(, query = $qty:ident)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty {
            $(
                #[doc = concat!("Path parameter `", stringify!($field), "`.")]
                pub $field: $idty,
            )+
            $(
                /// Pagination and filters (empty: none sent).
                pub query: $qty,
            )?
            /// Trace id and route override.
            pub options: RequestOptions,
        }

        impl $ty {
            /// A request for the given ids.
            pub fn new($($field: impl Into<$idty>),+) -> Self {
                $ty {
                    $($field: $field.into(),)+
                    $(query: $qty::default(),)?
                    options: RequestOptions::default(),
                }
            }

            $(
                /// Sets the pagination and filters.
                pub fn query(mut self, query: $qty) -> Self {
                    self.query = query;
                    self
                }
            )?
        }

        impl Parts for $ty {
            fn path_params(&self) -> Vec<(&'static str, &str)> {
                vec![$((stringify!($field), self.$field.as_str())),+]
            }
            $(
                id_request!(@query_parts $qty);
            )?
        }
        sx_endpoint!($ty, $route, $data);
    };
    (@query_parts $qty:ident) => {
        fn query_pairs(&self) -> Vec<(String, String)> {
            self.query.to_filter().to_query()
        }
        fn check(&self) -> Result<(), BuildError> {
            self.query.validate()
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Wallets

/// `POST /users/{user_id}/wallets` — opens a wallet with one deposit address per network
/// (owner key or the user's token; 201). The user must exist and be active; a duplicate name
/// is a 400.
///
/// Network names carry the `networks/` prefix (e.g. `networks/bitcoin-testnet`), unlike
/// Create Address; a name without it is refused before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateWalletRequest {
    /// The user.
    pub user_id: UserId,
    /// The body.
    pub wallet: NewWallet,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl CreateWalletRequest {
    /// A create request.
    pub fn new(user_id: impl Into<UserId>, wallet: NewWallet) -> Self {
        CreateWalletRequest {
            user_id: user_id.into(),
            wallet,
            options: RequestOptions::default(),
        }
    }
}

impl Parts for CreateWalletRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("user_id", self.user_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.wallet)
    }
    fn check(&self) -> Result<(), BuildError> {
        length("name", &self.wallet.name, 100)?;
        if self.wallet.networks.is_empty() {
            return Err(BuildError::input(
                "networks",
                "at least one network is needed",
            ));
        }
        for (i, n) in self.wallet.networks.iter().enumerate() {
            if !n.name.starts_with("networks/") || n.name.len() == "networks/".len() {
                return Err(BuildError::input(
                    "networks",
                    format!(
                        "entry {i}: the name must look like networks/bitcoin-testnet, got {:?}",
                        n.name
                    ),
                ));
            }
            non_empty("networks", &n.currency).map_err(|_| {
                BuildError::input("networks", format!("entry {i}: the currency is empty"))
            })?;
        }
        Ok(())
    }
}
sx_endpoint!(CreateWalletRequest, CREATE_WALLET, Wallet);

id_request!(
    /// `GET /users/{user_id}/wallets` — the user's wallets (owner key or the user's token).
    /// The answer's shape and pagination are not documented (read as a list of wallets).
    ListWalletsRequest,
    LIST_WALLETS,
    Vec<Wallet>,
    ids(user_id: UserId),
    query = WalletQuery
);

id_request!(
    /// `GET /wallets/{wallet_id}/balances` — one wallet's balances (owner key or the user's
    /// token). **Unconfirmed path**; read as `{currency, balance, available, held}` lines.
    WalletBalancesRequest,
    WALLET_BALANCES,
    Vec<Balance>,
    ids(wallet_id: WalletId)
);

id_request!(
    /// `GET /wallets/{wallet_id}/transactions` — one wallet's transaction history (owner key
    /// or the user's token). **Unconfirmed path**; `filter[...]` and `meta.pagination`
    /// assumed like the other lists.
    WalletTransactionsRequest,
    WALLET_TRANSACTIONS,
    Vec<Transaction>,
    ids(wallet_id: WalletId),
    query = TransactionQuery
);

// ---------------------------------------------------------------------------------------------
// Wallet addresses

/// `POST /wallets/{wallet_id}/addresses` — creates a deposit address, or returns the
/// existing one for the same (currency, network) — still 201. **Unconfirmed path**: only the
/// `/wallets/{wallet_id}/` prefix is documented.
///
/// The network has **no** `networks/` prefix (e.g. `bitcoin-testnet`); a prefixed name is
/// refused before sending. Idempotent per (currency, network), so repeating is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAddressRequest {
    /// The wallet.
    pub wallet_id: WalletId,
    /// The body.
    pub address: NewAddress,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl CreateAddressRequest {
    /// A create request for `currency` on `network`.
    pub fn new(
        wallet_id: impl Into<WalletId>,
        currency: impl Into<String>,
        network: impl Into<String>,
    ) -> Self {
        CreateAddressRequest {
            wallet_id: wallet_id.into(),
            address: NewAddress {
                currency: currency.into(),
                network: network.into(),
            },
            options: RequestOptions::default(),
        }
    }
}

impl Parts for CreateAddressRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("wallet_id", self.wallet_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.address)
    }
    fn check(&self) -> Result<(), BuildError> {
        non_empty("currency", &self.address.currency)?;
        non_empty("network", &self.address.network)?;
        if self.address.network.starts_with("networks/") {
            return Err(BuildError::input(
                "network",
                "Create Address takes the network without the networks/ prefix (e.g. bitcoin-testnet)",
            ));
        }
        Ok(())
    }
    fn repeatable(&self) -> Option<bool> {
        Some(true)
    }
}
sx_endpoint!(CreateAddressRequest, CREATE_ADDRESS, WalletAddresses);

id_request!(
    /// `GET /wallets/{wallet_id}/addresses` — the wallet with all its addresses (same shape
    /// as Create Address). **Unconfirmed path**.
    ListAddressesRequest,
    LIST_ADDRESSES,
    WalletAddresses,
    ids(wallet_id: WalletId)
);

// ---------------------------------------------------------------------------------------------
// Account data (per user)

id_request!(
    /// `GET /users/{user_id}/accounts/balance` — the user's balances across all wallets: a
    /// flat array of `{currency, balance, available, held}` (owner key or the user's token).
    UserBalanceRequest,
    USER_BALANCE,
    Vec<Balance>,
    ids(user_id: UserId)
);

id_request!(
    /// `GET /users/{user_id}/accounts/transactions` — the user's transactions across all
    /// wallets, newest first, with `filter[...]`; pagination in `meta.pagination`. The
    /// transaction schema is not documented.
    UserTransactionsRequest,
    USER_TRANSACTIONS,
    Vec<Transaction>,
    ids(user_id: UserId),
    query = TransactionQuery
);

// ---------------------------------------------------------------------------------------------
// Trading

/// `POST /users/{wallet_id}/trading/quotes` — requests a quote (the user's token is
/// required; 201). Note the **wallet id** in the `/users/{…}` slot.
///
/// Give **exactly one** of `quantity` (base currency) or `amount` (quote currency); anything
/// else is refused before sending, since the server's behaviour is not documented. A quote
/// expires at `expired_at`, about 5 minutes after creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    /// The wallet.
    pub wallet_id: WalletId,
    /// The body.
    pub quote: QuoteBody,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl QuoteRequest {
    /// A quote for `quantity` of the base currency.
    pub fn quantity(
        wallet_id: impl Into<WalletId>,
        pair: impl Into<String>,
        side: Side,
        quantity: Decimal,
    ) -> Self {
        Self::with(wallet_id, pair, side, Some(quantity), None)
    }

    /// A quote for `amount` of the quote currency.
    pub fn amount(
        wallet_id: impl Into<WalletId>,
        pair: impl Into<String>,
        side: Side,
        amount: Decimal,
    ) -> Self {
        Self::with(wallet_id, pair, side, None, Some(amount))
    }

    fn with(
        wallet_id: impl Into<WalletId>,
        pair: impl Into<String>,
        side: Side,
        quantity: Option<Decimal>,
        amount: Option<Decimal>,
    ) -> Self {
        QuoteRequest {
            wallet_id: wallet_id.into(),
            quote: QuoteBody {
                pair: pair.into(),
                side,
                quantity,
                amount,
            },
            options: RequestOptions::default(),
        }
    }
}

impl Parts for QuoteRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("wallet_id", self.wallet_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.quote)
    }
    fn check(&self) -> Result<(), BuildError> {
        let q = &self.quote;
        non_empty("pair", &q.pair)?;
        if !q.pair.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(BuildError::input(
                "pair",
                "base and quote together, letters and digits only (e.g. btcusd)",
            ));
        }
        match (q.quantity, q.amount) {
            (Some(v), None) => positive("quantity", v),
            (None, Some(v)) => positive("amount", v),
            (Some(_), Some(_)) => Err(BuildError::input(
                "quantity",
                "give either quantity or amount, not both",
            )),
            (None, None) => Err(BuildError::input(
                "quantity",
                "give either quantity or amount",
            )),
        }
    }
}
sx_endpoint!(QuoteRequest, REQUEST_QUOTE, Quote);

/// `POST /users/{wallet_id}/trading/orders` — executes a quote; settles synchronously (the
/// user's token is required). **Unconfirmed path**; the body is not documented: it sends
/// `{"quote_id": …}` plus the optional echoes you set. The answer is read leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrderRequest {
    /// The wallet.
    pub wallet_id: WalletId,
    /// The body.
    pub order: OrderBody,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl PlaceOrderRequest {
    /// An order against `quote_id`.
    pub fn new(wallet_id: impl Into<WalletId>, quote_id: impl Into<QuoteId>) -> Self {
        PlaceOrderRequest {
            wallet_id: wallet_id.into(),
            order: OrderBody {
                quote_id: quote_id.into(),
                pair: None,
                side: None,
                quantity: None,
                client_order_id: None,
            },
            options: RequestOptions::default(),
        }
    }

    /// Sets a caller reference (`client_order_id`).
    pub fn client_order_id(mut self, id: impl Into<String>) -> Self {
        self.order.client_order_id = Some(id.into());
        self
    }
}

impl Parts for PlaceOrderRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("wallet_id", self.wallet_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.order)
    }
    fn check(&self) -> Result<(), BuildError> {
        non_empty("quote_id", self.order.quote_id.as_str())?;
        if let Some(q) = self.order.quantity {
            positive("quantity", q)?;
        }
        Ok(())
    }
}
sx_endpoint!(PlaceOrderRequest, PLACE_ORDER, Order);

// ---------------------------------------------------------------------------------------------
// Withdrawals

/// `POST /users/{user_id}/accounts/crypto/withdrawals` — starts a withdrawal (owner key or
/// the user's token; 201). Funds are held and the user is emailed a one-time code; nothing
/// moves until [`ConfirmWithdrawalRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateWithdrawalRequest {
    /// The user.
    pub user_id: UserId,
    /// The body.
    pub withdrawal: NewWithdrawal,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl InitiateWithdrawalRequest {
    /// A withdrawal of `amount` `currency` to `address`.
    pub fn new(
        user_id: impl Into<UserId>,
        currency: impl Into<String>,
        amount: Decimal,
        address: impl Into<String>,
    ) -> Self {
        InitiateWithdrawalRequest {
            user_id: user_id.into(),
            withdrawal: NewWithdrawal::new(currency, amount, address),
            options: RequestOptions::default(),
        }
    }

    /// A withdrawal from a body built elsewhere (e.g. [`NewWithdrawal::new`]`(…).memo(…)`).
    pub fn from_body(user_id: impl Into<UserId>, withdrawal: NewWithdrawal) -> Self {
        InitiateWithdrawalRequest {
            user_id: user_id.into(),
            withdrawal,
            options: RequestOptions::default(),
        }
    }

    /// Sets the memo (max 255 characters; left out of the body when unset).
    pub fn memo(mut self, memo: impl Into<String>) -> Self {
        self.withdrawal.memo = Some(memo.into());
        self
    }
}

impl Parts for InitiateWithdrawalRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("user_id", self.user_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.withdrawal)
    }
    fn check(&self) -> Result<(), BuildError> {
        let w = &self.withdrawal;
        non_empty("currency", &w.currency)?;
        positive("amount", w.amount)?;
        non_empty("address", &w.address)?;
        if let Some(m) = &w.memo {
            max_length("memo", m, 255)?;
        }
        Ok(())
    }
}
sx_endpoint!(InitiateWithdrawalRequest, INITIATE_WITHDRAWAL, Withdrawal);

/// `POST /users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}/confirm` — confirms a
/// withdrawal with the emailed code, body `{"code": …}`. **Unconfirmed path** (and body field
/// name). Whether `withdrawal_id` is the top-level `id` or `withdraw.id` is not documented.
/// `data` may be absent (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmWithdrawalRequest {
    /// The user.
    pub user_id: UserId,
    /// The withdrawal.
    pub withdrawal_id: WithdrawalId,
    /// The one-time code.
    pub code: String,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl ConfirmWithdrawalRequest {
    /// A confirmation with `code`.
    pub fn new(
        user_id: impl Into<UserId>,
        withdrawal_id: impl Into<WithdrawalId>,
        code: impl Into<String>,
    ) -> Self {
        ConfirmWithdrawalRequest {
            user_id: user_id.into(),
            withdrawal_id: withdrawal_id.into(),
            code: code.into(),
            options: RequestOptions::default(),
        }
    }
}

impl Parts for ConfirmWithdrawalRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("user_id", self.user_id.as_str()),
            ("withdrawal_id", self.withdrawal_id.as_str()),
        ]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&ConfirmationCode {
            code: self.code.trim().to_owned(),
        })
    }
    fn check(&self) -> Result<(), BuildError> {
        non_empty("code", &self.code)
    }
}
sx_endpoint!(
    ConfirmWithdrawalRequest,
    CONFIRM_WITHDRAWAL,
    Option<Withdrawal>
);

id_request!(
    /// `POST /users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}/resend` — emails
    /// the code again. **Unconfirmed path**; no body; `data` is kept as JSON.
    ResendWithdrawalCodeRequest,
    RESEND_WITHDRAWAL_CODE,
    Value,
    ids(user_id: UserId, withdrawal_id: WithdrawalId)
);

id_request!(
    /// `GET /users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}` — one withdrawal.
    /// **Unconfirmed path**.
    GetWithdrawalRequest,
    GET_WITHDRAWAL,
    Withdrawal,
    ids(user_id: UserId, withdrawal_id: WithdrawalId)
);

id_request!(
    /// `GET /users/{user_id}/accounts/crypto/withdrawals` — the user's withdrawals.
    /// **Unconfirmed path**; `filter[...]` assumed like the other lists.
    ListWithdrawalsRequest,
    LIST_WITHDRAWALS,
    Vec<Withdrawal>,
    ids(user_id: UserId),
    query = WithdrawalQuery
);

id_request!(
    /// `POST /users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}/cancel` — cancels a
    /// pending withdrawal. **Unconfirmed path**; no body; `data` may be absent (`None`).
    CancelWithdrawalRequest,
    CANCEL_WITHDRAWAL,
    Option<Withdrawal>,
    ids(user_id: UserId, withdrawal_id: WithdrawalId)
);

// ---------------------------------------------------------------------------------------------
// Transfers

/// `POST /wallets/{wallet_id}/transfers` — starts a wallet-to-wallet transfer from
/// `wallet_id` (the user's token is required; 201). The transfer is `PENDING` and the source
/// wallet's owner is emailed a code; confirm with [`ConfirmTransferRequest`].
/// **Unconfirmed path** (the source wallet in the path is inferred; `/users/{wallet_id}/transfers`
/// is the alternative — use [`Self::route_override`] if Sovera confirms it).
///
/// Checked before sending: source ≠ destination, `purpose` 1–255, `description` 1–500 and
/// `currency` 1–10 characters, `amount` at least 0.000001.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTransferRequest {
    /// The source wallet.
    pub wallet_id: WalletId,
    /// The body.
    pub transfer: NewTransfer,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl CreateTransferRequest {
    /// A transfer from `wallet_id`.
    pub fn new(wallet_id: impl Into<WalletId>, transfer: NewTransfer) -> Self {
        CreateTransferRequest {
            wallet_id: wallet_id.into(),
            transfer,
            options: RequestOptions::default(),
        }
    }
}

/// The smallest transfer amount, 0.000001.
const MIN_TRANSFER: Decimal = Decimal::from_parts(1, 0, 0, false, 6);

impl Parts for CreateTransferRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![("wallet_id", self.wallet_id.as_str())]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&self.transfer)
    }
    fn check(&self) -> Result<(), BuildError> {
        let t = &self.transfer;
        non_empty("destination_wallet_id", t.destination_wallet_id.as_str())?;
        if t.destination_wallet_id
            .as_str()
            .eq_ignore_ascii_case(self.wallet_id.as_str())
        {
            return Err(BuildError::input(
                "destination_wallet_id",
                "must differ from the source wallet",
            ));
        }
        length("purpose", &t.purpose, 255)?;
        length("description", &t.description, 500)?;
        length("currency", &t.currency, 10)?;
        if t.amount < MIN_TRANSFER {
            return Err(BuildError::input(
                "amount",
                format!("must be at least 0.000001, got {}", t.amount),
            ));
        }
        Ok(())
    }
}
sx_endpoint!(CreateTransferRequest, CREATE_TRANSFER, Transfer);

/// `POST /wallets/{wallet_id}/transfers/{transfer_id}/confirm` — confirms a transfer with the
/// emailed code, body `{"code": …}`; settles it. **Unconfirmed path** (and body field name).
/// `data` may be absent (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmTransferRequest {
    /// The source wallet.
    pub wallet_id: WalletId,
    /// The transfer.
    pub transfer_id: TransferId,
    /// The one-time code.
    pub code: String,
    /// Trace id and route override.
    pub options: RequestOptions,
}

impl ConfirmTransferRequest {
    /// A confirmation with `code`.
    pub fn new(
        wallet_id: impl Into<WalletId>,
        transfer_id: impl Into<TransferId>,
        code: impl Into<String>,
    ) -> Self {
        ConfirmTransferRequest {
            wallet_id: wallet_id.into(),
            transfer_id: transfer_id.into(),
            code: code.into(),
            options: RequestOptions::default(),
        }
    }
}

impl Parts for ConfirmTransferRequest {
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("wallet_id", self.wallet_id.as_str()),
            ("transfer_id", self.transfer_id.as_str()),
        ]
    }
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        json_body(&ConfirmationCode {
            code: self.code.trim().to_owned(),
        })
    }
    fn check(&self) -> Result<(), BuildError> {
        non_empty("code", &self.code)
    }
}
sx_endpoint!(ConfirmTransferRequest, CONFIRM_TRANSFER, Option<Transfer>);

id_request!(
    /// `POST /wallets/{wallet_id}/transfers/{transfer_id}/resend` — emails the code again.
    /// **Unconfirmed path**; no body; `data` is kept as JSON.
    ResendTransferCodeRequest,
    RESEND_TRANSFER_CODE,
    Value,
    ids(wallet_id: WalletId, transfer_id: TransferId)
);

id_request!(
    /// `POST /wallets/{wallet_id}/transfers/{transfer_id}/cancel` — cancels a pending
    /// transfer. **Unconfirmed path**; no body; `data` may be absent (`None`).
    CancelTransferRequest,
    CANCEL_TRANSFER,
    Option<Transfer>,
    ids(wallet_id: WalletId, transfer_id: TransferId)
);

id_request!(
    /// `GET /wallets/{wallet_id}/transfers` — the wallet's transfers. **Unconfirmed path**;
    /// `filter[...]` assumed like the other lists.
    ListTransfersRequest,
    LIST_TRANSFERS,
    Vec<Transfer>,
    ids(wallet_id: WalletId),
    query = TransferQuery
);

id_request!(
    /// `GET /wallets/{wallet_id}/transfers/{transfer_id}` — one transfer. **Unconfirmed path**.
    GetTransferRequest,
    GET_TRANSFER,
    Transfer,
    ids(wallet_id: WalletId, transfer_id: TransferId)
);
