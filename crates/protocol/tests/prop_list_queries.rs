//! SovX list queries: arbitrary filter values either build a request whose query string
//! decodes back to exactly the filter's pairs, or are refused with an input error — never a
//! panic, never a value that leaks into another parameter.
//!
//! Case counts come from `PROPTEST_CASES` (`cargo xtask proptest --cases N`).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sova_protocol::sovx::{
    ListTransfersRequest, ListWithdrawalsRequest, MonetizationSettingsQuery, SANDBOX_BASE_URL,
    Sort, Status, TransactionQuery, TransferQuery, UserTransactionsRequest, WithdrawalQuery,
};
use sova_protocol::{BaseUrl, BuildError, Endpoint};

fn text() -> impl Strategy<Value = String> {
    // Printable text with the characters that matter in a query string, and non-ASCII.
    "[ -~éü中&=+%#?\\[\\]\t]{0,16}"
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The query string's pairs, percent-decoded.
fn pairs<E: Endpoint>(e: &E) -> Result<Vec<(String, String)>, BuildError> {
    let r = e.to_request(&BaseUrl::parse(SANDBOX_BASE_URL).unwrap())?;
    Ok(r.uri()
        .query()
        .map(|q| {
            q.split('&')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (decode(k), decode(v))
                })
                .collect()
        })
        .unwrap_or_default())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/prop_list_queries.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn transaction_queries_round_trip_or_are_refused(
        currency in prop::option::of(text()),
        pair in prop::option::of(text()),
        kind in prop::option::of(text()),
        from in prop::option::of(text()),
        limit in prop::option::of(any::<u32>()),
        skip in prop::option::of(any::<u64>()),
        sort in prop::option::of(text()),
        status in prop::option::of(text()),
    ) {
        let q = TransactionQuery {
            currency,
            pair,
            kind,
            created_from: from.map(Into::into),
            limit,
            skip,
            sort: sort.map(Sort::asc),
            status: status.map(|s| Status::parse(&s)),
            ..Default::default()
        };
        let e = UserTransactionsRequest::new("f4057807-52cf-4083-9ecb-283ef354fb2b").query(q.clone());
        match pairs(&e) {
            Ok(got) => prop_assert_eq!(got, q.to_filter().to_query()),
            Err(BuildError::InvalidInput { field, reason }) => {
                prop_assert!(!reason.is_empty());
                prop_assert!(q.validate().is_err(), "{field}: {reason}");
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn other_list_queries_never_panic(
        a in text(),
        b in text(),
        limit in prop::option::of(any::<u32>()),
    ) {
        let w = ListWithdrawalsRequest::new("u").query(
            WithdrawalQuery::new().currency(a.clone()).created_before(b.clone()),
        );
        if let Ok(got) = pairs(&w) {
            prop_assert_eq!(got, w.query.to_filter().to_query());
        }
        let mut tq = TransferQuery::new().where_eq(a.clone(), b.clone());
        tq.limit = limit;
        let t = ListTransfersRequest::new("w").query(tq);
        if let Ok(got) = pairs(&t) {
            prop_assert_eq!(got, t.query.to_filter().to_query());
        }
        let m = MonetizationSettingsQuery::new().pair(a).currency(b);
        let _ = m.validate();
        let _ = m.to_filter().to_query();
    }
}
