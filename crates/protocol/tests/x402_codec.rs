//! x402 codec: documented examples, golden header vectors, malformed input.
//!
//! The golden base64 strings were computed independently (Python's `base64.b64encode` over
//! the hand-written JSON shown next to each), not by this crate.

#![allow(clippy::unwrap_used)]

use sova_protocol::http::{HeaderMap, HeaderValue, Response, StatusCode};
use sova_protocol::x402::*;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/x402/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const SOVA_REQUIRED_JSON: &str = r#"{"x402Version":2,"accepts":[{"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","asset":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","amount":"15000","payTo":"<TREASURY_PUBKEY>","maxTimeoutSeconds":60}]}"#;
const SOVA_REQUIRED_B64: &str = "eyJ4NDAyVmVyc2lvbiI6MiwiYWNjZXB0cyI6W3sic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoic29sYW5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwiYXNzZXQiOiJFUGpGV2RkNUF1ZnFTU3FlTTJxTjF4enliYXBDOEc0d0VHR2tad3lURHQxdiIsImFtb3VudCI6IjE1MDAwIiwicGF5VG8iOiI8VFJFQVNVUllfUFVCS0VZPiIsIm1heFRpbWVvdXRTZWNvbmRzIjo2MH1dfQ==";
// {"x402Version":2,"accepted":<requirement as received>,"payload":{"transaction":"AQID"}}
const SPEC_B64: &str = "eyJ4NDAyVmVyc2lvbiI6MiwiYWNjZXB0ZWQiOnsic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoic29sYW5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwiYXNzZXQiOiJFUGpGV2RkNUF1ZnFTU3FlTTJxTjF4enliYXBDOEc0d0VHR2tad3lURHQxdiIsImFtb3VudCI6IjE1MDAwIiwicGF5VG8iOiI8VFJFQVNVUllfUFVCS0VZPiIsIm1heFRpbWVvdXRTZWNvbmRzIjo2MH0sInBheWxvYWQiOnsidHJhbnNhY3Rpb24iOiJBUUlEIn19";
// {"x402Version":2,"scheme":"exact","network":"solana:5eyk…","accepted":<…>,"payload":{"transaction":"AQID"}}
const HYBRID_B64: &str = "eyJ4NDAyVmVyc2lvbiI6Miwic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoic29sYW5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwiYWNjZXB0ZWQiOnsic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoic29sYW5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwiYXNzZXQiOiJFUGpGV2RkNUF1ZnFTU3FlTTJxTjF4enliYXBDOEc0d0VHR2tad3lURHQxdiIsImFtb3VudCI6IjE1MDAwIiwicGF5VG8iOiI8VFJFQVNVUllfUFVCS0VZPiIsIm1heFRpbWVvdXRTZWNvbmRzIjo2MH0sInBheWxvYWQiOnsidHJhbnNhY3Rpb24iOiJBUUlEIn19";
// {"x402Version":2,"scheme":"exact","network":"solana:5eyk…","payload":{"transaction":"AQID"}}
const FLAT_B64: &str = "eyJ4NDAyVmVyc2lvbiI6Miwic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoic29sYW5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwicGF5bG9hZCI6eyJ0cmFuc2FjdGlvbiI6IkFRSUQifX0=";

#[test]
fn sova_documented_challenge_decodes() {
    let doc = fixture("sova_payment_required.json");
    let value = b64::encode(doc.trim().as_bytes());
    let req = PaymentRequired::decode_header(&value).unwrap();
    assert_eq!(req.x402_version, 2);
    assert!(req.resource.is_none() && req.error.is_none() && req.extensions.is_none());
    let a = &req.accepts[0];
    assert_eq!(a.scheme, "exact");
    assert_eq!(a.network, networks::SOLANA_MAINNET);
    assert_eq!(a.asset, USDC_MAINNET_MINT);
    assert_eq!(a.amount, Amount(15_000));
    assert_eq!(a.pay_to, "<TREASURY_PUBKEY>");
    assert_eq!(a.max_timeout_seconds, Some(60));
    assert!(a.fee_payer().is_none());
}

#[test]
fn standard_challenge_keeps_extra_and_raw_json() {
    let doc = fixture("standard_payment_required.json");
    let req = PaymentRequired::decode_header(&b64::encode(doc.as_bytes())).unwrap();
    assert_eq!(req.error.as_deref(), Some("Payment required"));
    let a = &req.accepts[0];
    assert_eq!(a.amount.get(), 1000);
    assert_eq!(a.fee_payer(), Some("<facilitator pubkey>"));
    assert_eq!(a.memo(), Some("<optional seller memo>"));
    // The echo is the requirement's text exactly as received, whitespace included.
    assert!(doc.contains(a.raw_json()));
    assert!(a.raw_json().starts_with("{\n    \"scheme\": \"exact\""));
    assert_eq!(
        req.resource.as_ref().unwrap().get(),
        r#"{"url": "https://api.example.com/x", "description": "", "mimeType": ""}"#
    );
    assert_eq!(req.extensions.as_ref().unwrap().get(), "{}");
}

#[test]
fn v1_body_challenge_decodes_and_normalizes() {
    let doc = fixture("v1_payment_required_body.json");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let req = PaymentRequired::from_response(&headers, doc.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(req.x402_version, 1);
    let a = &req.accepts[0];
    assert_eq!(
        a.amount.get(),
        10_000,
        "maxAmountRequired is read as the amount"
    );
    assert_eq!(a.network, networks::SOLANA_DEVNET);
    assert_eq!(a.version, 1);
    // A 402 without any x402 content is not a challenge.
    assert!(
        PaymentRequired::from_response(
            &HeaderMap::new(),
            br#"{"error":"Payment required","required":5}"#
        )
        .unwrap()
        .is_none()
    );
}

#[test]
fn golden_payment_required_header() {
    let req = PaymentRequired::decode_header(SOVA_REQUIRED_B64).unwrap();
    assert_eq!(req.to_json(), SOVA_REQUIRED_JSON);
    assert_eq!(req.encode_header(), SOVA_REQUIRED_B64);
    // Header names are matched case-insensitively.
    let mut headers = HeaderMap::new();
    headers.insert(
        "PAYMENT-REQUIRED",
        HeaderValue::from_static(SOVA_REQUIRED_B64),
    );
    assert_eq!(
        PaymentRequired::from_response(&headers, b"{}")
            .unwrap()
            .unwrap(),
        req
    );
}

#[test]
fn golden_payment_signature_in_three_shapes() {
    let req = PaymentRequired::decode_header(SOVA_REQUIRED_B64).unwrap();
    let p = PaymentPayload::new(Some(&req), &req.accepts[0], "AQID".into());
    assert_eq!(p.encode(PayloadShape::Spec), SPEC_B64);
    assert_eq!(p.encode(PayloadShape::Hybrid), HYBRID_B64);
    assert_eq!(p.encode(PayloadShape::Flat), FLAT_B64);
    assert_eq!(PayloadShape::default(), PayloadShape::Hybrid);
    for (b, shape) in [
        (SPEC_B64, PayloadShape::Spec),
        (HYBRID_B64, PayloadShape::Hybrid),
        (FLAT_B64, PayloadShape::Flat),
    ] {
        let d = PaymentPayload::decode(b).unwrap();
        assert_eq!(d.shape(), shape);
        assert_eq!(d.scheme(), Some("exact"));
        assert_eq!(d.network(), Some(networks::SOLANA_MAINNET));
        assert_eq!(d.payload.transaction, "AQID");
        assert_eq!(
            d.encode(shape),
            b,
            "re-encoding a decoded payload is byte-identical"
        );
    }
}

#[test]
fn documented_payload_examples_decode() {
    let flat =
        PaymentPayload::from_json_bytes(fixture("sova_flat_payload.json").as_bytes()).unwrap();
    assert_eq!(flat.shape(), PayloadShape::Flat);
    assert_eq!(flat.payload.transaction, "<base64 tx>");
    let spec = PaymentPayload::from_json_bytes(fixture("spec_payload.json").as_bytes()).unwrap();
    assert_eq!(spec.shape(), PayloadShape::Spec);
    assert_eq!(
        spec.accepted.as_ref().unwrap().fee_payer(),
        Some("<facilitator pubkey>")
    );
    let hybrid =
        PaymentPayload::from_json_bytes(fixture("hybrid_payload.json").as_bytes()).unwrap();
    assert_eq!(hybrid.shape(), PayloadShape::Hybrid);
    assert_eq!(
        hybrid.resource.unwrap().get(),
        r#"{"url":"https://api.example.com/x"}"#
    );
}

#[test]
fn golden_settlement_and_bare_signature() {
    let s = Settlement::decode(
        "eyJzdWNjZXNzIjp0cnVlLCJ0cmFuc2FjdGlvbiI6ImFiYyIsIm5ldHdvcmsiOiJzb2xhbmE6NWV5a3Q0VXNGdjhQOE5KZFRSRXBZMXZ6cUtxWkt2ZHAifQ==",
        "PAYMENT-RESPONSE",
    )
    .unwrap();
    let Settlement::Response(r) = &s else {
        panic!("{s:?}")
    };
    assert!(r.success && r.transaction == "abc");
    assert_eq!(
        r.encode(),
        "eyJzdWNjZXNzIjp0cnVlLCJ0cmFuc2FjdGlvbiI6ImFiYyIsIm5ldHdvcmsiOiJzb2xhbmE6NWV5a3Q0VXNGdjhQOE5KZFRSRXBZMXZ6cUtxWkt2ZHAifQ=="
    );

    let sig =
        "5j7s6NiJS3JAkvgkoc18WVAsiSaci2pxB2A6ueCJP4tprA2TFg9wSyTLeYouxPBJEMzJinENTkpA52YStRW5Dia7";
    let mut h = HeaderMap::new();
    h.insert("X-Payment-Response", HeaderValue::from_static(sig));
    let s = Settlement::from_headers(&h).unwrap().unwrap();
    assert_eq!(s, Settlement::BareSignature(sig.into()));
    assert!(s.success());
    assert_eq!(s.transaction(), Some(sig));

    // Extra fields servers add (`requirements`) are tolerated.
    let ok = fixture("settlement_success.json");
    let s = Settlement::decode(&b64::encode(ok.trim().as_bytes()), "PAYMENT-RESPONSE").unwrap();
    assert_eq!(s.transaction(), Some(sig));
    let pending = fixture("settlement_pending.json");
    let s =
        Settlement::decode(&b64::encode(pending.trim().as_bytes()), "PAYMENT-RESPONSE").unwrap();
    assert!(!s.success());
    let Settlement::Response(r) = s else { panic!() };
    assert_eq!(
        FailureReason::classify(r.error_reason.as_deref().unwrap()),
        FailureReason::SettlementPending
    );
}

#[test]
fn url_safe_and_unpadded_headers_decode() {
    let url = SOVA_REQUIRED_B64
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    assert_eq!(
        PaymentRequired::decode_header(&url).unwrap().accepts[0]
            .amount
            .get(),
        15_000
    );
    let flat = FLAT_B64.trim_end_matches('=');
    assert!(PaymentPayload::decode(flat).is_ok());
}

#[test]
fn malformed_headers_get_specific_errors() {
    assert!(matches!(
        PaymentRequired::decode_header("%%%"),
        Err(CodecError::Base64 { .. })
    ));
    assert!(matches!(
        PaymentRequired::decode_header(""),
        Err(CodecError::Base64 { .. })
    ));
    let e = PaymentRequired::decode_header(&b64::encode(b"<html>nope</html>")).unwrap_err();
    assert!(matches!(e, CodecError::Json { .. }), "{e:?}");
    let e = PaymentRequired::decode_header(&b64::encode(br#"{"x402Version":3,"accepts":[]}"#))
        .unwrap_err();
    assert_eq!(e, CodecError::Version(3));
    let overflow = SOVA_REQUIRED_JSON.replace("\"15000\"", "\"18446744073709551616\"");
    let e = PaymentRequired::decode_header(&b64::encode(overflow.as_bytes())).unwrap_err();
    match e {
        CodecError::Json { path, message, .. } => {
            assert_eq!(path, "accepts[0]");
            assert!(message.contains("larger than"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        "\"1.5\"", "\"-1\"", "\"1e3\"", "\" 1\"", "\"0x10\"", "-5", "1.5", "\"\"",
    ] {
        let doc = SOVA_REQUIRED_JSON.replace("\"15000\"", bad);
        assert!(
            PaymentRequired::decode_header(&b64::encode(doc.as_bytes())).is_err(),
            "{bad} accepted"
        );
    }
    // A tolerant read of a JSON integer amount.
    let doc = SOVA_REQUIRED_JSON.replace("\"15000\"", "15000");
    assert_eq!(
        PaymentRequired::decode_header(&b64::encode(doc.as_bytes()))
            .unwrap()
            .accepts[0]
            .amount
            .get(),
        15_000
    );
    let truncated = &SOVA_REQUIRED_JSON[..50];
    assert!(matches!(
        PaymentRequired::decode_header(&b64::encode(truncated.as_bytes())),
        Err(CodecError::Json { .. })
    ));
    // A payload with neither `accepted` nor scheme/network.
    let e = PaymentPayload::decode(&b64::encode(
        br#"{"x402Version":2,"payload":{"transaction":"x"}}"#,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("accepted"), "{e}");
    // A settlement value that is neither.
    assert!(matches!(
        Settlement::decode("not a signature!", "X-Payment-Response"),
        Err(CodecError::Settlement { .. })
    ));
}

#[test]
fn amount_parsing_is_strict() {
    assert_eq!(Amount::parse("0").unwrap().get(), 0);
    assert_eq!(
        Amount::parse("18446744073709551615").unwrap().get(),
        u64::MAX
    );
    assert!(matches!(
        Amount::parse("18446744073709551616"),
        Err(AmountError::Overflow(_))
    ));
    assert!(matches!(Amount::parse(""), Err(AmountError::Empty)));
    for bad in ["+1", "-1", "1_000", "1,000", "１", "1.0", "1e6", " 1", "1 "] {
        assert!(
            matches!(Amount::parse(bad), Err(AmountError::NotInteger(_))),
            "{bad}"
        );
    }
}

#[test]
fn api_errors_carry_the_challenge() {
    use sova_protocol::intel;
    let r = Response::builder()
        .status(StatusCode::PAYMENT_REQUIRED)
        .header("content-type", "application/json")
        .header("payment-required", SOVA_REQUIRED_B64)
        .body(br#"{"error":"Payment required","required":1}"#.to_vec())
        .unwrap();
    let e = intel::api_error(&r);
    assert_eq!(e.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(e.required_credits, Some(1));
    assert_eq!(
        e.payment_required.as_ref().unwrap().accepts[0].amount.get(),
        15_000
    );
    assert!(e.to_string().contains("15000"), "{e}");

    // A broken PAYMENT-REQUIRED header does not hide the status.
    let r = Response::builder()
        .status(StatusCode::PAYMENT_REQUIRED)
        .header("payment-required", "@@@")
        .body(Vec::new())
        .unwrap();
    let e = intel::api_error(&r);
    assert!(e.payment_required.is_none());
    assert!(e.has_code("malformed_payment_required"));
}

/// A v1 requirement gives a v1 payload: `x402Version: 1`, the network under the v1 name the
/// server used, in the flat (v1) shape; it decodes back the same.
#[test]
fn a_v1_requirement_gives_a_v1_payload() {
    let doc = fixture("v1_payment_required_body.json");
    let req = PaymentRequired::decode_body(doc.as_bytes()).unwrap();
    let a = &req.accepts[0];
    assert_eq!(a.network_as_received(), "solana-devnet");
    let p = PaymentPayload::new(Some(&req), a, "AAEC".into());
    assert_eq!(p.x402_version, 1);
    assert_eq!(
        p.to_json(PayloadShape::Flat),
        r#"{"x402Version":1,"scheme":"exact","network":"solana-devnet","payload":{"transaction":"AAEC"}}"#
    );
    let back = PaymentPayload::decode(&p.encode(PayloadShape::Flat)).unwrap();
    assert_eq!(back.x402_version, 1);
    assert_eq!(back.network(), Some(networks::SOLANA_DEVNET));
    // v2 is unchanged: CAIP-2 network, version 2.
    let v2 = PaymentRequired::decode_header(SOVA_REQUIRED_B64).unwrap();
    let p2 = PaymentPayload::new(Some(&v2), &v2.accepts[0], "AAEC".into());
    assert_eq!(
        p2.to_json(PayloadShape::Flat),
        r#"{"x402Version":2,"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","payload":{"transaction":"AAEC"}}"#
    );
}
