//! Deterministic synthetic Sova Intel data: every value is a function of the sandbox seed and
//! the wallet address or mint, with the documented field names and types
//! (`reference/sova-intel-api.md` §7).

use serde_json::{Map, Value, json};

use crate::clock::iso8601;
use crate::rng::{Rng, round};

const BEHAVIOR_CODES: [(&str, &str); 8] = [
    ("S", "SNIPER"),
    ("SC", "SCALPER"),
    ("M", "MOMENTUM"),
    ("I", "INTRADAY"),
    ("D", "DAY_TRADER"),
    ("W", "SWING"),
    ("P", "POSITION"),
    ("H", "HODLER"),
];
const BUCKETS: [&str; 6] = ["<10k", "10-20k", "20-50k", "50-100k", "100-250k", "250k+"];
const KNOWN_TYPES: [&str; 3] = ["smart_money", "cex_deposit", "market_maker"];

fn tier(cycles: u64) -> &'static str {
    match cycles {
        10.. => "GOLD",
        5..=9 => "SILVER",
        3..=4 => "BRONZE",
        _ => "INSUFFICIENT",
    }
}

/// Median hold time (hours) that matches a behaviour type.
fn hold_hours(rng: &mut Rng, behavior: &str) -> f64 {
    let (lo, hi) = match behavior {
        "SNIPER" => (0.001, 0.016),
        "SCALPER" => (0.017, 0.083),
        "MOMENTUM" => (0.084, 0.5),
        "INTRADAY" => (0.5, 4.0),
        "DAY_TRADER" => (4.0, 24.0),
        "SWING" => (24.0, 168.0),
        "POSITION" => (168.0, 720.0),
        _ => (720.0, 2000.0),
    };
    rng.range(lo, hi, 3)
}

/// The fields a wallet's numbers are derived from, shared by the HUD, profile and holders.
struct WalletFacts {
    code: &'static str,
    behavior: &'static str,
    cycles: u64,
    win_rate: f64,
    trimmed_mean_pnl: f64,
    avg_tx_sol: f64,
    trades_per_day: f64,
    tokens_per_day: f64,
    holdings_sol: f64,
    median_hold: f64,
    avg_hold: f64,
    entry_mcap: f64,
    bucket: &'static str,
    sol_balance: f64,
    realized_pnl: f64,
    unrealized_pnl: f64,
    total_trades: u64,
    known: Option<(&'static str, String)>,
    kol: Option<Value>,
}

fn facts(seed: u64, address: &str) -> WalletFacts {
    let mut r = Rng::keyed(seed, address);
    let (code, behavior) = *r.pick(&BEHAVIOR_CODES);
    let cycles = r.int(0, 40);
    let median_hold = hold_hours(&mut r, behavior);
    let tokens_per_day = r.range(0.1, 80.0, 2);
    let holdings_sol = r.range(0.0, 400.0, 3);
    let total_trades = r.int(cycles * 2, cycles * 6 + 20);
    let known = r.chance(0.05).then(|| {
        (
            *r.pick(&KNOWN_TYPES),
            format!("Sandbox label {}", &address[..address.len().min(6)]),
        )
    });
    let kol = r.chance(0.03).then(|| {
        json!({
            "name": format!("kol_{}", &address[..address.len().min(4)]),
            "twitter": format!("https://x.com/kol_{}", &address[..address.len().min(4)]),
            "telegram": Value::Null,
        })
    });
    WalletFacts {
        code,
        behavior,
        cycles,
        win_rate: r.range(0.05, 0.95, 4),
        trimmed_mean_pnl: r.range(-2.0, 6.0, 4),
        avg_tx_sol: r.range(0.05, 25.0, 4),
        trades_per_day: r.range(0.1, 120.0, 2),
        tokens_per_day,
        holdings_sol,
        median_hold,
        avg_hold: round(median_hold * r.range(1.0, 2.5, 3), 3),
        entry_mcap: r.range(8_000.0, 2_000_000.0, 0),
        bucket: r.pick::<&str>(&BUCKETS),
        sol_balance: r.range(0.01, 500.0, 4),
        realized_pnl: r.range(-50.0, 300.0, 4),
        unrealized_pnl: r.range(-20.0, 80.0, 4),
        total_trades,
        known,
        kol,
    }
}

/// `WalletHud` (§7.1).
pub(crate) fn hud(seed: u64, address: &str, calculated_ms: i64) -> Value {
    let f = facts(seed, address);
    let at = iso8601(calculated_ms);
    let from = iso8601(calculated_ms - 90 * 86_400_000);
    json!({
        "walletAddress": address,
        "signalType": "wallet_behavior_v1",
        "behaviorCode": f.code,
        "behaviorCategory": f.behavior,
        "winRate": f.win_rate,
        "trimmedMeanPnl": f.trimmed_mean_pnl,
        "avgTxValueSol": f.avg_tx_sol,
        "avgTradesPerDay": f.trades_per_day,
        "uniqueTokensPerDay": f.tokens_per_day,
        "currentHoldingsSol": f.holdings_sol,
        "currentHoldingsUsd": round(f.holdings_sol * 150.0, 2),
        "medianHoldTimeHours": f.median_hold,
        "typicalEntryMcapUsd": f.entry_mcap,
        "dominantEntryMcapBucket": f.bucket,
        "dataQualityTier": tier(f.cycles),
        "isBot": f.tokens_per_day > 60.0,
        "isWhale": f.holdings_sol > 200.0,
        "calculatedAt": at,
        "provenance": {
            "provider": "sova-sandbox",
            "nodeId": Value::Null,
            "schemaVersion": "1.0.0",
            "generatedAt": at,
            "source": "hybrid",
            "dataRange": {"from": from, "to": at},
        },
    })
}

/// `WalletProfileResponse` (§7.2).
pub(crate) fn profile(seed: u64, address: &str, now_ms: i64) -> Value {
    let f = facts(seed, address);
    let mut r = Rng::keyed(seed ^ 0x5050, address);
    let profitable = (f.total_trades as f64 * f.win_rate).round() as u64;
    let p25 = round(f.entry_mcap * r.range(0.3, 0.8, 3), 0);
    let p75 = round(f.entry_mcap * r.range(1.2, 3.0, 3), 0);
    json!({
        "status": "ok",
        "walletAddress": address,
        "summary": {
            "lastAnalyzedAt": iso8601(now_ms),
            "realizedPnl": f.realized_pnl,
            "profitableTradesCount": profitable,
            "totalTradesCount": f.total_trades,
            "currentSolBalance": f.sol_balance,
            "knownType": f.known.as_ref().map(|k| k.0),
            "knownLabel": f.known.as_ref().map(|k| k.1.clone()),
        },
        "kol": f.kol.clone().unwrap_or(Value::Null),
        "hud": hud(seed, address, now_ms),
        "behavior": {
            "tradingStyle": f.behavior.to_ascii_lowercase(),
            "speedCategory": if f.median_hold < 1.0 { "fast" } else if f.median_hold < 48.0 { "medium" } else { "slow" },
            "avgHoldTimeHours": f.avg_hold,
            "medianHoldTimeHours": f.median_hold,
            "buySellRatio": r.range(0.3, 3.0, 3),
            "exitPattern": if r.chance(0.5) { "partial_exit" } else { "all_at_once" },
            "avgEntryMcapUsd": round(f.entry_mcap * r.range(0.9, 1.6, 3), 0),
            "typicalEntryMcapUsd": f.entry_mcap,
            "entryMcapP25Usd": p25,
            "entryMcapP75Usd": p75,
            "dominantEntryMcapBucket": f.bucket,
            "dominantEntryMcapBucketShare": r.range(0.2, 0.9, 3),
        },
        "pnl": {
            "allTime": {
                "realizedPnlSol": f.realized_pnl,
                "unrealizedPnlSol": f.unrealized_pnl,
                "netPnlSol": round(f.realized_pnl + f.unrealized_pnl, 4),
                "winRate": f.win_rate,
            }
        },
    })
}

/// Sort keys of `/tokens`.
pub(crate) const TOKEN_SORT_KEYS: [&str; 4] =
    ["netSolProfitLoss", "realizedPnlSol", "roi", "totalSolSpent"];

/// `TokenPnlResponse` (§7.6) for one page.
pub(crate) fn tokens(
    seed: u64,
    address: &str,
    page: u64,
    page_size: u64,
    sort_by: &str,
    ascending: bool,
) -> Value {
    let mut r = Rng::keyed(seed ^ 0x70C3, address);
    let total = r.int(0, 137);
    let mut rows: Vec<(f64, Value)> = (0..total)
        .map(|_| {
            let realized = r.range(-10.0, 25.0, 4);
            let unrealized = r.range(-5.0, 10.0, 4);
            let spent = r.range(0.05, 40.0, 4);
            let roi = round((spent + realized) / spent, 4);
            let key = match sort_by {
                "realizedPnlSol" => realized,
                "roi" => roi,
                "totalSolSpent" => spent,
                _ => realized + unrealized,
            };
            (
                key,
                json!({
                    "tokenAddress": r.address(),
                    "realizedPnlSol": realized,
                    "unrealizedPnlSol": unrealized,
                    "roi": roi,
                    "totalSolSpent": spent,
                    "winRate": r.range(0.0, 1.0, 4),
                }),
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        let o = a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal);
        if ascending { o } else { o.reverse() }
    });
    let start = (page.saturating_sub(1)).saturating_mul(page_size) as usize;
    let data: Vec<Value> = rows
        .into_iter()
        .skip(start)
        .take(page_size as usize)
        .map(|r| r.1)
        .collect();
    json!({"data": data, "total": total, "page": page, "pageSize": page_size})
}

/// The holders of a mint, deterministic by mint (rank 1 = largest).
pub(crate) fn holder_addresses(seed: u64, mint: &str, n: u64) -> Vec<(String, f64)> {
    let mut r = Rng::keyed(seed ^ 0x401D, mint);
    let mut pct = r.range(4.0, 15.0, 4);
    (0..n)
        .map(|_| {
            let a = r.address();
            let p = pct;
            pct = round(pct * r.range(0.55, 0.95, 4), 4);
            (a, p)
        })
        .collect()
}

fn holder_profile(seed: u64, rank: u64, address: &str, supply: f64, full: bool) -> Value {
    let f = facts(seed, address);
    let mut r = Rng::keyed(seed ^ 0x4F1E, address);
    let classified = f.cycles >= 2;
    let mut v = json!({
        "walletAddress": address,
        "rank": rank,
        "supplyPercent": supply,
        "behaviorType": if classified { Value::from(f.behavior) } else { Value::Null },
        "exitPattern": if classified { Value::from(if r.chance(0.5) { "partial_exit" } else { "all_at_once" }) } else { Value::Null },
        "medianHoldTimeHours": if classified { Value::from(f.median_hold) } else { Value::Null },
        "dataQualityTier": tier(f.cycles),
        "confidence": r.range(0.1, 0.99, 3),
        "completedCycleCount": f.cycles,
        "walletPnlSol": f.realized_pnl + f.unrealized_pnl,
        "solBalance": f.sol_balance,
    });
    let positions = r.int(1, 30);
    if let Value::Object(m) = &mut v {
        if full {
            m.insert(
                "avgHoldTimeHours".into(),
                if classified {
                    Value::from(f.avg_hold)
                } else {
                    Value::Null
                },
            );
            m.insert("dailyFlipRatio".into(), Value::from(r.range(0.0, 0.6, 3)));
            m.insert(
                "tokenHoldingValueSol".into(),
                Value::from(r.range(0.01, 300.0, 4)),
            );
            m.insert("walletRealizedPnlSol".into(), Value::from(f.realized_pnl));
            m.insert("exitRate".into(), Value::from(r.range(0.0, 1.0, 3)));
            m.insert("totalTokensTraded".into(), Value::from(r.int(1, 400)));
            m.insert(
                "knownType".into(),
                f.known
                    .as_ref()
                    .map(|k| Value::from(k.0))
                    .unwrap_or(Value::Null),
            );
            m.insert(
                "knownLabel".into(),
                f.known
                    .as_ref()
                    .map(|k| Value::from(k.1.clone()))
                    .unwrap_or(Value::Null),
            );
            m.insert("analysisSkipped".into(), Value::from(false));
            let holdings: Vec<Value> = (0..positions.min(10))
                .map(|_| json!({"tokenAddress": r.address(), "valueSol": r.range(0.001, 50.0, 4)}))
                .collect();
            m.insert("currentHoldings".into(), Value::Array(holdings));
        } else {
            let mut top: Vec<Value> = (0..positions.min(5))
                .map(|_| json!({"tokenAddress": r.address(), "valueSol": r.range(0.001, 50.0, 4)}))
                .collect();
            top.sort_by(|a, b| {
                let av = a.get("valueSol").and_then(Value::as_f64).unwrap_or(0.0);
                let bv = b.get("valueSol").and_then(Value::as_f64).unwrap_or(0.0);
                bv.partial_cmp(&av).unwrap_or(std::cmp::Ordering::Equal)
            });
            m.insert(
                "holdingsSummary".into(),
                json!({
                    "totalPositions": positions,
                    "totalCurrentHoldingsValueSol": r.range(0.01, 800.0, 4),
                    "topHoldings": top,
                }),
            );
        }
    }
    v
}

/// `HolderProfilesResult` (§7.7).
pub(crate) fn holder_profiles(seed: u64, mint: &str, top_n: u64, processing_ms: u64) -> Value {
    let holders = holder_addresses(seed, mint, top_n);
    let profiles: Vec<Value> = holders
        .iter()
        .enumerate()
        .map(|(i, (a, p))| holder_profile(seed, i as u64 + 1, a, *p, true))
        .collect();
    json!({
        "mode": "token",
        "tokenMint": mint,
        "profiles": profiles,
        "metadata": {
            "totalHoldersRequested": top_n,
            "totalHoldersAnalyzed": top_n,
            "totalProcessingTimeMs": processing_ms,
            "avgProcessingTimePerWalletMs": if top_n == 0 { 0.0 } else { round(processing_ms as f64 / top_n as f64, 2) },
            "failedHolders": 0,
        },
    })
}

/// `AgentHolderProfilesResult` (§7.8).
pub(crate) fn agent_holder_profiles(seed: u64, mint: &str, top_n: u64) -> Value {
    let holders = holder_addresses(seed, mint, top_n);
    let profiles: Vec<Value> = holders
        .iter()
        .enumerate()
        .map(|(i, (a, p))| holder_profile(seed, i as u64 + 1, a, *p, false))
        .collect();
    let mut dist: Map<String, Value> = Map::new();
    let mut counts: Vec<(String, u64, f64)> = Vec::new();
    for (p, (_, pct)) in profiles.iter().zip(&holders) {
        let t = p
            .get("behaviorType")
            .and_then(Value::as_str)
            .unwrap_or("FRESH")
            .to_owned();
        match counts.iter_mut().find(|c| c.0 == t) {
            Some(c) => {
                c.1 += 1;
                c.2 += pct;
            }
            None => counts.push((t, 1, *pct)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let distribution: Vec<Value> = counts
        .iter()
        .map(|(t, c, s)| json!({"behaviorType": t, "count": c, "supplyPct": round(*s, 4)}))
        .collect();
    dist.clear();
    let top5: f64 = holders.iter().take(5).map(|h| h.1).sum();
    let avg_pnl = if profiles.is_empty() {
        0.0
    } else {
        round(
            profiles
                .iter()
                .filter_map(|p| p.get("walletPnlSol").and_then(Value::as_f64))
                .sum::<f64>()
                / profiles.len() as f64,
            4,
        )
    };
    json!({
        "aggregate": {
            "totalHolders": top_n,
            "analyzedHolders": top_n,
            "top1SupplyPct": holders.first().map(|h| h.1).unwrap_or(0.0),
            "top5SupplyPct": round(top5, 4),
            "behaviorDistribution": distribution,
            "avgWalletPnlSol": avg_pnl,
        },
        "profiles": profiles,
        "metadata": {
            "tokenMint": mint,
            "totalHoldersRequested": top_n,
            "totalHoldersAnalyzed": top_n,
        },
    })
}

fn pair_scores(seed: u64, a: &str, b: &str) -> (f64, f64, u64, u64, u64) {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    let mut r = Rng::keyed(seed ^ 0x5133, &format!("{x}|{y}"));
    let binary = r.range(0.0, 0.9, 4);
    let capital = r.range(0.0, 0.9, 4);
    let shared = r.int(0, 40);
    let pa = r.int(shared.max(1), shared + 80);
    let pb = r.int(shared.max(1), shared + 80);
    (binary, capital, shared, pa, pb)
}

fn token_count(seed: u64, w: &str) -> u64 {
    Rng::keyed(seed ^ 0x70C3, w).int(1, 150)
}

/// `SimilarityResult` (§7.10).
pub(crate) fn similarity(seed: u64, wallets: &[String]) -> Value {
    let mut pairs = Vec::new();
    let mut most = Vec::new();
    let mut total = 0.0;
    for (i, a) in wallets.iter().enumerate() {
        for b in wallets.iter().skip(i + 1) {
            let (binary, capital, shared, _, _) = pair_scores(seed, a, b);
            let mut r = Rng::keyed(seed ^ 0x7011, &format!("{a}|{b}"));
            let shared_tokens: Vec<Value> = (0..shared.min(10))
                .map(|_| json!({"mint": r.address()}))
                .collect();
            let score = round(binary * 0.6 + capital * 0.4, 4);
            total += score;
            pairs.push(json!({
                "walletA": a, "walletB": b,
                "binaryScore": binary, "capitalScore": capital,
                "sharedTokens": shared_tokens,
                "binarySharedTokenCount": shared,
                "capitalSharedTokenCount": shared.saturating_sub(shared / 4),
            }));
            most.push((score, json!({"walletA": a, "walletB": b, "similarityScore": score, "sharedTokenCount": shared})));
        }
    }
    most.sort_by(|x, y| y.0.partial_cmp(&x.0).unwrap_or(std::cmp::Ordering::Equal));
    let n = pairs.len();
    let mut unique = Map::new();
    let mut labels = Map::new();
    for w in wallets {
        let c = token_count(seed, w);
        unique.insert(
            w.clone(),
            json!({"binary": c, "capital": c.saturating_sub(c / 5)}),
        );
        let f = facts(seed, w);
        labels.insert(
            w.clone(),
            json!({
                "knownType": f.known.as_ref().map(|k| k.0),
                "knownLabel": f.known.as_ref().map(|k| k.1.clone()),
            }),
        );
    }
    json!({
        "vectorTypeUsed": "combined",
        "globalMetrics": {
            "averageSimilarity": if n == 0 { 0.0 } else { round(total / n as f64, 4) },
            "mostSimilarPairs": most.into_iter().take(5).map(|m| m.1).collect::<Vec<_>>(),
        },
        "pairwiseSimilarities": pairs,
        "uniqueTokensPerWallet": unique,
        "walletLabels": labels,
    })
}

/// `AgentSimilarityResult` (§7.11), with the documented noise filter and flags.
pub(crate) fn agent_similarity(seed: u64, wallets: &[String]) -> Value {
    let mut pairs = Vec::new();
    let mut total_pairs = 0u64;
    let mut flagged = 0u64;
    let mut weighted = 0.0;
    let mut total = 0.0;
    for (i, a) in wallets.iter().enumerate() {
        for b in wallets.iter().skip(i + 1) {
            total_pairs += 1;
            let (binary, capital, shared, pa, pb) = pair_scores(seed, a, b);
            let score = round(binary * 0.6 + capital * 0.4, 4);
            total += score;
            if score < 0.15 && shared < 20 {
                continue;
            }
            let oa = round(shared as f64 / pa as f64, 4);
            let ob = round(shared as f64 / pb as f64, 4);
            let high_sim = score > 0.7;
            let high_overlap = oa > 0.5 || ob > 0.5 || shared > 20;
            let flag = match (high_sim, high_overlap) {
                (true, true) => Some("HIGH_SIMILARITY_AND_OVERLAP"),
                (true, false) => Some("HIGH_SIMILARITY"),
                (false, true) => Some("HIGH_OVERLAP"),
                _ => None,
            };
            let mut p = json!({
                "walletA": a, "walletB": b,
                "similarityScore": score,
                "sharedTokenCount": shared,
                "portfolioSizeA": pa, "portfolioSizeB": pb,
                "overlapPctA": oa, "overlapPctB": ob,
            });
            if let (Some(f), Value::Object(m)) = (flag, &mut p) {
                flagged += 1;
                m.insert("flag".into(), Value::from(f));
            }
            weighted += score;
            pairs.push(p);
        }
    }
    let meaningful = pairs.len() as u64;
    json!({
        "coordinationScore": if meaningful == 0 { 0.0 } else { round(weighted / meaningful as f64, 4) },
        "pairs": pairs,
        "globalMetrics": {"averageSimilarity": if total_pairs == 0 { 0.0 } else { round(total / total_pairs as f64, 4) }},
        "metadata": {
            "walletsAnalyzed": wallets.len(),
            "totalPairs": total_pairs,
            "meaningfulPairs": meaningful,
            "flaggedPairs": flagged,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        let a = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
        assert_eq!(hud(1, a, 0), hud(1, a, 0));
        assert_ne!(hud(1, a, 0), hud(2, a, 0));
        let h = hud(1, a, 0);
        for k in [
            "signalType",
            "behaviorCode",
            "winRate",
            "dataQualityTier",
            "isBot",
            "isWhale",
            "calculatedAt",
        ] {
            assert!(h.get(k).is_some(), "{k}");
        }
        let t = tokens(1, a, 1, 20, "roi", false);
        assert!(t["data"].as_array().map(|d| d.len() <= 20).unwrap_or(false));
        let s = agent_similarity(1, &[a.to_owned(), "x".into(), "y".into()]);
        assert_eq!(s["metadata"]["totalPairs"], 3);
        let hp = holder_profiles(1, a, 5, 100);
        assert_eq!(hp["profiles"].as_array().map(Vec::len), Some(5));
    }
}
