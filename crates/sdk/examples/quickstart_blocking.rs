//! Blocking quickstart: the same call without an async runtime.
//!
//! ```text
//! SOVA_API_KEY=ak_… cargo run -p sova --features blocking --example quickstart_blocking
//! ```

use sova::blocking::intel::Client;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let wallet = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM".to_owned());
    let hud = client.wallet_hud(&wallet)?;
    println!(
        "{wallet}: behaviour {} · win rate {:.0}%",
        hud.behavior_code,
        hud.win_rate * 100.0
    );
    if let Some(r) = &hud.receipt {
        println!(
            "paid {} base units (transaction {})",
            r.amount,
            r.transaction.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}
