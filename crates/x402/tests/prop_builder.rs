//! Property tests of the payer. Case counts come from `ProptestConfig::default()`, which
//! honours `PROPTEST_CASES`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use solana_hash::Hash;
use solana_pubkey::Pubkey;
use sova_protocol::x402::{PayloadShape, PaymentRequired, b64, networks};
use sova_x402::programs::USDC_MAINNET;
use sova_x402::{
    AssetConfig, Error, Keypair, LatestBlockhash, MintRegistry, Payer, PrepareContext, Prepared,
    SeededNonce, SelfPaidLayout, SpendPolicy, TokenProgram, VerifyOptions, verify,
};

const OTHER_MINT: Pubkey = Pubkey::from_str_const("Fe2mhtmp2SLd2YjM8gWdCaxTjhFozkcXzdvJq3aXiYdY");

fn me() -> Keypair {
    Keypair::from_seed([7; 32])
}

fn pubkey_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<[u8; 32]>().prop_map(|b| Pubkey::new_from_array(b).to_string()),
        1 => "[1-9A-HJ-NP-Za-km-z]{0,50}",
        1 => ".{0,12}",
        1 => Just(me().pubkey().to_string()),
    ]
}

fn asset() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(USDC_MAINNET.to_string()),
        2 => Just(OTHER_MINT.to_string()),
        1 => pubkey_text(),
    ]
}

fn amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => any::<u64>().prop_map(|a| Value::from(a.to_string())),
        2 => (0u64..1_000_000).prop_map(|a| Value::from(a.to_string())),
        1 => any::<u64>().prop_map(Value::from),
        1 => prop_oneof![Just("-1"), Just("1.5"), Just(""), Just("18446744073709551616"), Just("0x10")].prop_map(Value::from),
    ]
}

fn extra() -> impl Strategy<Value = Option<Value>> {
    let fee_payer = prop_oneof![
        3 => Just(None),
        3 => pubkey_text().prop_map(|s| Some(Value::from(s))),
        1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
    ];
    let memo = prop_oneof![
        3 => Just(None),
        2 => ".{0,40}".prop_map(|s| Some(Value::from(s))),
        1 => (250usize..270).prop_map(|n| Some(Value::from("é".repeat(n / 2)))),
        1 => Just(Some(Value::from(5))),
    ];
    let blockhash = prop_oneof![
        3 => Just(None),
        2 => any::<[u8; 32]>().prop_map(|b| Some(Value::from(Hash::new_from_array(b).to_string()))),
        1 => ".{0,50}".prop_map(|s| Some(Value::from(s))),
    ];
    let height = prop_oneof![
        Just(None),
        any::<u64>().prop_map(|h| Some(Value::from(h.to_string()))),
        Just(Some(Value::from(-3)))
    ];
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::from("not an object"))),
        4 => (fee_payer, memo, blockhash, height).prop_map(|(f, m, b, h)| {
            let mut o = Map::new();
            for (k, v) in [("feePayer", f), ("memo", m), ("recentBlockhash", b), ("lastValidBlockHeight", h)] {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            }
            o.insert("unknown".into(), json!({"nested": [1, 2]}));
            Some(Value::Object(o))
        }),
    ]
}

fn requirement() -> impl Strategy<Value = Value> {
    (
        prop_oneof![8 => Just("exact".to_owned()), 1 => "[a-z]{0,6}"],
        prop_oneof![8 => Just(networks::SOLANA_MAINNET.to_owned()), 1 => Just("solana".to_owned()), 1 => ".{0,20}"],
        asset(),
        amount(),
        prop_oneof![5 => any::<[u8; 32]>().prop_map(|b| Pubkey::new_from_array(b).to_string()), 1 => pubkey_text()],
        extra(),
    )
        .prop_map(|(scheme, network, asset, amount, pay_to, extra)| {
            let mut o = json!({"scheme": scheme, "network": network, "asset": asset, "amount": amount, "payTo": pay_to, "maxTimeoutSeconds": 60});
            if let (Some(x), Some(obj)) = (extra, o.as_object_mut()) {
                obj.insert("extra".into(), x);
            }
            o
        })
}

#[derive(Debug, Clone)]
struct Config {
    minimal: bool,
    create_ata: bool,
    shape: PayloadShape,
    unit_limit: u32,
    unit_price: u64,
    cap: Option<u64>,
    other_decimals: u8,
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.25),
        prop_oneof![
            Just(PayloadShape::Hybrid),
            Just(PayloadShape::Spec),
            Just(PayloadShape::Flat)
        ],
        prop_oneof![Just(20_000u32), any::<u32>()],
        prop_oneof![Just(1u64), any::<u64>()],
        prop::option::of(any::<u64>()),
        0u8..=12,
    )
        .prop_map(
            |(minimal, create_ata, shape, unit_limit, unit_price, cap, other_decimals)| Config {
                minimal,
                create_ata,
                shape,
                unit_limit,
                unit_price,
                cap,
                other_decimals,
            },
        )
}

fn payer(cfg: &Config, mints: Arc<MintRegistry>) -> Payer {
    // The builder's output is under test, not budgets: no asset is refused as uncapped.
    let mut policy = SpendPolicy::builder().allow_uncapped_assets();
    if let Some(cap) = cfg.cap {
        policy = policy.max_per_payment(USDC_MAINNET, cap);
    }
    Payer::builder()
        .self_paid(sova_x402::SelfPaid::Anywhere)
        .signer(me())
        .policy(Arc::new(policy.build()))
        .mints(mints)
        .asset(AssetConfig::usdc_mainnet())
        .asset(AssetConfig::known(
            OTHER_MINT,
            cfg.other_decimals,
            TokenProgram::Token2022,
        ))
        .self_paid_layout(if cfg.minimal {
            SelfPaidLayout::Minimal
        } else {
            SelfPaidLayout::Standard
        })
        .create_recipient_ata(cfg.create_ata)
        .payload_shape(cfg.shape)
        .compute_unit_limit(cfg.unit_limit)
        .compute_unit_price(cfg.unit_price)
        .nonce_source(Arc::new(SeededNonce::new(3)))
        .build()
        .unwrap()
}

fn required(accepts: Vec<Value>) -> Option<PaymentRequired> {
    let doc = json!({"x402Version": 2, "accepts": accepts});
    PaymentRequired::decode_header(&b64::encode(doc.to_string().as_bytes())).ok()
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/prop_builder.txt"))),
        ..ProptestConfig::default()
    })]

    /// Arbitrary requirements never panic the payer, and whatever it produces passes the
    /// verifier (with signatures checked).
    #[test]
    fn builder_never_panics_and_output_verifies(
        accepts in prop::collection::vec(requirement(), 1..4),
        cfg in config(),
        hash in any::<[u8; 32]>(),
    ) {
        let Some(req) = required(accepts) else { return Ok(()) };
        let mints = Arc::new(MintRegistry::new());
        let payer = payer(&cfg, Arc::clone(&mints));
        let ctx = PrepareContext::new(Instant::now())
            .blockhash(LatestBlockhash::new(Hash::new_from_array(hash)));
        match payer.prepare(&req, &ctx) {
            Ok(Prepared::Ready(p)) => {
                let report = verify(&req, p.header_value(), &VerifyOptions::default().mints(mints));
                prop_assert!(report.passed(), "{report}");
                prop_assert_eq!(p.record().amount, p.requirement().amount.0);
            }
            Ok(other) => prop_assert!(false, "unexpected {other:?}"),
            Err(Error::Refused(r)) => prop_assert!(!r.is_empty() || req.accepts.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    /// No two payments from one payer are identical, even for the same requirement and
    /// blockhash; the minimal layout refuses instead of repeating itself.
    #[test]
    fn no_two_payments_identical(
        amount in 0u64..1_000_000,
        pay_to in any::<[u8; 32]>(),
        sponsored in any::<bool>(),
        seller_memo in prop::option::of("[a-z0-9]{1,20}"),
        cfg in config(),
    ) {
        let mut extra = Map::new();
        if sponsored {
            extra.insert("feePayer".into(), Value::from(Pubkey::new_from_array([0xfe; 32]).to_string()));
        }
        if let Some(m) = &seller_memo {
            extra.insert("memo".into(), Value::from(m.as_str()));
        }
        let cfg = Config { cap: None, ..cfg };
        let one = json!({"scheme": "exact", "network": networks::SOLANA_MAINNET, "asset": USDC_MAINNET.to_string(),
            "amount": amount.to_string(), "payTo": Pubkey::new_from_array(pay_to).to_string(), "maxTimeoutSeconds": 60, "extra": extra});
        let req = required(vec![one]).unwrap();
        let payer = payer(&cfg, Arc::new(MintRegistry::new()));
        let ctx = PrepareContext::new(Instant::now()).blockhash(LatestBlockhash::new(Hash::new_from_array([9; 32])));
        let mut seen = HashSet::new();
        for _ in 0..6 {
            match payer.prepare(&req, &ctx) {
                Ok(Prepared::Ready(p)) => {
                    prop_assert!(seen.insert(p.transaction().to_vec()), "identical transaction produced");
                }
                Err(Error::Duplicate { .. }) => {}
                Err(Error::Refused(r)) => {
                    // Only the minimal layout with a seller memo, or a limit at the clamp
                    // that cannot be bumped, refuses here.
                    prop_assert!(cfg.minimal && seller_memo.is_some() && !sponsored, "{r:?}");
                    break;
                }
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
