//! The `sova sx …` command tree (Sovera SovX).

use clap::{Args, Subcommand, ValueEnum};

/// `sova sx …`
#[derive(Debug, Subcommand)]
pub(crate) enum SxCmd {
    /// Users: create, get, update, activate, deactivate, delete (owner key).
    #[command(subcommand)]
    Users(UsersCmd),
    /// User tokens (owner key).
    #[command(subcommand)]
    Tokens(TokensCmd),
    /// Monetization settings (fees) (owner key).
    #[command(subcommand)]
    Fees(FeesCmd),
    /// A user's wallets.
    #[command(subcommand)]
    Wallets(WalletsCmd),
    /// A user's balances across wallets.
    Balance {
        /// The user id.
        user_id: String,
    },
    /// A quote for a trade (user token).
    Quote(QuoteArgs),
    /// Places an order against a quote (user token).
    Order {
        /// The wallet id.
        wallet_id: String,
        /// The quote id (from `sova sx quote`).
        quote_id: String,
    },
    /// Withdrawals: initiate, confirm with the emailed code, and more.
    #[command(subcommand)]
    Withdrawals(WithdrawalsCmd),
    /// Wallet-to-wallet transfers: create, confirm with the emailed code, and more.
    #[command(subcommand)]
    Transfers(TransfersCmd),
}

/// `--account-purpose` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Purpose {
    /// Trading.
    Trading,
    /// Investing.
    Investing,
}

/// KYC fields of an individual.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct KycArgs {
    /// Date of birth, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    pub dob: Option<String>,
    /// Country of residence (ISO 3166-1 alpha-2).
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// Street address.
    #[arg(long)]
    pub street: Option<String>,
    /// City.
    #[arg(long)]
    pub city: Option<String>,
    /// State or region.
    #[arg(long)]
    pub state: Option<String>,
    /// Postal code.
    #[arg(long)]
    pub postal_code: Option<String>,
    /// Identity document type (e.g. ssn).
    #[arg(long)]
    pub id_type: Option<String>,
    /// Identity document number.
    #[arg(long)]
    pub id_number: Option<String>,
}

/// `sova sx users create`
#[derive(Debug, Clone, Args)]
pub(crate) struct NewUserArgs {
    /// First name.
    #[arg(long)]
    pub first_name: String,
    /// Last name.
    #[arg(long)]
    pub last_name: String,
    /// Email (unique within the account).
    #[arg(long)]
    pub email: String,
    /// Phone country code (ISO 3166-1 alpha-2, e.g. US).
    #[arg(long, value_name = "CC")]
    pub phone_country_code: String,
    /// Mobile number (unique within the account).
    #[arg(long)]
    pub phone_number: String,
    /// Account purpose.
    #[arg(long, value_enum, default_value = "trading")]
    pub purpose: Purpose,
    /// A UUID v4 to use as the user id (the server makes one otherwise).
    #[arg(long)]
    pub user_id: Option<String>,
    /// KYC.
    #[command(flatten)]
    pub kyc: KycArgs,
}

/// `sova sx users …`
#[derive(Debug, Subcommand)]
pub(crate) enum UsersCmd {
    /// Creates a user (it starts PENDING).
    Create(Box<NewUserArgs>),
    /// Reads a user.
    Get {
        /// The user id.
        user_id: String,
    },
    /// Updates a user (only the given fields).
    Update {
        /// The user id.
        user_id: String,
        /// New first name.
        #[arg(long)]
        first_name: Option<String>,
        /// New last name.
        #[arg(long)]
        last_name: Option<String>,
        /// New email.
        #[arg(long)]
        email: Option<String>,
        /// New phone country code.
        #[arg(long, value_name = "CC")]
        phone_country_code: Option<String>,
        /// New phone number.
        #[arg(long)]
        phone_number: Option<String>,
        /// New account purpose.
        #[arg(long, value_enum)]
        purpose: Option<Purpose>,
    },
    /// Activates a user.
    Activate {
        /// The user id.
        user_id: String,
    },
    /// Deactivates a user.
    Deactivate {
        /// The user id.
        user_id: String,
    },
    /// Deletes a user (soft delete).
    Delete {
        /// The user id.
        user_id: String,
    },
}

/// `sova sx tokens …`
#[derive(Debug, Subcommand)]
pub(crate) enum TokensCmd {
    /// Issues user tokens: one id → a single token, several → one bulk call. A new token
    /// invalidates the user's previous one.
    Issue {
        /// The user ids.
        #[arg(required = true, value_name = "USER_ID")]
        user_ids: Vec<String>,
    },
}

/// Fee features.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Feature {
    /// Request-for-quote trades.
    Rfq,
    /// Spot trades.
    SpotTrade,
    /// Withdrawals.
    Withdraw,
}

/// Fee methods.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Method {
    /// A fraction of the amount (0.01 = 1%).
    FeeRate,
    /// A flat fee.
    FeeFlat,
    /// A spread adjustment.
    SpreadAdjustment,
}

/// Paging of the `sova sx … list` commands (`filter[limit]`, `filter[skip]`).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct PageArgs {
    /// Page size (at least 1).
    #[arg(long)]
    pub limit: Option<u32>,
    /// How many items to skip.
    #[arg(long)]
    pub skip: Option<u64>,
}

/// Status and date filters of the withdrawal and transfer lists.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct MovementFilterArgs {
    /// Only this status: PENDING, COMPLETED or CANCELLED (other values are sent as given).
    #[arg(long)]
    pub status: Option<String>,
    /// Only those created at or after this ISO-8601 date or time, e.g. 2026-01-15.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only those created before this ISO-8601 date or time.
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
}

/// `sova sx fees …`
#[derive(Debug, Subcommand)]
pub(crate) enum FeesCmd {
    /// Lists monetization settings.
    List {
        /// Only settings limited to this pair, e.g. BTCUSD.
        #[arg(long)]
        pair: Option<String>,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Reads one.
    Get {
        /// The setting id.
        id: String,
    },
    /// Creates one.
    Create {
        /// The feature.
        #[arg(long, value_enum)]
        feature: Feature,
        /// The method.
        #[arg(long, value_enum)]
        method: Method,
        /// The amount (a rate as a fraction: 0.01 = 1%).
        #[arg(long)]
        amount: String,
        /// Limits the setting to one pair, e.g. BTCUSD.
        #[arg(long)]
        pair: Option<String>,
    },
    /// Changes one's amount.
    Update {
        /// The setting id.
        id: String,
        /// The new amount.
        #[arg(long)]
        amount: String,
    },
    /// Deletes one.
    Delete {
        /// The setting id.
        id: String,
    },
}

/// `sova sx wallets …`
#[derive(Debug, Subcommand)]
pub(crate) enum WalletsCmd {
    /// Creates a wallet for an active user.
    Create {
        /// The user id.
        user_id: String,
        /// The wallet's name (unique per user).
        #[arg(long, default_value = "main")]
        name: String,
        /// A network as NAME:CURRENCY (repeatable) [default: networks/solana-devnet:usdc].
        #[arg(long = "network", value_name = "NAME:CURRENCY")]
        networks: Vec<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
    },
    /// Lists a user's wallets.
    List {
        /// The user id.
        user_id: String,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
}

/// Trade side.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SideArg {
    /// Buy the base currency.
    Buy,
    /// Sell the base currency.
    Sell,
}

/// `sova sx quote`
#[derive(Debug, Clone, Args)]
pub(crate) struct QuoteArgs {
    /// The wallet id.
    pub wallet_id: String,
    /// The pair, e.g. btcusd.
    #[arg(long)]
    pub pair: String,
    /// Buy or sell.
    #[arg(long, value_enum)]
    pub side: SideArg,
    /// Amount in the quote currency (e.g. 100 USD).
    #[arg(
        long,
        conflicts_with = "quantity",
        required_unless_present = "quantity"
    )]
    pub amount: Option<String>,
    /// Quantity of the base currency (e.g. 0.01 BTC).
    #[arg(long)]
    pub quantity: Option<String>,
}

/// `sova sx withdrawals …`
#[derive(Debug, Subcommand)]
pub(crate) enum WithdrawalsCmd {
    /// Starts a withdrawal; a code is emailed to the user.
    Initiate {
        /// The user id.
        user_id: String,
        /// Currency, e.g. usdc.
        #[arg(long)]
        currency: String,
        /// Amount.
        #[arg(long)]
        amount: String,
        /// Destination address.
        #[arg(long)]
        address: String,
        /// Memo.
        #[arg(long)]
        memo: Option<String>,
    },
    /// Confirms with the emailed code.
    Confirm {
        /// The user id.
        user_id: String,
        /// The withdrawal id.
        withdrawal_id: String,
        /// The code.
        #[arg(long)]
        code: String,
    },
    /// Sends the code again.
    ResendCode {
        /// The user id.
        user_id: String,
        /// The withdrawal id.
        withdrawal_id: String,
    },
    /// Reads one.
    Get {
        /// The user id.
        user_id: String,
        /// The withdrawal id.
        withdrawal_id: String,
    },
    /// Lists a user's withdrawals.
    List {
        /// The user id.
        user_id: String,
        /// Status and date filters.
        #[command(flatten)]
        filter: MovementFilterArgs,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Cancels a pending one.
    Cancel {
        /// The user id.
        user_id: String,
        /// The withdrawal id.
        withdrawal_id: String,
    },
}

/// Transfer types.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TransferKind {
    /// A pay-in.
    Payin,
    /// A pay-out.
    Payout,
}

/// `sova sx transfers …`
#[derive(Debug, Subcommand)]
pub(crate) enum TransfersCmd {
    /// Creates a transfer from a wallet (user token); confirm it with the emailed code.
    Create {
        /// The source wallet id.
        wallet_id: String,
        /// The destination wallet id.
        #[arg(long)]
        to: String,
        /// Currency, e.g. USDC.
        #[arg(long)]
        currency: String,
        /// Amount.
        #[arg(long)]
        amount: String,
        /// Purpose.
        #[arg(long, default_value = "transfer")]
        purpose: String,
        /// Description.
        #[arg(long, default_value = "sent with the sova command line")]
        description: String,
        /// Type.
        #[arg(long = "type", value_enum, default_value = "payout")]
        kind: TransferKind,
    },
    /// Confirms with the emailed code.
    Confirm {
        /// The source wallet id.
        wallet_id: String,
        /// The transfer id.
        transfer_id: String,
        /// The code.
        #[arg(long)]
        code: String,
    },
    /// Sends the code again.
    ResendCode {
        /// The source wallet id.
        wallet_id: String,
        /// The transfer id.
        transfer_id: String,
    },
    /// Cancels a pending one.
    Cancel {
        /// The source wallet id.
        wallet_id: String,
        /// The transfer id.
        transfer_id: String,
    },
    /// Lists a wallet's transfers.
    List {
        /// The wallet id.
        wallet_id: String,
        /// Status and date filters.
        #[command(flatten)]
        filter: MovementFilterArgs,
        /// Paging.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Reads one.
    Get {
        /// The wallet id.
        wallet_id: String,
        /// The transfer id.
        transfer_id: String,
    },
}
