//! Single-field mutations of a valid payment (amount, mint, destination, token program,
//! signer, fee payer), re-signed so that only the mutated field is wrong, are rejected by
//! the verifier; so is any flipped byte. Case counts honour `PROPTEST_CASES`.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;
use solana_hash::Hash;
use solana_message::VersionedMessage;
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use sova_protocol::x402::{PayloadShape, PaymentPayload, PaymentRequired, b64, networks};
use sova_x402::programs::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, USDC_MAINNET};
use sova_x402::{
    Keypair, LatestBlockhash, Payer, PrepareContext, SeededNonce, SelfPaidLayout, Signer,
    SpendPolicy, VerifyOptions, verify,
};

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Amount,
    Mint,
    Destination,
    Program,
    Signer,
    FeePayer,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Sponsored,
    SelfPaid,
    Minimal,
}

fn keys_mut(m: &mut VersionedMessage) -> &mut Vec<Pubkey> {
    match m {
        VersionedMessage::Legacy(l) => &mut l.account_keys,
        VersionedMessage::V0(v) => &mut v.account_keys,
        _ => unreachable!(),
    }
}

fn instructions_mut(
    m: &mut VersionedMessage,
) -> &mut Vec<solana_message::compiled_instruction::CompiledInstruction> {
    match m {
        VersionedMessage::Legacy(l) => &mut l.instructions,
        VersionedMessage::V0(v) => &mut v.instructions,
        _ => unreachable!(),
    }
}

struct Case {
    req: PaymentRequired,
    tx: VersionedTransaction,
    payer: Keypair,
}

fn valid_payment(mode: Mode, amount: u64, pay_to: [u8; 32], seed: u8) -> Case {
    let payer_seed = [seed | 1; 32];
    let fee_payer = Pubkey::new_from_array([0xfe; 32]);
    let extra = match mode {
        Mode::Sponsored => format!(r#","extra":{{"feePayer":"{fee_payer}"}}"#),
        _ => String::new(),
    };
    let json = format!(
        r#"{{"x402Version":2,"accepts":[{{"scheme":"exact","network":"{}","asset":"{USDC_MAINNET}","amount":"{amount}","payTo":"{}","maxTimeoutSeconds":60{extra}}}]}}"#,
        networks::SOLANA_MAINNET,
        Pubkey::new_from_array(pay_to)
    );
    let req = PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap();
    let payer = Payer::builder()
        .self_paid(sova_x402::SelfPaid::Anywhere)
        .signer(Keypair::from_seed(payer_seed))
        .policy(Arc::new(SpendPolicy::unlimited()))
        .self_paid_layout(if matches!(mode, Mode::Minimal) {
            SelfPaidLayout::Minimal
        } else {
            SelfPaidLayout::Standard
        })
        .nonce_source(Arc::new(SeededNonce::new(u64::from(seed))))
        .build()
        .unwrap();
    let ctx = PrepareContext::new(Instant::now())
        .blockhash(LatestBlockhash::new(Hash::new_from_array([seed | 1; 32])));
    let p = payer.prepare(&req, &ctx).unwrap().ready().unwrap();
    let tx: VersionedTransaction = wincode::deserialize(p.transaction()).unwrap();
    Case {
        req,
        tx,
        payer: Keypair::from_seed(payer_seed),
    }
}

fn header(case: &Case, tx: &VersionedTransaction) -> String {
    let bytes = wincode::serialize(tx).unwrap();
    PaymentPayload::new(Some(&case.req), &case.req.accepts[0], b64::encode(&bytes))
        .encode(PayloadShape::Hybrid)
}

/// Re-signs every non-empty slot whose key we hold, so that signatures stay valid.
fn resign(tx: &mut VersionedTransaction, signers: &[&Keypair]) {
    let message = tx.message.serialize();
    let keys = tx.message.static_account_keys().to_vec();
    for (i, sig) in tx.signatures.iter_mut().enumerate() {
        if let Some(k) = signers.iter().find(|k| k.pubkey() == keys[i]) {
            *sig = k.sign_message(&message).unwrap();
        }
    }
}

fn transfer_index(tx: &VersionedTransaction) -> usize {
    let keys = tx.message.static_account_keys();
    tx.message
        .instructions()
        .iter()
        .position(|ix| {
            let p = keys[usize::from(ix.program_id_index)];
            (p == TOKEN_PROGRAM_ID || p == TOKEN_2022_PROGRAM_ID) && ix.data.first() == Some(&12)
        })
        .unwrap()
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Sponsored),
        Just(Mode::SelfPaid),
        Just(Mode::Minimal)
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Amount),
        Just(Mutation::Mint),
        Just(Mutation::Destination),
        Just(Mutation::Program),
        Just(Mutation::Signer),
        Just(Mutation::FeePayer),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/prop_mutations.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn single_field_mutations_are_rejected(
        mode in mode(),
        mutation in mutation(),
        amount in 1u64..u64::MAX,
        delta in 1u64..u64::MAX,
        pay_to in any::<[u8; 32]>(),
        fresh in any::<[u8; 32]>(),
        seed in any::<u8>(),
    ) {
        let case = valid_payment(mode, amount, pay_to, seed);
        let original = header(&case, &case.tx);
        prop_assert!(verify(&case.req, &original, &VerifyOptions::default()).passed());

        let mut tx = case.tx.clone();
        let t = transfer_index(&tx);
        let ix = tx.message.instructions()[t].clone();
        let new_key = Keypair::from_seed(fresh);
        let mut signers: Vec<&Keypair> = vec![&case.payer];
        let expect: &[&str] = match mutation {
            Mutation::Amount => {
                let data = &mut instructions_mut(&mut tx.message)[t].data;
                let v = amount.wrapping_add(delta);
                data[1..9].copy_from_slice(&v.to_le_bytes());
                &["amount"]
            }
            Mutation::Mint => {
                keys_mut(&mut tx.message)[usize::from(ix.accounts[1])] = new_key.pubkey();
                &["mint"]
            }
            Mutation::Destination => {
                keys_mut(&mut tx.message)[usize::from(ix.accounts[2])] = new_key.pubkey();
                &["destination"]
            }
            Mutation::Program => {
                let p = usize::from(ix.program_id_index);
                let keys = keys_mut(&mut tx.message);
                keys[p] = if keys[p] == TOKEN_PROGRAM_ID { TOKEN_2022_PROGRAM_ID } else { TOKEN_PROGRAM_ID };
                &["token_program", "destination"]
            }
            Mutation::Signer => {
                keys_mut(&mut tx.message)[usize::from(ix.accounts[3])] = new_key.pubkey();
                signers.push(&new_key);
                &["source"]
            }
            Mutation::FeePayer => {
                keys_mut(&mut tx.message)[0] = new_key.pubkey();
                signers.push(&new_key);
                match mode {
                    Mode::Sponsored => &["fee_payer"],
                    _ => &["source"],
                }
            }
        };
        resign(&mut tx, &signers);
        let mutated = header(&case, &tx);
        let report = verify(&case.req, &mutated, &VerifyOptions::default());
        prop_assert!(!report.passed(), "{mutation:?} in {mode:?} was accepted");
        for name in expect {
            prop_assert!(report.get(name).is_some_and(|c| !c.passed), "{mutation:?}: {name} did not fail: {report}");
        }
        prop_assert!(report.get("signatures").is_some_and(|c| c.passed), "re-signing kept signatures valid: {report}");
        // Pre-flight for this payer also names the payer.
        let ours = VerifyOptions::default().expected_payer(case.payer.pubkey());
        prop_assert!(!verify(&case.req, &mutated, &ours).passed());
    }

    #[test]
    fn any_flipped_byte_is_rejected(
        mode in mode(),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
        seed in any::<u8>(),
    ) {
        let case = valid_payment(mode, 15_000, [3; 32], seed);
        let mut bytes = wincode::serialize(&case.tx).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let h = PaymentPayload::new(Some(&case.req), &case.req.accepts[0], b64::encode(&bytes)).encode(PayloadShape::Hybrid);
        prop_assert!(!verify(&case.req, &h, &VerifyOptions::default()).passed(), "flip at {i} accepted");
    }

    #[test]
    fn arbitrary_headers_never_panic(s in ".{0,400}", bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let case = valid_payment(Mode::SelfPaid, 1, [3; 32], 1);
        let _ = verify(&case.req, &s, &VerifyOptions::default());
        let h = PaymentPayload::new(Some(&case.req), &case.req.accepts[0], b64::encode(&bytes)).encode(PayloadShape::Flat);
        prop_assert!(!verify(&case.req, &h, &VerifyOptions::default()).passed());
    }
}
