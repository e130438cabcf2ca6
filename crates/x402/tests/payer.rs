//! The payer's decisions: selection, refusals, blockhash and mint sourcing, budgets,
//! shapes, memos and reconciliation.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::sync::Arc;
use std::time::{Duration, Instant};

use solana_hash::Hash;
use solana_pubkey::Pubkey;
use sova_protocol::x402::{PayloadShape, PaymentPayload, PaymentRequired, b64, networks};
use sova_x402::programs::{TOKEN_2022_PROGRAM_ID, USDC_MAINNET};
use sova_x402::rpc::{GetSignatureStatuses, RpcCall, SignatureInfo};
use sova_x402::{
    AssetConfig, BlockhashSource, Error, Evidence, Keypair, LatestBlockhash, MintInfo, Payer,
    PayerBuilder, PaymentMode, Preference, PrepareContext, Prepared, Reconciliation, RefusalReason,
    SeededNonce, SelfPaid, Signer, SignerError, SpendPolicy, TokenProgram, VerifyOptions, verify,
};

fn key(n: u8) -> Pubkey {
    Keypair::from_seed([n; 32]).pubkey()
}

fn me() -> Keypair {
    Keypair::from_seed([1; 32])
}

fn builder() -> PayerBuilder {
    Payer::builder()
        .self_paid(sova_x402::SelfPaid::Anywhere)
        .signer(me())
        .policy(Arc::new(SpendPolicy::unlimited()))
        .nonce_source(Arc::new(SeededNonce::new(1)))
}

fn option(asset: &str, amount: &str, pay_to: &str, extra: &str) -> String {
    format!(
        r#"{{"scheme":"exact","network":"{}","asset":"{asset}","amount":"{amount}","payTo":"{pay_to}","maxTimeoutSeconds":60{extra}}}"#,
        networks::SOLANA_MAINNET
    )
}

fn required(options: &[String]) -> PaymentRequired {
    let json = format!(r#"{{"x402Version":2,"accepts":[{}]}}"#, options.join(","));
    PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap()
}

fn usdc(amount: u64, pay_to: &Pubkey, extra: &str) -> String {
    option(
        &USDC_MAINNET.to_string(),
        &amount.to_string(),
        &pay_to.to_string(),
        extra,
    )
}

fn bh(n: u8) -> LatestBlockhash {
    LatestBlockhash {
        blockhash: Hash::new_from_array([n; 32]),
        last_valid_block_height: Some(1000 + u64::from(n)),
        context_slot: Some(500),
    }
}

fn ready(p: Result<Prepared, Error>) -> sova_x402::PreparedPayment {
    match p.unwrap() {
        Prepared::Ready(p) => *p,
        other => panic!("not ready: {other:?}"),
    }
}

#[test]
fn blockhash_sources_in_order() {
    let payer = builder().build().unwrap();
    let req = required(&[usdc(15_000, &key(9), "")]);
    let t0 = Instant::now();
    // Nothing known: ask for one, reserve nothing.
    match payer.prepare(&req, &PrepareContext::new(t0)).unwrap() {
        Prepared::NeedBlockhash(call) => assert_eq!(call.method(), "getLatestBlockhash"),
        other => panic!("{other:?}"),
    }
    assert_eq!(payer.policy().spent(&USDC_MAINNET), 0);
    // An all-zero hash is not a blockhash.
    assert!(matches!(
        payer
            .prepare(
                &req,
                &PrepareContext::new(t0).blockhash(LatestBlockhash::new(Hash::default()))
            )
            .unwrap(),
        Prepared::NeedBlockhash(_)
    ));
    // The answer, passed in: used and cached.
    let p = ready(payer.prepare(&req, &PrepareContext::new(t0).blockhash(bh(2))));
    assert_eq!(p.record().blockhash_source, BlockhashSource::Context);
    assert_eq!(p.record().last_valid_block_height, Some(1002));
    let p = ready(payer.prepare(&req, &PrepareContext::new(t0 + Duration::from_secs(19))));
    assert_eq!(p.record().blockhash_source, BlockhashSource::Cache);
    assert_eq!(p.record().blockhash, bh(2).blockhash.to_string());
    // Too old: ask again.
    assert!(matches!(
        payer
            .prepare(&req, &PrepareContext::new(t0 + Duration::from_secs(20)))
            .unwrap(),
        Prepared::NeedBlockhash(_)
    ));
    // The server's hint is ignored by default: its lastValidBlockHeight cannot be trusted.
    let hinted = required(&[usdc(
        15_000,
        &key(9),
        &format!(
            r#","extra":{{"recentBlockhash":"{}","lastValidBlockHeight":"777"}}"#,
            bh(5).blockhash
        ),
    )]);
    assert!(matches!(
        payer
            .prepare(&hinted, &PrepareContext::new(t0 + Duration::from_secs(60)))
            .unwrap(),
        Prepared::NeedBlockhash(_)
    ));
    // When trusted by choice, the hint wins, with its lastValidBlockHeight, but that height
    // can never prove the payment expired.
    let trusting = builder().trust_requirement_blockhash(true).build().unwrap();
    let p = ready(trusting.prepare(&hinted, &PrepareContext::new(t0 + Duration::from_secs(60))));
    assert_eq!(p.record().blockhash_source, BlockhashSource::Requirement);
    assert_eq!(p.record().last_valid_block_height, Some(777));
    assert_eq!(p.record().trusted_last_valid_height(), None);
    let none = sova_x402::rpc::GetSignatureStatuses {
        signatures: vec![p.record().payer_signature.clone()],
    }
    .parse(br#"{"result":{"value":[null]}}"#)
    .unwrap();
    assert_eq!(
        p.record().reconcile(&Evidence {
            statuses: Some(&none),
            block_height: Some(1_000_000),
            ..Default::default()
        }),
        Reconciliation::Pending
    );
    // A malformed hint is ignored.
    let bad = required(&[usdc(
        15_000,
        &key(9),
        r#","extra":{"recentBlockhash":"nope"}"#,
    )]);
    assert!(matches!(
        payer
            .prepare(&bad, &PrepareContext::new(t0 + Duration::from_secs(60)))
            .unwrap(),
        Prepared::NeedBlockhash(_)
    ));
}

#[test]
fn refusals_name_the_rule_and_the_figures() {
    let policy = Arc::new(
        SpendPolicy::builder()
            .max_per_payment(USDC_MAINNET, 100_000)
            .budget(USDC_MAINNET, 10_000_000)
            .pin_pay_to("api.sova-intel.com", &key(9).to_string())
            .build(),
    );
    let payer = builder()
        .policy(policy)
        .self_paid(SelfPaid::Hosts(vec!["api.sova-intel.com".into()]))
        .build()
        .unwrap();
    let ctx = PrepareContext::new(Instant::now())
        .blockhash(bh(1))
        .host("api.sova-intel.com");
    let e = payer
        .prepare(&required(&[usdc(300_000, &key(9), "")]), &ctx)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the payment cannot be made: amount 300000 exceeds per-payment cap 100000 (asset {USDC_MAINNET})"
        )
    );
    let e = payer
        .prepare(&required(&[usdc(1, &key(8), "")]), &ctx)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the payment cannot be made: payTo {} is not the recipient pinned for host api.sova-intel.com ({})",
            key(8),
            key(9)
        )
    );
    let other_mint = key(40).to_string();
    let many = required(&[
        option(&USDC_MAINNET.to_string(), "1", &key(9).to_string(), "").replace("exact", "upto"),
        option(&USDC_MAINNET.to_string(), "1", &key(9).to_string(), "")
            .replace(networks::SOLANA_MAINNET, networks::SOLANA_DEVNET),
        option(&other_mint, "1", &key(9).to_string(), ""),
        option(&USDC_MAINNET.to_string(), "1", "not-base58-0OIl", ""),
        usdc(
            1,
            &key(9),
            &format!(r#","extra":{{"feePayer":"{}"}}"#, me().pubkey()),
        ),
        usdc(1, &key(9), r#","extra":{"feePayer":42}"#),
        usdc(
            1,
            &key(9),
            &format!(
                r#","extra":{{"feePayer":"{}","memo":"{}"}}"#,
                key(3),
                "m".repeat(257)
            ),
        ),
        usdc(1, &key(9), r#","extra":{"memo":7}"#),
    ]);
    let e = payer.prepare(&many, &ctx).unwrap_err();
    let reasons: Vec<&RefusalReason> = e.refusals().iter().map(|r| &r.reason).collect();
    assert_eq!(reasons.len(), 8, "{e}");
    assert!(matches!(reasons[0], RefusalReason::Scheme(s) if s == "upto"));
    assert!(matches!(reasons[1], RefusalReason::Network { .. }));
    assert!(matches!(reasons[2], RefusalReason::AssetNotAllowed(_)));
    assert!(matches!(
        reasons[3],
        RefusalReason::BadAddress { field: "payTo", .. }
    ));
    assert!(matches!(reasons[4], RefusalReason::FeePayerIsPayer(_)));
    assert!(matches!(
        reasons[5],
        RefusalReason::BadExtra {
            key: "feePayer",
            ..
        }
    ));
    assert!(matches!(reasons[6], RefusalReason::MemoTooLong(257)));
    assert!(matches!(
        reasons[7],
        RefusalReason::BadExtra { key: "memo", .. }
    ));
    let text = e.to_string();
    assert!(
        text.starts_with("none of the 8 payment options can be paid: option 0: scheme \"upto\""),
        "{text}"
    );
    assert!(text.contains("option 4: extra.feePayer"), "{text}");
    // Self-paid only where enabled.
    let e = payer
        .prepare(
            &required(&[usdc(1, &key(9), "")]),
            &PrepareContext::new(Instant::now())
                .blockhash(bh(1))
                .host("evil.example"),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("self-paid payments are not enabled for host evil.example"),
        "{e}"
    );
    // An empty 402.
    assert_eq!(
        payer.prepare(&required(&[]), &ctx).unwrap_err().to_string(),
        "the 402 offers no payment options"
    );
    // Never echo an attacker's megabyte.
    let long = "x".repeat(10_000);
    let e = payer
        .prepare(&required(&[option(&long, "1", "a", "")]), &ctx)
        .unwrap_err();
    assert!(e.to_string().len() < 300, "{e}");
}

#[test]
fn preference_cheapest_across_decimals_or_as_offered() {
    let nine = key(50);
    let assets = |b: PayerBuilder| {
        b.asset(AssetConfig::usdc_mainnet())
            .asset(AssetConfig::known(nine, 9, TokenProgram::Token2022))
    };
    let req = required(&[
        usdc(2_000_000, &key(9), ""), // $2.00
        option(&nine.to_string(), "1000000000", &key(9).to_string(), ""), // 1.0 token
        usdc(3_000_000, &key(9), ""), // $3.00
    ]);
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let cheapest = assets(builder()).build().unwrap();
    let p = ready(cheapest.prepare(&req, &ctx));
    assert_eq!(p.requirement_index(), 1);
    assert_eq!(p.record().decimals, 9);
    assert_eq!(
        p.record().destination,
        sova_x402::associated_token_address(&key(9), &nine, &TOKEN_2022_PROGRAM_ID).to_string()
    );
    let offered = assets(builder())
        .preference(Preference::AsOffered)
        .build()
        .unwrap();
    assert_eq!(ready(offered.prepare(&req, &ctx)).requirement_index(), 0);
}

#[test]
fn unknown_mint_asks_for_account_info() {
    let mint = key(60);
    let payer = builder().asset(AssetConfig::new(mint)).build().unwrap();
    let req = required(&[option(&mint.to_string(), "5", &key(9).to_string(), "")]);
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let call = match payer.prepare(&req, &ctx).unwrap() {
        Prepared::NeedMintInfo(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(call.mint, mint);
    let mut data = vec![0u8; 82];
    data[44] = 2;
    data[45] = 1;
    let answer = format!(
        r#"{{"jsonrpc":"2.0","id":1,"result":{{"context":{{"slot":1}},"value":{{"data":["{}","base64"],"owner":"{TOKEN_2022_PROGRAM_ID}","lamports":1,"executable":false,"rentEpoch":0}}}}}}"#,
        b64::encode(&data)
    );
    let info = call.parse(answer.as_bytes()).unwrap();
    assert_eq!(
        info,
        MintInfo {
            mint,
            decimals: 2,
            program: TokenProgram::Token2022
        }
    );
    payer.mints().insert(info);
    let p = ready(payer.prepare(&req, &ctx));
    assert_eq!(p.record().decimals, 2);
}

#[test]
fn budget_reserved_before_signing_and_released_on_request() {
    // An asset without a budget is refused, so the second mint below has one of its own.
    let policy = Arc::new(
        SpendPolicy::builder()
            .budget(USDC_MAINNET, 25_000)
            .budget(key(51), 1_000_000_000)
            .build(),
    );
    let payer = builder().policy(Arc::clone(&policy)).build().unwrap();
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let req = required(&[usdc(10_000, &key(9), "")]);
    let a = ready(payer.prepare(&req, &ctx));
    let b = ready(payer.prepare(&req, &ctx));
    assert_eq!(policy.spent(&USDC_MAINNET), 20_000);
    let e = payer.prepare(&req, &ctx).unwrap_err();
    assert!(
        e.to_string()
            .contains("amount 10000 exceeds the remaining budget 5000 (spent 20000 of 25000"),
        "{e}"
    );
    let record = b.release();
    assert_eq!(record.amount, 10_000);
    assert_eq!(policy.spent(&USDC_MAINNET), 10_000);
    let c = ready(payer.prepare(&req, &ctx));
    drop(c); // dropped without a verdict: stays spent
    a.commit();
    assert_eq!(policy.spent(&USDC_MAINNET), 20_000);
    // When the cheapest option does not fit, a dearer one that fits another budget is paid.
    let nine = key(51);
    let payer = builder()
        .policy(Arc::clone(&policy))
        .asset(AssetConfig::usdc_mainnet())
        .asset(AssetConfig::known(nine, 6, TokenProgram::Token))
        .build()
        .unwrap();
    let req = required(&[
        usdc(10_000, &key(9), ""),
        option(&nine.to_string(), "20000", &key(9).to_string(), ""),
    ]);
    let p = ready(payer.prepare(&req, &ctx));
    assert_eq!(p.requirement_index(), 1);
}

#[test]
fn shapes_memos_and_records() {
    let payer = builder()
        .payload_shape_for_host("api.sova-intel.com", PayloadShape::Flat)
        .build()
        .unwrap();
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let req = required(&[usdc(15_000, &key(9), "")]);
    let hybrid = ready(payer.prepare(&req, &ctx));
    let decoded = PaymentPayload::decode(hybrid.header_value()).unwrap();
    assert_eq!(decoded.shape(), PayloadShape::Hybrid);
    assert_eq!(
        decoded.accepted.as_ref().unwrap().raw_json(),
        req.accepts[0].raw_json()
    );
    let flat = ready(payer.prepare(&req, &ctx.host("API.Sova-Intel.com:443")));
    let decoded = PaymentPayload::decode(flat.header_value()).unwrap();
    assert_eq!(decoded.shape(), PayloadShape::Flat);
    assert!(verify(&req, flat.header_value(), &VerifyOptions::default()).passed());
    let r = hybrid.record();
    assert_eq!(r.mode, PaymentMode::SelfPaid);
    assert_eq!(r.memo, r.nonce);
    assert_eq!(r.nonce.as_ref().unwrap().len(), 32);
    assert_eq!(r.payer, me().pubkey().to_string());
    assert_eq!(r.fee_payer, r.payer);
    let json = serde_json::to_string(r).unwrap();
    let back: sova_x402::PaymentRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, r);

    // A seller memo is written verbatim; repeated identical payments stay distinct.
    let fac = key(3);
    let sponsored = required(&[usdc(
        15_000,
        &key(9),
        &format!(r#","extra":{{"feePayer":"{fac}","memo":"order-42"}}"#),
    )]);
    let a = ready(payer.prepare(&sponsored, &ctx));
    let b = ready(payer.prepare(&sponsored, &ctx));
    assert_eq!(a.record().memo.as_deref(), Some("order-42"));
    // The nonce rides in the compute-unit limit, since the memo must be the seller's.
    assert!(a.record().nonce.as_deref().unwrap().starts_with("cu+"));
    assert_ne!(a.transaction(), b.transaction());
    assert!(verify(&sponsored, b.header_value(), &VerifyOptions::default()).passed());
}

#[test]
fn configuration_errors() {
    let e = Payer::builder()
        .self_paid(sova_x402::SelfPaid::Anywhere)
        .policy(Arc::new(SpendPolicy::unlimited()))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("no signer"), "{e}");
    let e = Payer::builder().signer(me()).build().unwrap_err();
    assert!(e.to_string().contains("no spend policy"), "{e}");
    let devnet = builder().network("solana-devnet").build().unwrap();
    assert_eq!(devnet.network(), networks::SOLANA_DEVNET);
}

/// A remote signer: not trusted, so its output is verified.
struct Remote {
    key: Keypair,
    corrupt: bool,
}

impl Signer for Remote {
    fn pubkey(&self) -> Pubkey {
        self.key.pubkey()
    }
    fn sign_message(&self, message: &[u8]) -> Result<solana_signature::Signature, SignerError> {
        let s = self.key.sign_message(message)?;
        if self.corrupt {
            let mut b = <[u8; 64]>::from(s);
            b[0] ^= 1;
            return Ok(b.into());
        }
        Ok(s)
    }
}

#[test]
fn remote_signers_are_checked() {
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let req = required(&[usdc(15_000, &key(9), "")]);
    let good = builder()
        .signer(Remote {
            key: me(),
            corrupt: false,
        })
        .build()
        .unwrap();
    assert!(
        verify(
            &req,
            ready(good.prepare(&req, &ctx)).header_value(),
            &VerifyOptions::default()
        )
        .passed()
    );
    let policy = Arc::new(SpendPolicy::unlimited());
    let bad = builder()
        .signer(Remote {
            key: me(),
            corrupt: true,
        })
        .policy(Arc::clone(&policy))
        .build()
        .unwrap();
    let e = bad.prepare(&req, &ctx).unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
    assert_eq!(
        policy.spent(&USDC_MAINNET),
        0,
        "the reservation was released"
    );
}

#[test]
fn reconciliation() {
    let payer = builder().build().unwrap();
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let own = ready(payer.prepare(&required(&[usdc(15_000, &key(9), "")]), &ctx));
    let r = own.record();
    let calls = r.reconcile_calls();
    let statuses = calls.statuses.clone().unwrap();
    assert_eq!(
        statuses,
        GetSignatureStatuses {
            signatures: vec![r.payer_signature.clone()]
        }
    );
    assert!(calls.signatures.is_none());
    let landed = statuses
        .parse(br#"{"result":{"value":[{"slot":48,"confirmations":null,"err":null,"confirmationStatus":"confirmed"}]}}"#)
        .unwrap();
    assert_eq!(
        r.reconcile(&Evidence {
            statuses: Some(&landed),
            ..Default::default()
        }),
        Reconciliation::Landed {
            signature: r.payer_signature.clone(),
            slot: 48
        }
    );
    let failed = statuses
        .parse(br#"{"result":{"value":[{"slot":48,"err":{"InstructionError":[2,{"Custom":1}]}}]}}"#)
        .unwrap();
    let out = r.reconcile(&Evidence {
        statuses: Some(&failed),
        ..Default::default()
    });
    assert!(matches!(out, Reconciliation::FailedOnChain { .. }) && out.safe_to_pay_again());
    let none = statuses.parse(br#"{"result":{"value":[null]}}"#).unwrap();
    let pending = r.reconcile(&Evidence {
        statuses: Some(&none),
        block_height: Some(1001),
        ..Default::default()
    });
    assert_eq!(pending, Reconciliation::Pending);
    assert!(!pending.safe_to_pay_again());
    let expired = r.reconcile(&Evidence {
        statuses: Some(&none),
        block_height: Some(1002),
        ..Default::default()
    });
    assert_eq!(expired, Reconciliation::Expired);

    // Sponsored: the id is the facilitator's; find the payment by its memo nonce.
    let fac = key(3);
    let sp = ready(payer.prepare(
        &required(&[usdc(
            15_000,
            &key(9),
            &format!(r#","extra":{{"feePayer":"{fac}"}}"#),
        )]),
        &ctx,
    ));
    let r = sp.record();
    let calls = r.reconcile_calls();
    assert!(calls.statuses.is_none());
    let by_address = calls.signatures.unwrap();
    assert_eq!(by_address.address.to_string(), r.source);
    let nonce = r.nonce.clone().unwrap();
    let list: Vec<SignatureInfo> = by_address
        .parse(
            format!(
                r#"{{"result":[{{"signature":"other","slot":1,"err":null,"memo":"[32] ffffffffffffffffffffffffffffffff"}},{{"signature":"ours","slot":7,"err":null,"memo":"[32] {nonce}"}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(
        r.reconcile(&Evidence {
            signatures: Some(&list),
            block_height: Some(5),
            ..Default::default()
        }),
        Reconciliation::Landed {
            signature: "ours".into(),
            slot: 7
        }
    );
    // Nothing found proves expiry only when the search reached the end of the history.
    assert_eq!(
        r.reconcile(&Evidence {
            signatures: Some(&list[..1]),
            signatures_complete: true,
            block_height: Some(5000),
            ..Default::default()
        }),
        Reconciliation::Expired
    );
    assert_eq!(
        r.reconcile(&Evidence {
            signatures: Some(&list[..1]),
            signatures_complete: false,
            block_height: Some(5000),
            ..Default::default()
        }),
        Reconciliation::Pending
    );
    // Exact matching: a memo that merely contains ours is another payment.
    let nonce = r.nonce.clone().unwrap();
    let lookalike: Vec<SignatureInfo> = by_address
        .parse(
            format!(
                r#"{{"result":[{{"signature":"x","slot":1,"err":null,"memo":"[34] {nonce}ab"}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(
        r.reconcile(&Evidence {
            signatures: Some(&lookalike),
            signatures_complete: true,
            block_height: Some(5000),
            ..Default::default()
        }),
        Reconciliation::Expired
    );
    // A full page asks for the next one, before its last signature.
    let page_at = |slot: u64| -> Vec<SignatureInfo> {
        let entries: Vec<String> = (0..sova_x402::SIGNATURE_PAGE)
            .map(|i| format!(r#"{{"signature":"s{i}","slot":{slot},"err":null}}"#))
            .collect();
        by_address
            .parse(format!(r#"{{"result":[{}]}}"#, entries.join(",")).as_bytes())
            .unwrap()
    };
    // A full page of entries newer than our blockhash's slot (500): read the next one.
    let full = page_at(600);
    assert!(!r.signature_search_complete(&full));
    let next = r.next_signature_page(&full, 1).unwrap();
    assert_eq!(next.before.as_deref(), Some("s99"));
    assert!(r.next_signature_page(&full[..10], 1).is_none());
    assert!(r.signature_search_complete(&full[..10]));
    assert!(
        r.next_signature_page(&full, sova_x402::MAX_SIGNATURE_PAGES)
            .is_none()
    );
    // A full page reaching back before our blockhash's slot ends the search.
    let old = page_at(400);
    assert!(r.signature_search_complete(&old));
    assert!(r.next_signature_page(&old, 1).is_none());

    // A seller memo cannot tell our payment from another to the same seller: a match is
    // never proof of anything, and never proof of absence either.
    let seller = ready(payer.prepare(
        &required(&[usdc(
            15_000,
            &key(9),
            &format!(r#","extra":{{"feePayer":"{fac}","memo":"order-7"}}"#),
        )]),
        &ctx,
    ));
    let shared: Vec<SignatureInfo> = by_address
        .parse(br#"{"result":[{"signature":"theirs","slot":3,"err":null,"memo":"[7] order-7"}]}"#)
        .unwrap();
    assert_eq!(
        seller.record().reconcile(&Evidence {
            signatures: Some(&shared),
            signatures_complete: true,
            block_height: Some(5000),
            ..Default::default()
        }),
        Reconciliation::Pending
    );
}

#[test]
fn memo_matching_is_exact() {
    use sova_x402::memo_matches;
    assert!(memo_matches("[4] abcd", "abcd"));
    assert!(memo_matches("abcd", "abcd"));
    assert!(memo_matches("[4] x; y; [4] abcd", "abcd"));
    assert!(memo_matches("[4] a; b", "a; b"));
    assert!(!memo_matches("[5] abcde", "abcd"));
    assert!(!memo_matches("[4] xabcd", "abcd"));
    assert!(!memo_matches("[99] abcd", "abcd"));
    assert!(!memo_matches("", "abcd"));
}

#[test]
fn payment_identifier_is_echoed_with_an_id() {
    let payer = builder().build().unwrap();
    let ctx = PrepareContext::new(Instant::now()).blockhash(bh(1));
    let json = format!(
        r#"{{"x402Version":2,"accepts":[{}],"extensions":{{"payment-identifier":{{"info":{{"required":false}}}}}}}}"#,
        usdc(15_000, &key(9), "")
    );
    let req = PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap();
    let p = ready(payer.prepare(&req, &ctx));
    let id = p.record().payment_id.clone().unwrap();
    assert!(id.starts_with("pay_") && id.len() == 36, "{id}");
    let sent = PaymentPayload::decode(p.header_value()).unwrap();
    let ext = sent.extensions.unwrap().to_value();
    assert_eq!(ext["payment-identifier"]["info"]["id"], id.as_str());
    assert_eq!(ext["payment-identifier"]["info"]["required"], false);
    // Without the extension advertised, nothing is added.
    let plain = ready(payer.prepare(&required(&[usdc(15_000, &key(9), "")]), &ctx));
    assert_eq!(plain.record().payment_id, None);
}

/// The payload of a header, whether its transaction is a legacy message, and its
/// instruction count.
fn form_of(header: &str) -> (PaymentPayload, bool, usize) {
    let payload = PaymentPayload::decode(header).unwrap();
    let bytes = b64::decode(&payload.payload.transaction).unwrap();
    let tx = sova_x402::wire::parse(&bytes).unwrap();
    (payload, !tx.versioned, tx.instructions.len())
}

/// Sova Intel hosts get what Sova documents: self-paid, a legacy message with one
/// `TransferChecked`, the flat payload. Other hosts keep today's defaults, and self-paid
/// payments are refused for them unless enabled.
#[test]
fn sova_hosts_get_the_documented_form_by_default() {
    let payer = Payer::builder()
        .signer(me())
        .policy(Arc::new(SpendPolicy::unlimited()))
        .sova_host("http://127.0.0.1:8080/api/v1")
        .build()
        .unwrap();
    let req = required(&[usdc(15_000, &key(9), "")]);
    for (i, host) in ["api.sova-intel.com", "API.Sova-Intel.com:443", "127.0.0.1"]
        .into_iter()
        .enumerate()
    {
        let ctx = PrepareContext::new(Instant::now())
            .blockhash(bh(10 + i as u8))
            .host(host);
        let p = ready(payer.prepare(&req, &ctx));
        assert_eq!(p.shape(), PayloadShape::Flat, "{host}");
        assert_eq!(p.record().mode, PaymentMode::Minimal, "{host}");
        assert_eq!(p.record().memo, None, "{host}: no memo unless needed");
        let (payload, legacy, n) = form_of(p.header_value());
        assert!(payload.accepted.is_none(), "{host}: flat");
        assert_eq!(payload.scheme.as_deref(), Some("exact"));
        assert!(legacy, "{host}");
        assert_eq!(n, 1, "{host}: one TransferChecked");
    }
    // A sponsored option (Sova documents none) keeps the general default shape.
    let sponsored = required(&[usdc(
        15_000,
        &key(9),
        &format!(r#","extra":{{"feePayer":"{}"}}"#, key(30)),
    )]);
    let ctx = PrepareContext::new(Instant::now())
        .blockhash(bh(20))
        .host("api.sova-intel.com");
    let p = ready(payer.prepare(&sponsored, &ctx));
    assert_eq!(p.record().mode, PaymentMode::Sponsored);
    assert_eq!(p.shape(), PayloadShape::Hybrid);
    // Another host: no fee payer offered, and self-paid is not enabled there.
    let ctx = PrepareContext::new(Instant::now())
        .blockhash(bh(2))
        .host("x402.example.com");
    match payer.prepare(&req, &ctx).unwrap_err() {
        Error::Refused(r) => assert!(
            matches!(&r[0].reason, RefusalReason::SelfPaidNotAllowed { host } if host.contains("x402.example.com")),
            "{r:?}"
        ),
        e => panic!("{e}"),
    }
    // Opted in: today's defaults (v0 with a Memo nonce, hybrid payload).
    let anywhere = Payer::builder()
        .signer(me())
        .policy(Arc::new(SpendPolicy::unlimited()))
        .self_paid(SelfPaid::Anywhere)
        .build()
        .unwrap();
    let p = ready(anywhere.prepare(&req, &ctx));
    assert_eq!(p.shape(), PayloadShape::Hybrid);
    assert_eq!(p.record().mode, PaymentMode::SelfPaid);
    assert!(p.record().memo.is_some());
    assert!(!form_of(p.header_value()).1, "v0");
}

/// Only an identical earlier payment over the same blockhash adds the nonce: a new
/// blockhash or another amount gives the bare documented transaction again.
#[test]
fn the_documented_form_adds_a_nonce_only_when_needed() {
    let payer = Payer::builder()
        .signer(Keypair::from_seed([78; 32])) // a wallet of its own
        .policy(Arc::new(SpendPolicy::unlimited()))
        .nonce_source(Arc::new(SeededNonce::new(3)))
        .build()
        .unwrap();
    let host = "api.sova-intel.com";
    let at = |b: u8| {
        PrepareContext::new(Instant::now())
            .blockhash(bh(b))
            .host(host)
    };
    let first = ready(payer.prepare(&required(&[usdc(15_000, &key(9), "")]), &at(1)));
    assert_eq!(form_of(first.header_value()).2, 1);
    assert_eq!(first.record().nonce, None);
    let second = ready(payer.prepare(&required(&[usdc(15_000, &key(9), "")]), &at(1)));
    let (_, legacy, n) = form_of(second.header_value());
    assert!(legacy);
    assert_eq!(n, 2, "TransferChecked and a Memo nonce");
    assert!(second.record().nonce.is_some());
    assert_eq!(second.record().memo, second.record().nonce);
    assert_ne!(
        first.record().payer_signature,
        second.record().payer_signature
    );
    let other_amount = ready(payer.prepare(&required(&[usdc(30_000, &key(9), "")]), &at(1)));
    assert_eq!(form_of(other_amount.header_value()).2, 1);
    let other_hash = ready(payer.prepare(&required(&[usdc(15_000, &key(9), "")]), &at(2)));
    assert_eq!(form_of(other_hash.header_value()).2, 1);
    // Reconciliation looks the payment up by our own signature either way.
    for p in [&first, &second] {
        let calls = p.record().reconcile_calls();
        assert!(calls.statuses.is_some(), "looked up by signature");
    }
}

/// Explicit settings win over the per-host defaults; a learnt fallback wins over both.
#[test]
fn explicit_settings_and_the_learnt_fallback() {
    let payer = Payer::builder()
        .signer(me())
        .policy(Arc::new(SpendPolicy::unlimited()))
        .self_paid(SelfPaid::Anywhere)
        .payload_shape(PayloadShape::Spec)
        .self_paid_layout(sova_x402::SelfPaidLayout::Standard)
        .build()
        .unwrap();
    let req = required(&[usdc(15_000, &key(9), "")]);
    let ctx = PrepareContext::new(Instant::now())
        .blockhash(bh(1))
        .host("api.sova-intel.com");
    let p = ready(payer.prepare(&req, &ctx));
    assert_eq!(p.shape(), PayloadShape::Spec);
    assert_eq!(p.record().mode, PaymentMode::SelfPaid);
    // One call may ask for the documented form.
    let p = ready(payer.prepare(&req, &ctx.documented_form(true)));
    assert_eq!(p.shape(), PayloadShape::Flat);
    assert_eq!(p.record().mode, PaymentMode::Minimal);
    // Remembered per host.
    let other = PrepareContext::new(Instant::now())
        .blockhash(bh(2))
        .host("x402.example.com");
    assert_eq!(
        ready(payer.prepare(&req, &other)).shape(),
        PayloadShape::Spec
    );
    payer.remember_documented_form("X402.example.com:443");
    assert!(payer.remembers_documented_form("x402.example.com"));
    let p = ready(payer.prepare(&req, &other));
    assert_eq!(p.shape(), PayloadShape::Flat);
    assert_eq!(p.record().mode, PaymentMode::Minimal);
    assert_eq!(
        payer.shape_for(Some("api.sova-intel.com")),
        PayloadShape::Spec
    );
}

/// `MinimalNonce`: the documented legacy transaction with a Memo nonce on every payment, for
/// payers that cannot see each other's signatures (two processes, one wallet).
#[test]
fn minimal_nonce_is_unique_across_payers() {
    let make = |seed| {
        Payer::builder()
            .signer(Keypair::from_seed([79; 32])) // a wallet of its own
            .policy(Arc::new(SpendPolicy::unlimited()))
            .nonce_source(Arc::new(SeededNonce::new(seed)))
            .self_paid_layout(sova_x402::SelfPaidLayout::MinimalNonce)
            .build()
            .unwrap()
    };
    let req = required(&[usdc(15_000, &key(9), "")]);
    let ctx = PrepareContext::new(Instant::now())
        .blockhash(bh(1))
        .host("api.sova-intel.com");
    let a = ready(make(1).prepare(&req, &ctx));
    let b = ready(make(2).prepare(&req, &ctx));
    for p in [&a, &b] {
        assert_eq!(p.record().mode, PaymentMode::Minimal);
        assert!(form_of(p.header_value()).1, "legacy");
        assert_eq!(form_of(p.header_value()).2, 2, "TransferChecked and a Memo");
    }
    assert_ne!(a.record().payer_signature, b.record().payer_signature);
    // Two payers of one process on one wallet see each other's documented payments: the
    // second identical transfer gets a Memo nonce instead of repeating the first.
    let plain = |_: u8| {
        Payer::builder()
            .signer(Keypair::from_seed([79; 32])) // a wallet of its own
            .policy(Arc::new(SpendPolicy::unlimited()))
            .build()
            .unwrap()
    };
    let x = ready(plain(1).prepare(&req, &ctx));
    let y = ready(plain(2).prepare(&req, &ctx));
    assert_eq!(x.record().memo, None);
    assert!(y.record().memo.is_some(), "the second payer adds a nonce");
    assert_ne!(x.record().payer_signature, y.record().payer_signature);
}
