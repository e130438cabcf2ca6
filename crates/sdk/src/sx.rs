//! Sovera SovX: the client, its configuration and builder. One client type,
//! [`SxClient<R>`], generic over its [`Runner`]: `sova::sx::Client` is the async one and
//! `sova::blocking::sx::Client` the blocking one; every typed method is written once.
//!
//! Methods return `R::Ret<'_, T>`: for the async client a `Send` future of
//! `Result<T, sova::Error>`, for the blocking client `Result<T, sova::Error>` itself. The
//! request and response types are those of [`sova_protocol::sovx`], re-exported here.
//!
//! One client holds the owner key, a user token, or both. Owner operations (onboarding,
//! tokens, fees, currencies) need the owner key; per-user operations use the user token when
//! one is set (acting on the user's own behalf) and the owner key otherwise; trading and
//! transfers need the user token. [`Client::for_user`](crate::sx::Client::for_user) derives a
//! per-user client that shares the connection pool.

use std::fmt;

use sova_protocol::http::HeaderMap;
use sova_protocol::retry::RetryPolicy;
use sova_protocol::transport::Timeouts;
use sova_protocol::{BaseUrl, Credential, Endpoint};

use crate::call::{Authorizer, CallOptions, CallSettings};
use crate::error::Error;

// The request and response types, listed once on `sova_protocol::sovx`'s page (not inlined
// here, where they would bury the client).
#[doc(no_inline)]
pub use sova_protocol::sovx::*;

use std::sync::Arc;

use crate::flow::{Call, Ctx, Exchange, MachineExt};
use crate::runner::Runner;

/// The async SovX client (feature `async`). Cheap to clone; derive per-user clients with
/// [`SxClient::for_user`].
#[cfg(feature = "async")]
pub type Client = SxClient<crate::runner::AsyncRunner>;

/// The sandbox base URL (the production URL is not documented).
pub const DEFAULT_BASE_URL: &str = "https://api.sandbox.sovera.io/sovx/v1";

/// Settings of a SovX client, validated once by the builder.
#[derive(Clone)]
pub struct Config {
    pub(crate) base: BaseUrl,
    pub(crate) owner: Option<OwnerKey>,
    pub(crate) user: Option<UserToken>,
    pub(crate) placement: PlacementPolicy,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base", &self.base)
            .field("owner", &self.owner)
            .field("user", &self.user)
            .field("placement", &self.placement)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub(crate) fn settings(&self, options: &CallOptions) -> CallSettings {
        CallSettings::resolve(&self.timeouts, &self.retry, options)
    }

    /// The base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The same settings acting as `token`'s user.
    pub fn for_user(&self, token: UserToken) -> Config {
        Config {
            user: Some(token),
            ..self.clone()
        }
    }

    fn credential_for(&self, required: Credential) -> Result<Option<SxCredential>, Error> {
        let owner = || self.owner.clone().map(SxCredential::Owner);
        let user = || self.user.clone().map(SxCredential::User);
        let missing = |what: &str| {
            Error::Config(format!(
                "this SovX operation needs {what}, and the client has none"
            ))
        };
        match required {
            Credential::None => Ok(None),
            Credential::SxOwner => owner().map(Some).ok_or_else(|| missing("the owner key")),
            Credential::SxUser => user().map(Some).ok_or_else(|| missing("a user token")),
            Credential::SxOwnerOrUser => user()
                .or_else(owner)
                .map(Some)
                .ok_or_else(|| missing("the owner key or a user token")),
            other => Err(Error::Config(format!(
                "a SovX client cannot send a request that needs {other:?}"
            ))),
        }
    }
}

impl Authorizer for Config {
    /// Adds the credential an endpoint needs; the endpoint's name picks the token placement.
    fn authorize(
        &self,
        credential: Credential,
        endpoint: &'static str,
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        if let Some(c) = self.credential_for(credential)? {
            let placement = self.placement.for_endpoint(endpoint);
            c.apply(headers, placement)?;
        }
        Ok(())
    }
}

/// Builds a SovX client (async or blocking).
#[derive(Clone)]
pub struct ClientBuilder<R = ()> {
    base_url: Option<String>,
    owner: Option<String>,
    user: Option<String>,
    placement: PlacementPolicy,
    timeouts: Timeouts,
    retry: Option<RetryPolicy>,
    runner: std::marker::PhantomData<fn() -> R>,
}

impl<R> Default for ClientBuilder<R> {
    fn default() -> Self {
        ClientBuilder {
            base_url: Default::default(),
            owner: Default::default(),
            user: Default::default(),
            placement: Default::default(),
            timeouts: Default::default(),
            retry: Default::default(),
            runner: std::marker::PhantomData,
        }
    }
}

impl<R> ClientBuilder<R> {
    /// The same settings, for a client on runner `S`.
    fn retype<S>(self) -> ClientBuilder<S> {
        ClientBuilder {
            base_url: self.base_url,
            owner: self.owner,
            user: self.user,
            placement: self.placement,
            timeouts: self.timeouts,
            retry: self.retry,
            runner: std::marker::PhantomData,
        }
    }
}

impl<R: Runner> ClientBuilder<R> {
    /// Builds the client of this builder's runner with the default transport (the builder
    /// of [`SxClient::builder`] knows whether it is the async or the blocking client).
    pub fn build(self) -> Result<SxClient<R>, Error> {
        SxClient::from_builder(self)
    }
}

impl<R> fmt::Debug for ClientBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("owner", &self.owner.as_ref().map(|_| "[redacted]"))
            .field("user", &self.user.as_ref().map(|_| "[redacted]"))
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the sandbox base URL and no credential.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `SOVX_BASE_URL`, `SOVX_OWNER_KEY` and `SOVX_USER_TOKEN` when set.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        ClientBuilder {
            base_url: var("SOVX_BASE_URL"),
            owner: var("SOVX_OWNER_KEY"),
            user: var("SOVX_USER_TOKEN"),
            ..Self::default()
        }
    }

    /// Builds the async client with the default transport.
    #[cfg(feature = "async")]
    pub fn build(self) -> Result<Client, Error> {
        SxClient::from_builder(self)
    }

    /// Builds the blocking client with the default transport.
    #[cfg(feature = "blocking")]
    pub fn build_blocking(self) -> Result<crate::blocking::sx::Client, Error> {
        SxClient::from_builder(self)
    }
}

impl<R> ClientBuilder<R> {
    /// The base URL (default: the sandbox, `https://api.sandbox.sovera.io/sovx/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The owner API key (`customer_secret`).
    pub fn owner_key(mut self, key: impl Into<String>) -> Self {
        self.owner = Some(key.into());
        self
    }

    /// A user token, to act on that user's behalf.
    pub fn user_token(mut self, token: impl Into<String>) -> Self {
        self.user = Some(token.into());
        self
    }

    /// Where user tokens go: `x-api-key` (default) or `Authorization: Bearer`, everywhere.
    pub fn user_token_placement(mut self, placement: UserTokenPlacement) -> Self {
        self.placement.default = placement;
        self
    }

    /// Where user tokens go for one endpoint group (e.g. Bearer for trading only).
    pub fn user_token_placement_for(mut self, group: Group, placement: UserTokenPlacement) -> Self {
        self.placement = self.placement.with_group(group, placement);
        self
    }

    /// Timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    pub(crate) fn config(self) -> Result<Config, Error> {
        let base = BaseUrl::parse(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let owner = self
            .owner
            .map(OwnerKey::new)
            .transpose()
            .map_err(|e| Error::Config(format!("owner key: {e}")))?;
        let user = self
            .user
            .map(UserToken::new)
            .transpose()
            .map_err(|e| Error::Config(format!("user token: {e}")))?;
        Ok(Config {
            base,
            owner,
            user,
            placement: self.placement,
            timeouts: self.timeouts,
            retry: self.retry.unwrap_or_default(),
        })
    }
}

/// A fresh trace id for `x-trace-id` (sent on every typed call unless the caller set one).
pub(crate) fn trace_id() -> String {
    format!("sova-rs-{:016x}", crate::call::jitter_seed())
}

/// Declares one typed method per SovX endpoint from a table: name, arguments, endpoint type
/// and constructor. Each method is one line: build the endpoint, run it.
macro_rules! sx_methods {
    ($(
        $(#[$doc:meta])*
        $name:ident ( $($arg:ident : $ty:ty),* ) -> $ep:ident = $ctor:expr;
    )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self $(, $arg: $ty)*) -> R::Ret<'_, <$ep as Endpoint>::Output> {
                self.typed($ctor)
            }
        )*
    };
}

/// A SovX client, generic over how calls run: use [`Client`] (async) or
/// [`blocking::sx::Client`](crate::blocking::sx::Client). Every method returns
/// `R::Ret<'_, T>`: a future of `Result<T, Error>` for the async client, `Result<T, Error>`
/// for the blocking one.
#[derive(Clone)]
pub struct SxClient<R> {
    config: Arc<Config>,
    runner: R,
}

impl<R> fmt::Debug for SxClient<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SxClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<R: Runner> SxClient<R> {
    /// A builder with the documented defaults for this kind of client: `build()` on it
    /// returns this client type (async for `sova::…::Client`, blocking for
    /// `sova::blocking::…::Client`).
    pub fn builder() -> ClientBuilder<R> {
        ClientBuilder::new().retype()
    }

    /// A client configured from the environment: `SOVX_BASE_URL`, `SOVX_OWNER_KEY`,
    /// `SOVX_USER_TOKEN`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_builder(ClientBuilder::from_env())
    }

    /// A client with the default transport.
    pub fn from_builder<X>(builder: ClientBuilder<X>) -> Result<Self, Error> {
        let transport = R::default_transport(&builder.timeouts)?;
        Self::with_transport(builder, transport)
    }

    /// A client on a transport of your own (a configured HTTP client, a mock, …).
    pub fn with_transport<X>(
        builder: ClientBuilder<X>,
        transport: Arc<R::Transport>,
    ) -> Result<Self, Error> {
        Ok(SxClient {
            config: Arc::new(builder.config()?),
            runner: R::new(transport),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A client acting as the user whose token this is; it shares this client's connections.
    pub fn for_user(&self, token: UserToken) -> Self {
        SxClient {
            config: Arc::new(self.config.for_user(token)),
            runner: self.runner.clone(),
        }
    }

    /// Any endpoint of `sova_protocol` (SovX or raw), as is.
    pub fn send<E>(&self, endpoint: &E) -> R::Ret<'_, E::Output>
    where
        E: Endpoint + Clone + Send + 'static,
        E::Output: Send + 'static,
    {
        self.run(endpoint.clone(), &CallOptions::default())
    }

    /// [`Self::send`] with per-request options.
    pub fn send_with<E>(&self, endpoint: &E, options: &CallOptions) -> R::Ret<'_, E::Output>
    where
        E: Endpoint + Clone + Send + 'static,
        E::Output: Send + 'static,
    {
        self.run(endpoint.clone(), options)
    }

    fn run<E>(&self, endpoint: E, options: &CallOptions) -> R::Ret<'_, E::Output>
    where
        E: Endpoint + Send + 'static,
        E::Output: Send + 'static,
    {
        let config: &Config = &self.config;
        let name = endpoint.name();
        let cx = Ctx::new(
            &config.base,
            config,
            None,
            config.settings(options),
            std::time::Instant::now(),
        );
        self.runner.run(Call::new(
            name,
            cx,
            Exchange::new(endpoint).map(crate::call::Paid::into_inner),
        ))
    }

    fn typed<E>(&self, mut endpoint: E) -> R::Ret<'_, E::Output>
    where
        E: SxEndpoint + Send + 'static,
        E::Output: Send + 'static,
    {
        endpoint.set_trace_id_if_absent(trace_id);
        self.run(endpoint, &CallOptions::default())
    }

    sx_methods! {
        /// `GET /health` (no auth, no envelope).
        health() -> HealthRequest = HealthRequest::new();
        /// Issues a user token (owner); a new token invalidates the previous one.
        issue_user_token(user_id: &str) -> GenerateUserTokenRequest = GenerateUserTokenRequest::new(user_id);
        /// Issues tokens for several users in one call (owner).
        issue_user_tokens(user_ids: &[&str]) -> GenerateUserTokensRequest = GenerateUserTokensRequest::new(user_ids.iter().copied());
        /// Creates a user (owner); it starts `PENDING`.
        create_user(user: NewUser) -> CreateUserRequest = CreateUserRequest::new(user);
        /// Reads a user (owner). Unconfirmed path.
        get_user(user_id: &str) -> GetUserRequest = GetUserRequest::new(user_id);
        /// Updates a user (owner). Unconfirmed path.
        update_user(user_id: &str, update: UserUpdate) -> UpdateUserRequest = UpdateUserRequest::new(user_id, update);
        /// Activates a user (owner). Unconfirmed path.
        activate_user(user_id: &str) -> ActivateUserRequest = ActivateUserRequest::new(user_id);
        /// Deactivates a user (owner). Unconfirmed path.
        deactivate_user(user_id: &str) -> DeactivateUserRequest = DeactivateUserRequest::new(user_id);
        /// Soft-deletes a user (owner). Unconfirmed path.
        delete_user(user_id: &str) -> DeleteUserRequest = DeleteUserRequest::new(user_id);
        /// Lists monetization settings (owner); `Default::default()` for no filter.
        list_fees(query: MonetizationSettingsQuery) -> ListMonetizationSettingsRequest = ListMonetizationSettingsRequest::new().query(query);
        /// Reads a monetization setting (owner). Unconfirmed path.
        get_fee(setting_id: &str) -> GetMonetizationSettingRequest = GetMonetizationSettingRequest::new(setting_id);
        /// Creates a monetization setting (owner), e.g.
        /// `NewMonetizationSetting::new(feature, method, amount).pair("BTCUSD")`. Unconfirmed path.
        create_fee(setting: NewMonetizationSetting) -> CreateMonetizationSettingRequest = CreateMonetizationSettingRequest::from_body(setting);
        /// Updates a monetization setting's amount (owner). Unconfirmed path.
        update_fee(setting_id: &str, amount: Decimal) -> UpdateMonetizationSettingRequest = UpdateMonetizationSettingRequest::new(setting_id, amount);
        /// Deletes a monetization setting (owner). Unconfirmed path.
        delete_fee(setting_id: &str) -> DeleteMonetizationSettingRequest = DeleteMonetizationSettingRequest::new(setting_id);
        /// The owner account's balances.
        owner_balance() -> OwnerBalanceRequest = OwnerBalanceRequest::new();
        /// The owner account's transactions; `Default::default()` for no filter.
        owner_transactions(query: TransactionQuery) -> OwnerTransactionsRequest = OwnerTransactionsRequest::new().query(query);
        /// Supported currencies.
        currencies() -> ListCurrenciesRequest = ListCurrenciesRequest::new();
        /// Trading pairs. Unconfirmed path.
        trading_pairs() -> ListTradingPairsRequest = ListTradingPairsRequest::new();
        /// Creates a wallet for an active user.
        create_wallet(user_id: &str, wallet: NewWallet) -> CreateWalletRequest = CreateWalletRequest::new(user_id, wallet);
        /// Lists a user's wallets; `Default::default()` for no filter.
        list_wallets(user_id: &str, query: WalletQuery) -> ListWalletsRequest = ListWalletsRequest::new(user_id).query(query);
        /// A wallet's balances. Unconfirmed path.
        wallet_balances(wallet_id: &str) -> WalletBalancesRequest = WalletBalancesRequest::new(wallet_id);
        /// A wallet's transactions; `Default::default()` for no filter. Unconfirmed path.
        wallet_transactions(wallet_id: &str, query: TransactionQuery) -> WalletTransactionsRequest = WalletTransactionsRequest::new(wallet_id).query(query);
        /// Creates (or returns) a deposit address. Unconfirmed path suffix.
        create_address(wallet_id: &str, currency: &str, network: &str) -> CreateAddressRequest = CreateAddressRequest::new(wallet_id, currency, network);
        /// Lists a wallet's addresses. Unconfirmed path.
        list_addresses(wallet_id: &str) -> ListAddressesRequest = ListAddressesRequest::new(wallet_id);
        /// A user's balances across wallets.
        user_balance(user_id: &str) -> UserBalanceRequest = UserBalanceRequest::new(user_id);
        /// A user's transactions across wallets; `Default::default()` for no filter.
        user_transactions(user_id: &str, query: TransactionQuery) -> UserTransactionsRequest = UserTransactionsRequest::new(user_id).query(query);
        /// Requests a quote for `amount` of the quote currency (user token).
        quote_amount(wallet_id: &str, pair: &str, side: Side, amount: Decimal) -> QuoteRequest = QuoteRequest::amount(wallet_id, pair, side, amount);
        /// Requests a quote for `quantity` of the base currency (user token).
        quote_quantity(wallet_id: &str, pair: &str, side: Side, quantity: Decimal) -> QuoteRequest = QuoteRequest::quantity(wallet_id, pair, side, quantity);
        /// Places an order against a quote (user token). Unconfirmed path.
        place_order(wallet_id: &str, quote_id: &str) -> PlaceOrderRequest = PlaceOrderRequest::new(wallet_id, quote_id);
        /// Initiates a withdrawal, e.g. `NewWithdrawal::new("btc", amount, address).memo("…")`;
        /// a code is emailed to the user.
        initiate_withdrawal(user_id: &str, withdrawal: NewWithdrawal) -> InitiateWithdrawalRequest = InitiateWithdrawalRequest::from_body(user_id, withdrawal);
        /// Confirms a withdrawal with its code. Unconfirmed path.
        confirm_withdrawal(user_id: &str, withdrawal_id: &str, code: &str) -> ConfirmWithdrawalRequest = ConfirmWithdrawalRequest::new(user_id, withdrawal_id, code);
        /// Resends a withdrawal code. Unconfirmed path.
        resend_withdrawal_code(user_id: &str, withdrawal_id: &str) -> ResendWithdrawalCodeRequest = ResendWithdrawalCodeRequest::new(user_id, withdrawal_id);
        /// Reads a withdrawal. Unconfirmed path.
        get_withdrawal(user_id: &str, withdrawal_id: &str) -> GetWithdrawalRequest = GetWithdrawalRequest::new(user_id, withdrawal_id);
        /// Lists withdrawals; `Default::default()` for no filter. Unconfirmed path.
        list_withdrawals(user_id: &str, query: WithdrawalQuery) -> ListWithdrawalsRequest = ListWithdrawalsRequest::new(user_id).query(query);
        /// Cancels a pending withdrawal. Unconfirmed path.
        cancel_withdrawal(user_id: &str, withdrawal_id: &str) -> CancelWithdrawalRequest = CancelWithdrawalRequest::new(user_id, withdrawal_id);
        /// Creates a wallet-to-wallet transfer (user token). Unconfirmed path.
        create_transfer(wallet_id: &str, transfer: NewTransfer) -> CreateTransferRequest = CreateTransferRequest::new(wallet_id, transfer);
        /// Confirms a transfer with its code. Unconfirmed path.
        confirm_transfer(wallet_id: &str, transfer_id: &str, code: &str) -> ConfirmTransferRequest = ConfirmTransferRequest::new(wallet_id, transfer_id, code);
        /// Resends a transfer code. Unconfirmed path.
        resend_transfer_code(wallet_id: &str, transfer_id: &str) -> ResendTransferCodeRequest = ResendTransferCodeRequest::new(wallet_id, transfer_id);
        /// Cancels a pending transfer. Unconfirmed path.
        cancel_transfer(wallet_id: &str, transfer_id: &str) -> CancelTransferRequest = CancelTransferRequest::new(wallet_id, transfer_id);
        /// Lists a wallet's transfers; `Default::default()` for no filter. Unconfirmed path.
        list_transfers(wallet_id: &str, query: TransferQuery) -> ListTransfersRequest = ListTransfersRequest::new(wallet_id).query(query);
        /// Reads a transfer. Unconfirmed path.
        get_transfer(wallet_id: &str, transfer_id: &str) -> GetTransferRequest = GetTransferRequest::new(wallet_id, transfer_id);
    }
}
