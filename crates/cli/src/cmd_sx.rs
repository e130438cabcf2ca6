//! `sova sx …`: Sovera SovX on the blocking client.

use serde::Serialize;
use serde_json::{Value, json};
use sova::sx::{
    AccountPurpose, Decimal, FeatureCode, Individual, MethodCode, MonetizationSettingsQuery,
    NewMonetizationSetting, NewTransfer, NewUser, NewWallet, NewWithdrawal, Side, Status,
    SxResponse, TransferQuery, TransferType, UserId, UserUpdate, WalletNetwork, WalletQuery,
    WithdrawalQuery,
};

use crate::cli::{
    Feature, FeesCmd, Method, MovementFilterArgs, NewUserArgs, PageArgs, Purpose, QuoteArgs,
    SideArg, SxCmd, TokensCmd, TransferKind, TransfersCmd, UsersCmd, WalletsCmd, WithdrawalsCmd,
};
use crate::ctx::Ctx;
use crate::err::{CliError, Service, from_sdk};
use crate::out::{self, Done};

fn sdk(e: sova::Error) -> CliError {
    from_sdk(e, Service::Sx)
}

/// `{"data": …, "meta": …}` and the data rendered for people.
pub(crate) fn enveloped<T: Serialize>(r: &SxResponse<T>) -> Done {
    let data = serde_json::to_value(&r.data).unwrap_or(Value::Null);
    let meta = serde_json::to_value(&r.meta).unwrap_or(Value::Null);
    let human = match &data {
        Value::Null => "done\n".to_owned(),
        Value::Array(a) if a.is_empty() => "(none)\n".to_owned(),
        other => out::render(other),
    };
    Done::new(json!({"data": data, "meta": meta}), human)
}

/// Parses a decimal amount.
pub(crate) fn decimal(text: &str, what: &str) -> Result<Decimal, CliError> {
    text.trim()
        .parse::<Decimal>()
        .map_err(|_| CliError::usage(format!("{what} {text:?} is not a decimal number")))
}

fn purpose(p: Purpose) -> AccountPurpose {
    match p {
        Purpose::Trading => AccountPurpose::Trading,
        Purpose::Investing => AccountPurpose::Investing,
    }
}

/// The body of a new user from the command-line fields.
pub(crate) fn new_user(a: &NewUserArgs) -> NewUser {
    let k = &a.kyc;
    let individual = Individual {
        dob: k.dob.clone(),
        residential_country_code: k.country.clone(),
        residential_address: k.street.clone(),
        residential_city: k.city.clone(),
        residential_state: k.state.clone(),
        residential_postal_code: k.postal_code.clone(),
        id_type: k.id_type.clone(),
        id_number: k.id_number.clone(),
        ..Individual::default()
    };
    let mut u = NewUser::individual(
        a.first_name.clone(),
        a.last_name.clone(),
        a.email.clone(),
        a.phone_country_code.clone(),
        a.phone_number.clone(),
        individual,
    );
    u.account_purpose = purpose(a.purpose);
    u.user_id = a.user_id.clone().map(UserId::from);
    u
}

/// Parses `NAME:CURRENCY` network entries (default `networks/solana-devnet:usdc`).
pub(crate) fn networks(list: &[String]) -> Result<Vec<WalletNetwork>, CliError> {
    if list.is_empty() {
        return Ok(vec![WalletNetwork::new("networks/solana-devnet", "usdc")]);
    }
    list.iter()
        .map(|n| {
            let (name, cur) = n.rsplit_once(':').ok_or_else(|| {
                CliError::usage(format!(
                    "--network {n:?} must be NAME:CURRENCY, e.g. networks/solana-devnet:usdc"
                ))
            })?;
            let name = if name.starts_with("networks/") {
                name.to_owned()
            } else {
                format!("networks/{name}")
            };
            Ok(WalletNetwork::new(name, cur))
        })
        .collect()
}

/// A status flag as the open enum (upper-cased; values the SDK does not know are sent as is).
fn status(text: &str) -> Status {
    Status::parse(&text.trim().to_ascii_uppercase())
}

/// Sets paging, status and date range on a list query with these setters.
macro_rules! movement_query {
    ($q:expr, $page:expr, $filter:expr) => {{
        let (page, filter): (PageArgs, MovementFilterArgs) = ($page, $filter);
        let mut q = $q;
        q.limit = page.limit;
        q.skip = page.skip;
        q.status = filter.status.as_deref().map(status);
        q.created_from = filter.since.map(Into::into);
        q.created_before = filter.before.map(Into::into);
        q
    }};
}

/// Runs `sova sx …`.
pub(crate) fn run(ctx: &Ctx, cmd: SxCmd) -> Result<Done, CliError> {
    let c = ctx.sx()?;
    let done = match cmd {
        SxCmd::Users(u) => match u {
            UsersCmd::Create(a) => enveloped(&c.create_user(new_user(&a)).map_err(sdk)?),
            UsersCmd::Get { user_id } => enveloped(&c.get_user(&user_id).map_err(sdk)?),
            UsersCmd::Update {
                user_id,
                first_name,
                last_name,
                email,
                phone_country_code,
                phone_number,
                purpose: p,
            } => {
                let update = UserUpdate {
                    first_name,
                    last_name,
                    email,
                    phone_country_code,
                    phone_number,
                    account_purpose: p.map(purpose),
                    ..UserUpdate::default()
                };
                if update.is_empty() {
                    return Err(CliError::usage("nothing to update")
                        .hint("pass at least one of --first-name, --last-name, --email, --phone-country-code, --phone-number, --purpose"));
                }
                enveloped(&c.update_user(&user_id, update).map_err(sdk)?)
            }
            UsersCmd::Activate { user_id } => enveloped(&c.activate_user(&user_id).map_err(sdk)?),
            UsersCmd::Deactivate { user_id } => {
                enveloped(&c.deactivate_user(&user_id).map_err(sdk)?)
            }
            UsersCmd::Delete { user_id } => enveloped(&c.delete_user(&user_id).map_err(sdk)?),
        },
        SxCmd::Tokens(TokensCmd::Issue { user_ids }) => {
            if let [one] = user_ids.as_slice() {
                enveloped(&c.issue_user_token(one).map_err(sdk)?)
            } else {
                let refs: Vec<&str> = user_ids.iter().map(String::as_str).collect();
                enveloped(&c.issue_user_tokens(&refs).map_err(sdk)?)
            }
        }
        SxCmd::Fees(f) => match f {
            FeesCmd::List { pair, page } => {
                let query = MonetizationSettingsQuery {
                    pair,
                    limit: page.limit,
                    skip: page.skip,
                    ..Default::default()
                };
                enveloped(&c.list_fees(query).map_err(sdk)?)
            }
            FeesCmd::Get { id } => enveloped(&c.get_fee(&id).map_err(sdk)?),
            FeesCmd::Create {
                feature,
                method,
                amount,
                pair,
            } => {
                let feature = match feature {
                    Feature::Rfq => FeatureCode::Rfq,
                    Feature::SpotTrade => FeatureCode::SpotTrade,
                    Feature::Withdraw => FeatureCode::Withdraw,
                };
                let method = match method {
                    Method::FeeRate => MethodCode::FeeRate,
                    Method::FeeFlat => MethodCode::FeeFlat,
                    Method::SpreadAdjustment => MethodCode::SpreadAdjustment,
                };
                let amount = decimal(&amount, "--amount")?;
                let mut setting = NewMonetizationSetting::new(feature, method, amount);
                setting.pair = pair;
                enveloped(&c.create_fee(setting).map_err(sdk)?)
            }
            FeesCmd::Update { id, amount } => {
                let amount = decimal(&amount, "--amount")?;
                enveloped(&c.update_fee(&id, amount).map_err(sdk)?)
            }
            FeesCmd::Delete { id } => enveloped(&c.delete_fee(&id).map_err(sdk)?),
        },
        SxCmd::Wallets(w) => match w {
            WalletsCmd::Create {
                user_id,
                name,
                networks: n,
                description,
            } => {
                let mut wallet = NewWallet::new(name, networks(&n)?);
                wallet.description = description;
                enveloped(&c.create_wallet(&user_id, wallet).map_err(sdk)?)
            }
            WalletsCmd::List { user_id, page } => {
                let query = WalletQuery {
                    limit: page.limit,
                    skip: page.skip,
                    ..Default::default()
                };
                enveloped(&c.list_wallets(&user_id, query).map_err(sdk)?)
            }
        },
        SxCmd::Balance { user_id } => enveloped(&c.user_balance(&user_id).map_err(sdk)?),
        SxCmd::Quote(q) => quote(&c, &q)?,
        SxCmd::Order {
            wallet_id,
            quote_id,
        } => enveloped(&c.place_order(&wallet_id, &quote_id).map_err(sdk)?),
        SxCmd::Withdrawals(w) => match w {
            WithdrawalsCmd::Initiate {
                user_id,
                currency,
                amount,
                address,
                memo,
            } => {
                let mut withdrawal =
                    NewWithdrawal::new(currency, decimal(&amount, "--amount")?, address);
                withdrawal.memo = memo;
                enveloped(&c.initiate_withdrawal(&user_id, withdrawal).map_err(sdk)?)
            }
            WithdrawalsCmd::Confirm {
                user_id,
                withdrawal_id,
                code,
            } => enveloped(
                &c.confirm_withdrawal(&user_id, &withdrawal_id, &code)
                    .map_err(sdk)?,
            ),
            WithdrawalsCmd::ResendCode {
                user_id,
                withdrawal_id,
            } => enveloped(
                &c.resend_withdrawal_code(&user_id, &withdrawal_id)
                    .map_err(sdk)?,
            ),
            WithdrawalsCmd::Get {
                user_id,
                withdrawal_id,
            } => enveloped(&c.get_withdrawal(&user_id, &withdrawal_id).map_err(sdk)?),
            WithdrawalsCmd::List {
                user_id,
                filter,
                page,
            } => {
                let query = movement_query!(WithdrawalQuery::new(), page, filter);
                enveloped(&c.list_withdrawals(&user_id, query).map_err(sdk)?)
            }
            WithdrawalsCmd::Cancel {
                user_id,
                withdrawal_id,
            } => enveloped(&c.cancel_withdrawal(&user_id, &withdrawal_id).map_err(sdk)?),
        },
        SxCmd::Transfers(t) => match t {
            TransfersCmd::Create {
                wallet_id,
                to,
                currency,
                amount,
                purpose,
                description,
                kind,
            } => {
                let transfer = NewTransfer {
                    destination_wallet_id: to.into(),
                    transfer_type: match kind {
                        TransferKind::Payin => TransferType::Payin,
                        TransferKind::Payout => TransferType::Payout,
                    },
                    purpose,
                    description,
                    currency,
                    amount: decimal(&amount, "--amount")?,
                };
                enveloped(&c.create_transfer(&wallet_id, transfer).map_err(sdk)?)
            }
            TransfersCmd::Confirm {
                wallet_id,
                transfer_id,
                code,
            } => enveloped(
                &c.confirm_transfer(&wallet_id, &transfer_id, &code)
                    .map_err(sdk)?,
            ),
            TransfersCmd::ResendCode {
                wallet_id,
                transfer_id,
            } => enveloped(
                &c.resend_transfer_code(&wallet_id, &transfer_id)
                    .map_err(sdk)?,
            ),
            TransfersCmd::Cancel {
                wallet_id,
                transfer_id,
            } => enveloped(&c.cancel_transfer(&wallet_id, &transfer_id).map_err(sdk)?),
            TransfersCmd::List {
                wallet_id,
                filter,
                page,
            } => {
                let query = movement_query!(TransferQuery::new(), page, filter);
                enveloped(&c.list_transfers(&wallet_id, query).map_err(sdk)?)
            }
            TransfersCmd::Get {
                wallet_id,
                transfer_id,
            } => enveloped(&c.get_transfer(&wallet_id, &transfer_id).map_err(sdk)?),
        },
    };
    Ok(done)
}

fn quote(c: &sova::blocking::sx::Client, q: &QuoteArgs) -> Result<Done, CliError> {
    let side = match q.side {
        SideArg::Buy => Side::Buy,
        SideArg::Sell => Side::Sell,
    };
    let r = match (&q.amount, &q.quantity) {
        (Some(a), _) => c
            .quote_amount(&q.wallet_id, &q.pair, side, decimal(a, "--amount")?)
            .map_err(sdk)?,
        (None, Some(n)) => c
            .quote_quantity(&q.wallet_id, &q.pair, side, decimal(n, "--quantity")?)
            .map_err(sdk)?,
        (None, None) => return Err(CliError::usage("pass --amount or --quantity")),
    };
    Ok(enveloped(&r))
}
