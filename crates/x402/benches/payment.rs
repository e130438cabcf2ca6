#![allow(missing_docs)] // criterion_group! generates undocumented items
//! The payment hot path with warm caches: build + sign + encode one payment, the full
//! `Payer::prepare` (policy, nonce, build, sign, encode, pre-flight verification), the
//! verifier alone, and the two costs that bound it (an uncached ATA derivation, one Ed25519
//! signature). Run with `cargo bench -p sova-x402 --bench payment`.

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use solana_hash::Hash;
use solana_pubkey::Pubkey;
use sova_protocol::x402::{PayloadShape, PaymentPayload, PaymentRequired, b64};
use sova_x402::programs::{TOKEN_PROGRAM_ID, USDC_MAINNET};
use sova_x402::tx::{ComputeBudget, Layout, PaymentSpec, build_payment};
use sova_x402::{
    Keypair, LatestBlockhash, MintInfo, NonceSource, OsNonce, Payer, PrepareContext, Signer,
    SpendPolicy, VerifyOptions, nonce_hex, verify,
};

const PAY_TO: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const FEE_PAYER: &str = "2wmVCSfPxGPjrnMMn7rchp4uaeoTqN39mXFC2zhPdri9";

fn required(extra: &str) -> PaymentRequired {
    let json = format!(
        r#"{{"x402Version":2,"accepts":[{{"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","asset":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","amount":"15000","payTo":"{PAY_TO}","maxTimeoutSeconds":60{extra}}}]}}"#
    );
    PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap_or_else(|e| panic!("{e}"))
}

fn benches(c: &mut Criterion) {
    let key = Keypair::from_seed([1; 32]);
    let pay_to: Pubkey = PAY_TO.parse().unwrap_or_else(|e| panic!("{e:?}"));
    let fee_payer: Pubkey = FEE_PAYER.parse().unwrap_or_else(|e| panic!("{e:?}"));
    let blockhash = Hash::new_from_array([7; 32]);
    let self_paid = required("");
    let sponsored = required(&format!(r#","extra":{{"feePayer":"{FEE_PAYER}"}}"#));

    for (name, req, layout) in [
        ("self_paid", &self_paid, Layout::SelfPaid),
        ("sponsored", &sponsored, Layout::Sponsored { fee_payer }),
    ] {
        let mut spec = PaymentSpec {
            layout,
            mint: MintInfo::USDC_MAINNET,
            amount: 15_000,
            pay_to,
            memo: None,
            compute_budget: Some(ComputeBudget::default()),
            create_recipient_ata: false,
            blockhash,
        };
        let once = |spec: &mut PaymentSpec| {
            let nonce = OsNonce.next_nonce().unwrap_or_else(|e| panic!("{e}"));
            spec.memo = Some(nonce_hex(&nonce));
            let signed = build_payment(spec, &key, false).unwrap_or_else(|e| panic!("{e}"));
            let tx_len = signed.wire.len();
            (
                PaymentPayload::new(Some(req), &req.accepts[0], signed.to_base64())
                    .encode(PayloadShape::Hybrid),
                tx_len,
            )
        };
        let (header, tx_len) = once(&mut spec); // warms the ATA cache
        println!(
            "{name}: transaction {tx_len} bytes, PAYMENT-SIGNATURE (hybrid) {} bytes, flat {} bytes",
            header.len(),
            PaymentPayload::decode(&header)
                .unwrap_or_else(|e| panic!("{e}"))
                .encode(PayloadShape::Flat)
                .len()
        );
        c.bench_function(&format!("build+sign+encode/{name}"), |b| {
            b.iter(|| black_box(once(&mut spec)))
        });
    }

    let ctx = PrepareContext::new(Instant::now()).blockhash(LatestBlockhash::new(blockhash));
    for (name, req) in [("self_paid", &self_paid), ("sponsored", &sponsored)] {
        let payer = Payer::builder()
            .self_paid(sova_x402::SelfPaid::Anywhere)
            .signer(Keypair::from_seed([1; 32]))
            .policy(Arc::new(SpendPolicy::unlimited()))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        c.bench_function(&format!("prepare/{name}"), |b| {
            b.iter(|| {
                payer
                    .prepare(black_box(req), &ctx)
                    .map(|p| p.ready().map(|p| p.release()))
            })
        });
        let p = payer
            .prepare(req, &ctx)
            .ok()
            .and_then(|p| p.ready())
            .unwrap_or_else(|| panic!("not ready"));
        let opts = VerifyOptions::default();
        c.bench_function(&format!("verify (with Ed25519)/{name}"), |b| {
            b.iter(|| verify(black_box(req), p.header_value(), &opts).passed())
        });
        let fast = VerifyOptions::default()
            .verify_signatures(false)
            .verbose(false);
        c.bench_function(&format!("verify (structure only)/{name}"), |b| {
            b.iter(|| verify(black_box(req), p.header_value(), &fast).passed())
        });
    }

    let owner = key.pubkey();
    c.bench_function("reference: one uncached ATA derivation", |b| {
        b.iter(|| {
            spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
                black_box(&owner),
                &USDC_MAINNET,
                &TOKEN_PROGRAM_ID,
            )
        })
    });
    let message = vec![0x80u8; 330];
    c.bench_function("reference: one Ed25519 signature", |b| {
        b.iter(|| key.sign_message(black_box(&message)))
    });
}

criterion_group!(payment, benches);
criterion_main!(payment);
