#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Protocol hot paths: decode a `PAYMENT-REQUIRED`, encode a `PAYMENT-SIGNATURE`, parse a
//! wallet profile. Run with `cargo xtask bench` or `cargo bench -p sova-protocol`.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use sova_protocol::Endpoint;
use sova_protocol::http::Response;
use sova_protocol::intel::WalletProfileRequest;
use sova_protocol::x402::{PayloadShape, PaymentPayload, PaymentRequired, b64};

const REQUIRED: &str = r#"{"x402Version":2,"accepts":[{"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","asset":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","amount":"75000","payTo":"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM","maxTimeoutSeconds":60}]}"#;

const PROFILE: &str = r#"{
  "status": "ok",
  "walletAddress": "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
  "summary": {"lastAnalyzedAt": "2026-03-03T11:30:00.000Z", "realizedPnl": 123.45, "profitableTradesCount": 88,
              "totalTradesCount": 140, "currentSolBalance": 12.5, "knownType": null, "knownLabel": null},
  "kol": {"name": "Ansem", "twitter": "https://x.com/blknoiz06", "telegram": null},
  "hud": {"walletAddress": "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "signalType": "wallet_behavior_v1",
          "behaviorCode": "W", "winRate": 0.62, "trimmedMeanPnl": 0.84, "avgTxValueSol": 1.9, "avgTradesPerDay": 7.5,
          "uniqueTokensPerDay": 3.1, "currentHoldingsSol": 42.0, "currentHoldingsUsd": 6300.5, "medianHoldTimeHours": 30.2,
          "typicalEntryMcapUsd": 15000, "dominantEntryMcapBucket": "10-20k", "dataQualityTier": "GOLD", "isBot": false,
          "isWhale": false, "calculatedAt": "2026-03-03T11:30:00.000Z",
          "provenance": {"provider": "alpha-node", "nodeId": null, "schemaVersion": "1.0.0",
                         "generatedAt": "2026-03-03T11:30:00.000Z", "source": "hybrid",
                         "dataRange": {"from": "2025-01-01T00:00:00.000Z", "to": "2026-03-03T00:00:00.000Z"}}},
  "behavior": {"tradingStyle": "swing", "speedCategory": "medium", "avgHoldTimeHours": 40.1, "medianHoldTimeHours": 30.2,
               "buySellRatio": 1.2, "exitPattern": "partial_exit", "avgEntryMcapUsd": 250000, "typicalEntryMcapUsd": 15000,
               "entryMcapP25Usd": 9000, "entryMcapP75Usd": 60000, "dominantEntryMcapBucket": "10-20k",
               "dominantEntryMcapBucketShare": 0.41},
  "pnl": {"allTime": {"realizedPnlSol": 123.45, "unrealizedPnlSol": 4.2, "netPnlSol": 127.65, "winRate": 0.62}}
}"#;

fn benches(c: &mut Criterion) {
    let header = b64::encode(REQUIRED.as_bytes());
    c.bench_function("decode PAYMENT-REQUIRED", |b| {
        b.iter(|| PaymentRequired::decode_header(black_box(&header)).map(|r| r.accepts.len()))
    });

    let required = PaymentRequired::decode_header(&header).unwrap_or_else(|e| panic!("{e}"));
    // A typical self-paid transaction's base64 (~300 bytes of wire transaction).
    let tx = b64::encode(&[7u8; 300]);
    c.bench_function("encode PAYMENT-SIGNATURE (hybrid)", |b| {
        b.iter(|| {
            PaymentPayload::new(Some(&required), &required.accepts[0], black_box(tx.clone()))
                .encode(PayloadShape::Hybrid)
        })
    });

    let endpoint = WalletProfileRequest::new("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM");
    let response = Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(PROFILE.as_bytes().to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        endpoint.parse(&response).is_ok(),
        "the bench fixture must parse"
    );
    c.bench_function("parse wallet profile response", |b| {
        b.iter(|| endpoint.parse(black_box(&response)).is_ok())
    });
}

criterion_group!(protocol, benches);
criterion_main!(protocol);
