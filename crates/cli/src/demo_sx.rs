//! The demo's SovX step: onboarding a user end to end (user → activate → token → wallet →
//! quote → order → balance) on the embedded sandbox.

use serde_json::{Value, json};
use sova::blocking;
use sova::sx::{Individual, NewUser, NewWallet, Side, WalletNetwork};
use sova_sandbox::Sandbox;

use crate::err::one_line;
use crate::out;

fn e(err: sova::Error) -> String {
    one_line(&err.to_string())
}

/// Runs the onboarding; counts its API calls in `calls`.
pub(crate) fn onboarding(sb: &Sandbox, calls: &mut u32) -> Result<(String, Value), String> {
    let owner = blocking::sx::ClientBuilder::new()
        .base_url(sb.sovx_base_url())
        .owner_key(sb.sovx_owner_key())
        .build_blocking()
        .map_err(e)?;
    let individual = Individual {
        dob: Some("1990-10-15".into()),
        residential_country_code: Some("US".into()),
        residential_address: Some("123 Sovera Lane".into()),
        residential_city: Some("Cheyenne".into()),
        residential_state: Some("WY".into()),
        residential_postal_code: Some("82001".into()),
        id_type: Some("ssn".into()),
        id_number: Some("123456789".into()),
        ..Individual::default()
    };
    let user = NewUser::individual(
        "Ada",
        "Lovelace",
        "ada@example.com",
        "US",
        "+1 555 010 0001",
        individual,
    );
    *calls += 1;
    let created = owner.create_user(user).map_err(e)?;
    let uid = created
        .data
        .user_id
        .clone()
        .ok_or("the new user has no id")?
        .to_string();
    *calls += 1;
    let active = owner.activate_user(&uid).map_err(e)?;
    *calls += 1;
    let token = owner.issue_user_token(&uid).map_err(e)?;
    let as_user = owner.for_user(token.data.token.clone());
    *calls += 1;
    let wallet = as_user
        .create_wallet(
            &uid,
            NewWallet::new(
                "main",
                vec![WalletNetwork::new("networks/solana-devnet", "usdc")],
            ),
        )
        .map_err(e)?;
    let wid = wallet.data.wallet_id.to_string();
    if !sb.sovx_fund(&wid, "usd", "1000") {
        return Err("the sandbox could not credit the wallet".into());
    }
    *calls += 1;
    let quote = as_user
        .quote_amount(&wid, "btcusd", Side::Buy, sova::sx::Decimal::from(100))
        .map_err(e)?;
    *calls += 1;
    let order = as_user
        .place_order(&wid, quote.data.quote_id.as_str())
        .map_err(e)?;
    *calls += 1;
    let balance = as_user.user_balance(&uid).map_err(e)?;
    let status = |v: &Value| out::scalar(v.get("status").unwrap_or(&Value::Null));
    let active_v = serde_json::to_value(&active.data).unwrap_or_default();
    let order_v = serde_json::to_value(&order.data).unwrap_or_default();
    let mut text = out::kv(&[
        ("user", format!("{uid} ({})", status(&active_v))),
        (
            "user token",
            format!(
                "issued, expires {}",
                token.data.expires.clone().unwrap_or_default()
            ),
        ),
        ("wallet", wid.clone()),
        ("funded", "1000 USD (sandbox credit)".to_owned()),
        (
            "quote",
            format!(
                "buy btc for 100 USD: {} BTC at {}",
                quote
                    .data
                    .quantity
                    .map(|q| q.to_string())
                    .unwrap_or_else(|| "?".into()),
                quote
                    .data
                    .price()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into())
            ),
        ),
        (
            "order",
            format!(
                "{} {}",
                order.data.id.clone().unwrap_or_default(),
                status(&order_v)
            ),
        ),
    ]);
    let rows: Vec<Vec<String>> = balance
        .data
        .iter()
        .map(|b| {
            vec![
                b.currency.clone(),
                b.balance
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                b.available
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    text.push_str(&out::table(&["currency", "balance", "available"], &rows));
    Ok((
        text,
        json!({"userId": uid, "walletId": wid, "order": order_v}),
    ))
}
