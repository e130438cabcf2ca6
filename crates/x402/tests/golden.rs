//! Golden vectors: fixed keys, blockhash and nonce → exact transaction bytes for every
//! layout, checked byte by byte against the reference layout (`x402-solana.md` §3.2, §3.6,
//! §3.7). A change in any byte fails here first.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use solana_hash::Hash;
use solana_message::VersionedMessage;
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use sova_protocol::x402::{
    PayloadShape, PaymentPayload, PaymentRequired, PaymentRequirements, b64, networks,
};
use sova_x402::programs::*;
use sova_x402::tx::{ComputeBudget, Layout, PaymentSpec, build_payment};
use sova_x402::{Keypair, MintInfo, VerifyOptions, associated_token_address, nonce_hex, verify};

fn payer() -> Keypair {
    Keypair::from_seed([0x11; 32])
}
fn facilitator() -> Keypair {
    Keypair::from_seed([0x22; 32])
}
fn pay_to() -> Pubkey {
    Keypair::from_seed([0x33; 32]).pubkey()
}
const BLOCKHASH: &str = "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N";
const NONCE: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];
const AMOUNT: u64 = 15_000;

fn blockhash() -> Hash {
    BLOCKHASH.parse().unwrap()
}

fn spec(layout: Layout) -> PaymentSpec {
    PaymentSpec {
        layout,
        mint: MintInfo::USDC_MAINNET,
        amount: AMOUNT,
        pay_to: pay_to(),
        memo: (layout != Layout::Minimal).then(|| nonce_hex(&NONCE)),
        compute_budget: (layout != Layout::Minimal).then(ComputeBudget::default),
        create_recipient_ata: false,
        blockhash: blockhash(),
    }
}

const SPONSORED_B64: &str = "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACywId0Ns08HoowMkX/6ijkqMbSVzPhNB0v7BQ9+HAsSn6mvW4URiClw+h3eY90lfAgR2/2X6hPtRbckiUf2l8NgAIBBAigmqX0emdZgC/5VfjcLSoUpcmdI76X+GQSf/k4NFWk8NBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3aVF+05B+w35/adeTzdUGSa5tplHFq1i8mwBcuddEgsa4Xgy8UlYLENKqgOTV4vaZ2uGX01C9BqZ3eXvXbVKO6AMGRm/lIRcy/+ytunLDm+e8jOW7xfcSayxDmzpAAAAABUpTWpkpIQZNJOhxYNo4fHw1td28kruB5B+oQEEFRI0G3fbh12Whk9nL4UbO63msHLSF7V9bN5E6jPWFfv8Aqcb6evO+2606PWXzaqvJdDGxu+TC0vbg5HymAgNFL11hzEkOkozS44c7s0P8ldozF5ymD02/RsLDbpEpnVXU5rkEBAAFAiBOAAAEAAkDAQAAAAAAAAAGBAMHAgEKDJg6AAAAAAAABgUAIDAwMTEyMjMzNDQ1NTY2Nzc4ODk5YWFiYmNjZGRlZWZmAA==";
const SELF_PAID_B64: &str = "AeS87EGGvFRRrno9kp0LHo2R3WH4A7x4rGkH4dCzVMmLq71Bw5BAXSnajOVhFAzF0CML2yXFA3m6TqQX9HgG+gCAAQAEB9BKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3aVF+05B+w35/adeTzdUGSa5tplHFq1i8mwBcuddEgsa4Xgy8UlYLENKqgOTV4vaZ2uGX01C9BqZ3eXvXbVKO6AMGRm/lIRcy/+ytunLDm+e8jOW7xfcSayxDmzpAAAAABUpTWpkpIQZNJOhxYNo4fHw1td28kruB5B+oQEEFRI0G3fbh12Whk9nL4UbO63msHLSF7V9bN5E6jPWFfv8Aqcb6evO+2606PWXzaqvJdDGxu+TC0vbg5HymAgNFL11hzEkOkozS44c7s0P8ldozF5ymD02/RsLDbpEpnVXU5rkEAwAFAiBOAAADAAkDAQAAAAAAAAAFBAIGAQAKDJg6AAAAAAAABgQAIDAwMTEyMjMzNDQ1NTY2Nzc4ODk5YWFiYmNjZGRlZWZmAA==";
const MINIMAL_B64: &str = "AUNxrMOkoavS300AVIZG47cCQnM7HUjG9Ja+QI2q1RbnEBthGgNr2zQxSBOjAmyLvTLwV1153zBirEPGM/Xg1gMBAAIF0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzdpUX7TkH7Dfn9p15PN1QZJrm2mUcWrWLybAFy510SCxrheDLxSVgsQ0qqA5NXi9pna4ZfTUL0Gpnd5e9dtUo7oBt324ddloZPZy+FGzut5rBy0he1fWzeROoz1hX7/AKnG+nrzvtutOj1l82qryXQxsbvkwtL24OR8pgIDRS9dYcxJDpKM0uOHO7ND/JXaMxecpg9Nv0bCw26RKZ1V1Oa5AQMEAgQBAAoMmDoAAAAAAAAG";
const SPONSORED_HEADER_HYBRID: &str = "eyJ4NDAyVmVyc2lvbiI6Miwic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoic29sYW5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwicmVzb3VyY2UiOnsidXJsIjoiaHR0cHM6Ly9hcGkuZXhhbXBsZS5jb20veCJ9LCJhY2NlcHRlZCI6eyJzY2hlbWUiOiJleGFjdCIsIm5ldHdvcmsiOiJzb2xhbmE6NWV5a3Q0VXNGdjhQOE5KZFRSRXBZMXZ6cUtxWkt2ZHAiLCJhbW91bnQiOiIxNTAwMCIsImFzc2V0IjoiRVBqRldkZDVBdWZxU1NxZU0ycU4xeHp5YmFwQzhHNHdFR0drWnd5VER0MXYiLCJwYXlUbyI6IjJidExKQUFiMVMzeDZoWllkVnlBZVBqcXRRWWkyWkJTUkd5NDU2OVJadThoIiwibWF4VGltZW91dFNlY29uZHMiOjYwLCJleHRyYSI6eyJmZWVQYXllciI6IkJvdzFDR0tHREI5bU54ZVdkdzg1RTJhQ3RoUTFvWlg0b0ZFZTdmWVQxN2V3IiwidW5rbm93bktleSI6WzEsMl19fSwicGF5bG9hZCI6eyJ0cmFuc2FjdGlvbiI6IkFnQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQ3l3SWQwTnMwOEhvb3dNa1gvNmlqa3FNYlNWelBoTkIwdjdCUTkrSEFzU242bXZXNFVSaUNsdytoM2VZOTBsZkFnUjIvMlg2aFB0UmJja2lVZjJsOE5nQUlCQkFpZ21xWDBlbWRaZ0MvNVZmamNMU29VcGNtZEk3NlgrR1FTZi9rNE5GV2s4TkJLc2pKMEs3U3JPaE5vdlVZVjVPYlFJa3EzR2dGcnI0VWdvekxKZDRjM2FWRiswNUIrdzM1L2FkZVR6ZFVHU2E1dHBsSEZxMWk4bXdCY3VkZEVnc2E0WGd5OFVsWUxFTktxZ09UVjR2YVoydUdYMDFDOUJxWjNlWHZYYlZLTzZBTUdSbS9sSVJjeS8reXR1bkxEbStlOGpPVzd4ZmNTYXl4RG16cEFBQUFBQlVwVFdwa3BJUVpOSk9oeFlObzRmSHcxdGQyOGtydUI1QitvUUVFRlJJMEczZmJoMTJXaGs5bkw0VWJPNjNtc0hMU0Y3VjliTjVFNmpQV0ZmdjhBcWNiNmV2TysyNjA2UFdYemFxdkpkREd4dStUQzB2Ymc1SHltQWdORkwxMWh6RWtPa296UzQ0YzdzMFA4bGRvekY1eW1EMDIvUnNMRGJwRXBuVlhVNXJrRUJBQUZBaUJPQUFBRUFBa0RBUUFBQUFBQUFBQUdCQU1IQWdFS0RKZzZBQUFBQUFBQUJnVUFJREF3TVRFeU1qTXpORFExTlRZMk56YzRPRGs1WVdGaVltTmpaR1JsWldabUFBPT0ifX0=";

fn transfer_data() -> Vec<u8> {
    let mut d = vec![12u8];
    d.extend_from_slice(&AMOUNT.to_le_bytes());
    d.push(6);
    d
}

/// Reads `shortvec` (one byte here) and returns (value, rest).
fn sv(b: &[u8]) -> (usize, &[u8]) {
    assert!(b[0] < 0x80);
    (usize::from(b[0]), &b[1..])
}

struct Decoded {
    sigs: Vec<[u8; 64]>,
    message: Vec<u8>,
    versioned: bool,
    header: [u8; 3],
    keys: Vec<Pubkey>,
    blockhash: [u8; 32],
    ixs: Vec<(u8, Vec<u8>, Vec<u8>)>,
}

/// A by-hand decoder following the reference byte layout.
fn decode(wire: &[u8]) -> Decoded {
    let (n, mut r) = sv(wire);
    let mut sigs = Vec::new();
    for _ in 0..n {
        sigs.push(r[..64].try_into().unwrap());
        r = &r[64..];
    }
    let message = r.to_vec();
    let versioned = r[0] == 0x80;
    if versioned {
        r = &r[1..];
    }
    let header = [r[0], r[1], r[2]];
    let (nk, mut r) = sv(&r[3..]);
    let mut keys = Vec::new();
    for _ in 0..nk {
        keys.push(Pubkey::new_from_array(r[..32].try_into().unwrap()));
        r = &r[32..];
    }
    let blockhash: [u8; 32] = r[..32].try_into().unwrap();
    let (ni, mut r) = sv(&r[32..]);
    let mut ixs = Vec::new();
    for _ in 0..ni {
        let prog = r[0];
        let (na, rr) = sv(&r[1..]);
        let accs = rr[..na].to_vec();
        let (nd, rr) = sv(&rr[na..]);
        ixs.push((prog, accs, rr[..nd].to_vec()));
        r = &rr[nd..];
    }
    if versioned {
        assert_eq!(r, [0u8], "v0: empty lookup-table section");
    } else {
        assert!(r.is_empty());
    }
    Decoded {
        sigs,
        message,
        versioned,
        header,
        keys,
        blockhash,
        ixs,
    }
}

fn sorted(keys: &[Pubkey]) -> bool {
    keys.windows(2).all(|w| w[0] < w[1])
}

fn print_if_empty(name: &str, golden: &str, actual: &str) {
    if golden.is_empty() {
        println!("const {name}: &str = \"{actual}\";");
    }
}

#[test]
fn sponsored_layout() {
    let fac = facilitator().pubkey();
    let p = build_payment(&spec(Layout::Sponsored { fee_payer: fac }), &payer(), true).unwrap();
    let b64 = p.to_base64();
    print_if_empty("SPONSORED_B64", SPONSORED_B64, &b64);
    assert_eq!(b64, SPONSORED_B64);
    let d = decode(&p.wire);
    assert_eq!(d.sigs.len(), 2);
    assert_eq!(d.sigs[0], [0u8; 64], "slot 0 (fee payer) is left empty");
    assert!(d.versioned);
    assert_eq!(d.header, [2, 1, 4]);
    assert_eq!(d.keys.len(), 8);
    assert_eq!(d.keys[0], fac);
    assert_eq!(d.keys[1], payer().pubkey());
    let src = associated_token_address(&payer().pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID);
    let dst = associated_token_address(&pay_to(), &USDC_MAINNET, &TOKEN_PROGRAM_ID);
    let mut w = [src, dst];
    w.sort();
    assert_eq!(
        d.keys[2..4],
        w[..],
        "writable non-signers: the two token accounts"
    );
    let mut ro = [
        USDC_MAINNET,
        COMPUTE_BUDGET_PROGRAM_ID,
        TOKEN_PROGRAM_ID,
        MEMO_PROGRAM_ID,
    ];
    ro.sort();
    assert_eq!(
        d.keys[4..8],
        ro[..],
        "read-only non-signers: mint and programs"
    );
    assert!(sorted(&d.keys[2..4]) && sorted(&d.keys[4..8]));
    assert_eq!(d.blockhash, blockhash().to_bytes());
    let idx = |k: &Pubkey| d.keys.iter().position(|x| x == k).unwrap() as u8;
    assert_eq!(d.ixs.len(), 4);
    assert_eq!(
        d.ixs[0],
        (
            idx(&COMPUTE_BUDGET_PROGRAM_ID),
            vec![],
            vec![2, 0x20, 0x4e, 0, 0]
        )
    );
    assert_eq!(
        d.ixs[1],
        (
            idx(&COMPUTE_BUDGET_PROGRAM_ID),
            vec![],
            vec![3, 1, 0, 0, 0, 0, 0, 0, 0]
        )
    );
    assert_eq!(
        d.ixs[2],
        (
            idx(&TOKEN_PROGRAM_ID),
            vec![idx(&src), idx(&USDC_MAINNET), idx(&dst), 1],
            transfer_data()
        )
    );
    assert_eq!(
        d.ixs[3],
        (
            idx(&MEMO_PROGRAM_ID),
            vec![],
            b"00112233445566778899aabbccddeeff".to_vec()
        )
    );
    assert_eq!(d.message[0], 0x80);
    assert!(p.signature.verify(payer().pubkey().as_ref(), &d.message));
    assert_eq!(d.sigs[1], <[u8; 64]>::from(p.signature));
    // The Solana crates read the same transaction.
    let tx: VersionedTransaction = wincode::deserialize(&p.wire).unwrap();
    assert!(matches!(tx.message, VersionedMessage::V0(_)));
    assert_eq!(tx.message.static_account_keys(), &d.keys[..]);
    assert_eq!(wincode::serialize(&tx).unwrap(), p.wire);
}

#[test]
fn self_paid_default_layout() {
    let p = build_payment(&spec(Layout::SelfPaid), &payer(), true).unwrap();
    let b64 = p.to_base64();
    print_if_empty("SELF_PAID_B64", SELF_PAID_B64, &b64);
    assert_eq!(b64, SELF_PAID_B64);
    let d = decode(&p.wire);
    assert_eq!(d.sigs.len(), 1);
    assert!(d.versioned);
    assert_eq!(d.header, [1, 0, 4]);
    assert_eq!(d.keys.len(), 7);
    assert_eq!(d.keys[0], payer().pubkey());
    let src = associated_token_address(&payer().pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID);
    let dst = associated_token_address(&pay_to(), &USDC_MAINNET, &TOKEN_PROGRAM_ID);
    let mut w = [src, dst];
    w.sort();
    assert_eq!(d.keys[1..3], w[..]);
    let mut ro = [
        USDC_MAINNET,
        COMPUTE_BUDGET_PROGRAM_ID,
        TOKEN_PROGRAM_ID,
        MEMO_PROGRAM_ID,
    ];
    ro.sort();
    assert_eq!(d.keys[3..7], ro[..]);
    let idx = |k: &Pubkey| d.keys.iter().position(|x| x == k).unwrap() as u8;
    assert_eq!(d.ixs.len(), 4);
    assert_eq!(d.ixs[0].2, vec![2, 0x20, 0x4e, 0, 0]);
    assert_eq!(d.ixs[1].2, vec![3, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        d.ixs[2],
        (
            idx(&TOKEN_PROGRAM_ID),
            vec![idx(&src), idx(&USDC_MAINNET), idx(&dst), 0],
            transfer_data()
        )
    );
    assert_eq!(d.ixs[3].2, b"00112233445566778899aabbccddeeff".to_vec());
    assert!(p.signature.verify(payer().pubkey().as_ref(), &d.message));
    let tx: VersionedTransaction = wincode::deserialize(&p.wire).unwrap();
    assert_eq!(wincode::serialize(&tx).unwrap(), p.wire);
}

#[test]
fn self_paid_minimal_layout() {
    let p = build_payment(&spec(Layout::Minimal), &payer(), true).unwrap();
    let b64 = p.to_base64();
    print_if_empty("MINIMAL_B64", MINIMAL_B64, &b64);
    assert_eq!(b64, MINIMAL_B64);
    let d = decode(&p.wire);
    // shortvec(1) || sig || header[1, 0, 2] || shortvec(5) || [payer, source, dest, mint, token] || blockhash || shortvec(1) || ix
    assert_eq!(d.sigs.len(), 1);
    assert!(!d.versioned, "legacy message: no 0x80 prefix");
    assert_eq!(d.header, [1, 0, 2]);
    assert_eq!(d.keys.len(), 5);
    assert_eq!(d.keys[0], payer().pubkey());
    let src = associated_token_address(&payer().pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID);
    let dst = associated_token_address(&pay_to(), &USDC_MAINNET, &TOKEN_PROGRAM_ID);
    let mut w = [src, dst];
    w.sort();
    assert_eq!(d.keys[1..3], w[..]);
    let mut ro = [USDC_MAINNET, TOKEN_PROGRAM_ID];
    ro.sort();
    assert_eq!(d.keys[3..5], ro[..]);
    let idx = |k: &Pubkey| d.keys.iter().position(|x| x == k).unwrap() as u8;
    assert_eq!(
        d.ixs,
        vec![(
            idx(&TOKEN_PROGRAM_ID),
            vec![idx(&src), idx(&USDC_MAINNET), idx(&dst), 0],
            transfer_data()
        )]
    );
    assert_eq!(
        p.wire.len(),
        1 + 64 + 3 + 1 + 5 * 32 + 32 + 1 + 1 + 1 + 4 + 1 + 10
    );
    assert!(p.signature.verify(payer().pubkey().as_ref(), &d.message));
    let tx: VersionedTransaction = wincode::deserialize(&p.wire).unwrap();
    assert!(matches!(tx.message, VersionedMessage::Legacy(_)));
    assert_eq!(wincode::serialize(&tx).unwrap(), p.wire);
}

#[test]
fn sponsored_header_and_verifier() {
    let fac = facilitator().pubkey();
    // The 402 as a server would send it (member order as written here is echoed verbatim).
    let json = format!(
        r#"{{"x402Version":2,"resource":{{"url":"https://api.example.com/x"}},"accepts":[{{"scheme":"exact","network":"{}","amount":"{AMOUNT}","asset":"{USDC_MAINNET}","payTo":"{}","maxTimeoutSeconds":60,"extra":{{"feePayer":"{fac}","unknownKey":[1,2]}}}}]}}"#,
        networks::SOLANA_MAINNET,
        pay_to()
    );
    let required = PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap();
    let req: PaymentRequirements = required.accepts[0].clone();
    let p = build_payment(&spec(Layout::Sponsored { fee_payer: fac }), &payer(), true).unwrap();
    let header =
        PaymentPayload::new(Some(&required), &req, p.to_base64()).encode(PayloadShape::Hybrid);
    print_if_empty("SPONSORED_HEADER_HYBRID", SPONSORED_HEADER_HYBRID, &header);
    assert_eq!(header, SPONSORED_HEADER_HYBRID);
    let json = String::from_utf8(b64::decode(&header).unwrap()).unwrap();
    assert!(json.contains(
        r#""extra":{"feePayer":"Bow1CGKGDB9mNxeWdw85E2aCthQ1oZX4oFEe7fYT17ew","unknownKey":[1,2]}"#
    ));
    assert!(json.starts_with(r#"{"x402Version":2,"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","resource":{"url":"https://api.example.com/x"},"accepted":{"scheme":"exact","network""#), "{json}");
    let report = verify(&required, &header, &VerifyOptions::default());
    assert!(report.passed(), "{report}");
    assert!(report.checks.len() >= 20, "{report:#?}");
}
