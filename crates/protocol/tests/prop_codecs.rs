//! Property tests for every codec: round trips, and arbitrary input never panics.
//!
//! Case counts come from `PROPTEST_CASES` (`cargo xtask proptest --cases N`).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map, Value};
use sova_protocol::jobs::{FollowUp, JobHandle};
use sova_protocol::x402::*;

fn text() -> impl Strategy<Value = String> {
    // Printable text including quotes, backslashes and non-ASCII, to stress JSON escaping.
    "[ -~éü中\\\\\"\n]{0,24}"
}

fn extra() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-zA-Z]{1,8}", text(), 0..4)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
}

fn requirement() -> impl Strategy<Value = PaymentRequirements> {
    (text(), text(), any::<u64>(), text(), any::<u64>(), extra()).prop_map(
        |(network, asset, amount, pay_to, timeout, extra)| {
            PaymentRequirements::new(&network, &asset, amount, &pay_to, timeout, extra)
        },
    )
}

fn required() -> impl Strategy<Value = PaymentRequired> {
    (
        prop::collection::vec(requirement(), 0..4),
        prop::option::of(text()),
        prop::option::of(text()),
        any::<bool>(),
    )
        .prop_map(|(accepts, error, url, ext)| PaymentRequired {
            x402_version: 2,
            error,
            resource: url.map(|u| {
                RawJson::from_string(serde_json::json!({ "url": u }).to_string()).unwrap()
            }),
            accepts,
            extensions: ext.then(|| {
                RawJson::from_string(r#"{"payment-identifier":{"info":{"required":false}}}"#.into())
                    .unwrap()
            }),
        })
}

fn shape() -> impl Strategy<Value = PayloadShape> {
    prop_oneof![
        Just(PayloadShape::Spec),
        Just(PayloadShape::Hybrid),
        Just(PayloadShape::Flat)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/prop_codecs.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn payment_required_round_trips(req in required()) {
        let decoded = PaymentRequired::decode_header(&req.encode_header()).unwrap();
        prop_assert_eq!(&decoded, &req);
        // Each requirement's typed view survives the trip too.
        for (a, b) in decoded.accepts.iter().zip(&req.accepts) {
            prop_assert_eq!(a.amount, b.amount);
            prop_assert_eq!(&a.pay_to, &b.pay_to);
            prop_assert_eq!(&a.extra, &b.extra);
        }
    }

    #[test]
    fn payment_payload_round_trips(req in required(), acc in requirement(), tx in "[A-Za-z0-9+/]{0,64}={0,2}", shape in shape()) {
        let p = PaymentPayload::new(Some(&req), &acc, tx.clone());
        let decoded = PaymentPayload::decode(&p.encode(shape)).unwrap();
        prop_assert_eq!(decoded.shape(), shape);
        prop_assert_eq!(&decoded.payload.transaction, &tx);
        prop_assert_eq!(decoded.scheme(), Some("exact"));
        prop_assert_eq!(decoded.network().map(str::to_owned), Some(networks::normalize(&acc.network).to_owned()));
        if shape != PayloadShape::Flat {
            prop_assert_eq!(decoded.accepted.as_ref().map(|a| a.raw_json()), Some(acc.raw_json()));
        }
        prop_assert_eq!(decoded.encode(shape), p.encode(shape));
    }

    #[test]
    fn settlement_round_trips(success in any::<bool>(), tx in text(), network in text(), reason in prop::option::of(text()), payer in prop::option::of(text())) {
        let r = SettlementResponse { success, error_reason: reason, error_message: None, payer, transaction: tx, network, amount: None, extensions: None };
        match Settlement::decode(&r.encode(), "PAYMENT-RESPONSE").unwrap() {
            Settlement::Response(d) => prop_assert_eq!(d, r),
            other => prop_assert!(false, "decoded as {:?}", other),
        }
    }

    #[test]
    fn bare_signatures_round_trip(sig in prop::array::uniform32(any::<u8>()), sig2 in prop::array::uniform32(any::<u8>())) {
        let mut bytes = sig.to_vec();
        bytes.extend_from_slice(&sig2);
        let s = bs58::encode(&bytes).into_string();
        prop_assert_eq!(Settlement::decode(&s, "X-Payment-Response").unwrap(), Settlement::BareSignature(s));
    }

    #[test]
    fn amounts_round_trip(n in any::<u64>()) {
        prop_assert_eq!(Amount::parse(&n.to_string()).unwrap().get(), n);
        let json = serde_json::to_string(&Amount(n)).unwrap();
        prop_assert_eq!(serde_json::from_str::<Amount>(&json).unwrap().get(), n);
    }

    #[test]
    fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 1..256)) {
        let e = b64::encode(&bytes);
        prop_assert_eq!(b64::decode(&e).unwrap(), bytes.clone());
        let url = e.trim_end_matches('=').replace('+', "-").replace('/', "_");
        prop_assert_eq!(b64::decode(&url).unwrap(), bytes);
    }

    #[test]
    fn job_handles_round_trip(job in prop::option::of(text()), key in text(), also in prop::collection::vec(text(), 0..3), at in prop::option::of(any::<u64>())) {
        let h = JobHandle { job_id: job, follow_up: FollowUp::FetchResult { result_key: key }, also, queued_at_unix: at, payment: None, origin: None };
        prop_assert_eq!(JobHandle::decode(&h.encode()).unwrap(), h);
    }

    // ---- arbitrary input never panics ------------------------------------------------------

    #[test]
    fn decoders_never_panic_on_strings(s in "\\PC{0,200}") {
        let _ = PaymentRequired::decode_header(&s);
        let _ = PaymentPayload::decode(&s);
        let _ = Settlement::decode(&s, "PAYMENT-RESPONSE");
        let _ = Amount::parse(&s);
        let _ = b64::decode(&s);
        let _ = JobHandle::decode(&s);
        let _ = FailureReason::classify(&s);
        let _ = sova_protocol::intel::ApiKey::new(s.clone());
        let _ = sova_protocol::BaseUrl::parse(&s);
    }

    #[test]
    fn decoders_never_panic_on_base64_of_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let v = b64::encode(&bytes);
        let _ = PaymentRequired::decode_header(&v);
        let _ = PaymentRequired::decode_body(&bytes);
        let _ = PaymentPayload::decode(&v);
        let _ = PaymentPayload::from_json_bytes(&bytes);
        let _ = Settlement::decode(&v, "PAYMENT-RESPONSE");
    }

    #[test]
    fn decoders_never_panic_on_json_like_input(doc in json_like()) {
        let v = b64::encode(doc.as_bytes());
        let _ = PaymentRequired::decode_header(&v);
        let _ = PaymentPayload::decode(&v);
        let _ = Settlement::decode(&v, "PAYMENT-RESPONSE");
    }
}

/// JSON-ish documents built from x402 keys, so the decoders get past the first byte.
fn json_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("x402Version"),
        Just("accepts"),
        Just("accepted"),
        Just("scheme"),
        Just("network"),
        Just("amount"),
        Just("maxAmountRequired"),
        Just("payTo"),
        Just("asset"),
        Just("extra"),
        Just("payload"),
        Just("transaction"),
        Just("success"),
        Just("resource"),
        Just("extensions"),
    ];
    let leaf = prop_oneof![
        Just("2".to_owned()),
        Just("1".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("\"15000\"".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"exact\"".to_owned()),
        "\"[a-z0-9]{0,8}\"".prop_map(|s| s),
        Just("18446744073709551616".to_owned()),
    ];
    let obj = prop::collection::vec((key, leaf), 0..8).prop_map(|kv| {
        let body: Vec<String> = kv
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", body.join(","))
    });
    obj.prop_recursive(3, 32, 4, |inner| {
        (inner.clone(), prop::collection::vec(inner, 0..3)).prop_map(|(o, arr)| {
            let o = o.trim_end_matches('}').to_owned();
            let sep = if o.len() > 1 { "," } else { "" };
            format!(
                "{o}{sep}\"accepts\":[{}],\"accepted\":{}}}",
                arr.join(","),
                arr.first().cloned().unwrap_or_else(|| "{}".into())
            )
        })
    })
}
