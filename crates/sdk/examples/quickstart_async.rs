//! Async quickstart: a wallet HUD paid with an API key or per call with x402.
//!
//! ```text
//! SOVA_API_KEY=ak_… cargo run -p sova --example quickstart_async
//! SOVA_KEYPAIR=~/.config/solana/id.json SOLANA_RPC_URL=… cargo run -p sova --example quickstart_async
//! ```
//! `SOVA_BASE_URL` points it at a sandbox (`cargo run -p sova-sandbox`).

use sova::intel::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // API key from SOVA_API_KEY, or x402 from SOVA_KEYPAIR (max 1 USDC per call, 10 USDC in all).
    let client = Client::from_env()?;
    let wallet = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM".to_owned());

    let hud = client.wallet_hud(&wallet).await?;
    println!(
        "{wallet}: behaviour {} · win rate {:.0}% · tier {}",
        hud.behavior_code,
        hud.win_rate * 100.0,
        hud.data_quality_tier
    );
    if let Some(r) = &hud.receipt {
        println!(
            "paid {} base units of {} (transaction {})",
            r.amount,
            r.asset,
            r.transaction.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}
