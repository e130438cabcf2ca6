//! `sova x402 decode|sign|verify`: x402 header tools, offline.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sova_protocol::x402::{
    PayloadShape, PaymentPayload, PaymentRequired, PaymentRequirements, SettlementResponse, b64,
};
use sova_x402::{
    LatestBlockhash, Payer, PrepareContext, Prepared, Pubkey, RefusalReason, VerifyOptions,
};

use crate::cli::{Shape, X402Cmd};
use crate::ctx::Ctx;
use crate::err::{CliError, code};
use crate::out::{self, Done};
use crate::{amount, http, txdecode};

/// Runs `sova x402 …`.
pub(crate) fn run(ctx: &Ctx, cmd: X402Cmd) -> Result<Done, CliError> {
    match cmd {
        X402Cmd::Decode { value } => decode(&read_value(&value)?),
        X402Cmd::Sign {
            required,
            blockhash,
            shape,
        } => sign(ctx, &read_value(&required)?, blockhash.as_deref(), shape),
        X402Cmd::Verify {
            required,
            payment,
            payer,
        } => verify(&read_value(&required)?, &read_value(&payment)?, payer),
    }
}

/// The value itself, or stdin for `-`; a leading `Header-Name:` is dropped.
fn read_value(v: &str) -> Result<String, CliError> {
    let text = if v == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::failure(format!("could not read stdin: {e}")))?;
        s
    } else {
        v.to_owned()
    };
    let t = text.trim();
    const NAMES: [&str; 5] = [
        "payment-required",
        "payment-signature",
        "payment-response",
        "x-payment-response",
        "x-payment",
    ];
    if let Some((name, rest)) = t.split_once(':')
        && NAMES.contains(&name.trim().to_ascii_lowercase().as_str())
    {
        return Ok(rest.trim().to_owned());
    }
    Ok(t.to_owned())
}

/// Reads a PAYMENT-REQUIRED header value or a v1 JSON body.
pub(crate) fn parse_required(v: &str) -> Result<PaymentRequired, CliError> {
    let r = if v.starts_with('{') {
        PaymentRequired::decode_body(v.as_bytes())
    } else {
        PaymentRequired::decode_header(v)
    };
    r.map_err(|e| {
        CliError::usage(format!("--required: {e}"))
            .hint("pass the PAYMENT-REQUIRED header value of a 402 answer")
    })
}

fn is_signature(s: &str) -> bool {
    (64..=88).contains(&s.len())
        && bs58::decode(s)
            .into_vec()
            .map(|b| b.len() == 64)
            .unwrap_or(false)
}

fn option_json(i: usize, r: &PaymentRequirements) -> Value {
    let usdc =
        r.asset == sova_protocol::x402::USDC_MAINNET_MINT || r.asset == programs_usdc_devnet();
    json!({
        "index": i,
        "scheme": r.scheme,
        "network": r.network,
        "amount": r.amount.get().to_string(),
        "amountUsdc": if usdc { Value::from(amount::fmt_units(r.amount.get(), amount::USDC_DECIMALS)) } else { Value::Null },
        "asset": r.asset,
        "payTo": r.pay_to,
        "maxTimeoutSeconds": r.max_timeout_seconds,
        "feeMode": if r.fee_payer().is_some() { "sponsored" } else { "self-paid" },
        "feePayer": r.fee_payer(),
    })
}

fn programs_usdc_devnet() -> String {
    sova_x402::programs::USDC_DEVNET.to_string()
}

/// Decodes any x402 header value.
pub(crate) fn decode(v: &str) -> Result<Done, CliError> {
    let not_x402 = || {
        CliError::usage("the value is not an x402 header value").hint(
            "pass a PAYMENT-REQUIRED, PAYMENT-SIGNATURE or PAYMENT-RESPONSE value (base64 JSON) or an X-Payment-Response signature",
        )
    };
    if v.is_empty() {
        return Err(not_x402());
    }
    let doc = if is_signature(v) {
        json!({"header": "X-Payment-Response", "transaction": v})
    } else {
        let bytes = if v.starts_with('{') {
            v.as_bytes().to_vec()
        } else {
            b64::decode(v).map_err(|_| not_x402())?
        };
        let json: Value = serde_json::from_slice(&bytes).map_err(|_| not_x402())?;
        if json.get("accepts").is_some() {
            let r =
                PaymentRequired::decode_body(&bytes).map_err(|e| CliError::usage(e.to_string()))?;
            let options: Vec<Value> = r
                .accepts
                .iter()
                .enumerate()
                .map(|(i, a)| option_json(i, a))
                .collect();
            json!({"header": "PAYMENT-REQUIRED", "x402Version": r.x402_version, "document": json, "options": options})
        } else if json.get("payload").is_some() {
            let p = PaymentPayload::from_json_bytes(&bytes)
                .map_err(|e| CliError::usage(e.to_string()))?;
            let shape = match p.shape() {
                PayloadShape::Spec => "spec",
                PayloadShape::Flat => "flat",
                _ => "hybrid",
            };
            let tx = match b64::decode(&p.payload.transaction) {
                Ok(raw) => txdecode::decode(&raw).unwrap_or_else(|e| json!({"error": e})),
                Err(e) => json!({"error": format!("the transaction is not base64: {e}")}),
            };
            json!({
                "header": "PAYMENT-SIGNATURE",
                "x402Version": p.x402_version,
                "shape": shape,
                "scheme": p.scheme(),
                "network": p.network(),
                "accepted": p.accepted.as_ref().map(|a| option_json(0, a)),
                "document": json,
                "transaction": tx,
            })
        } else if json.get("success").is_some() {
            let s: SettlementResponse =
                serde_json::from_value(json.clone()).map_err(|_| not_x402())?;
            json!({"header": "PAYMENT-RESPONSE", "success": s.success, "transaction": s.transaction, "document": json})
        } else {
            return Err(not_x402());
        }
    };
    let mut human = serde_json::to_string_pretty(&doc).unwrap_or_default();
    human.push('\n');
    if let Some(tx) = doc.get("transaction").filter(|t| t.is_object()) {
        human.push_str("\ninstructions:\n");
        human.push_str(&txdecode::summary(tx));
    }
    Ok(Done::new(doc, human))
}

/// Signs a payment for a PAYMENT-REQUIRED value.
fn sign(
    ctx: &Ctx,
    required: &str,
    blockhash: Option<&str>,
    shape: Shape,
) -> Result<Done, CliError> {
    let required = parse_required(required)?;
    let keypair = ctx.keypair()?;
    let shape = match shape {
        Shape::Spec => PayloadShape::Spec,
        Shape::Hybrid => PayloadShape::Hybrid,
        Shape::Flat => PayloadShape::Flat,
    };
    // Signing the given challenge is what the user asked for: self-paid options too.
    let payer = Payer::builder()
        .shared_signer(keypair)
        // A header handed to the user is not journaled: nothing here can follow it to the
        // network, and the ledger would reclaim it as never sent. The caps still apply.
        .policy(Arc::new(ctx.policy_in(sova_x402::Ledger::memory())))
        .self_paid(sova_x402::SelfPaid::Anywhere)
        .payload_shape(shape)
        .build()
        .map_err(|e| CliError::failure(format!("could not set up the payer: {e}")))?;
    let offline = blockhash.is_some();
    let mut latest = match blockhash {
        Some(b) => Some(LatestBlockhash::new(LatestBlockhash::parse(b).ok_or_else(
            || CliError::usage(format!("--blockhash {b:?} is not a base58 blockhash")),
        )?)),
        None => None,
    };
    let rpc = ctx.rpc_url();
    let now = Instant::now();
    for _ in 0..4 {
        let mut pctx = PrepareContext::new(now);
        if let Some(l) = latest {
            pctx = pctx.blockhash(l);
        }
        match payer.prepare(&required, &pctx) {
            Ok(Prepared::Ready(p)) => {
                let header = p.header_value().to_owned();
                let record = p.commit();
                let doc = json!({
                    "header": header,
                    "amount": record.amount,
                    "payer": payer.pubkey().to_string(),
                });
                return Ok(Done::new(doc, format!("{header}\n")));
            }
            Ok(Prepared::NeedBlockhash(call)) => {
                if offline {
                    return Err(CliError::failure("the blockhash given was not usable")
                        .hint("pass a recent base58 blockhash with --blockhash"));
                }
                latest = Some(http::rpc_call(&rpc, &call)?);
            }
            Ok(Prepared::NeedMintInfo(call)) => {
                if offline && ctx.g.rpc.is_none() {
                    return Err(CliError::failure(format!(
                        "the mint {} is not known offline (only USDC is)",
                        call.mint
                    ))
                    .hint("pass --rpc <url> to read the mint's decimals and program"));
                }
                let info = http::rpc_call(&rpc, &call)?;
                payer.mints().insert(info);
            }
            Ok(_) => return Err(CliError::failure("the payer gave an unexpected answer")),
            Err(e) => {
                let policy = e
                    .refusals()
                    .iter()
                    .any(|r| matches!(r.reason, RefusalReason::Policy(_)));
                let msg = crate::err::one_line(&e.to_string());
                return Err(if policy {
                    CliError::new(code::POLICY, "policy", msg)
                        .hint("nothing was signed: raise --max-payment or --budget if you mean it")
                } else {
                    CliError::failure(msg)
                });
            }
        }
    }
    Err(CliError::failure(
        "could not gather what the payment needs (blockhash, mint)",
    ))
}

/// Runs the pre-flight verifier.
fn verify(required: &str, payment: &str, payer: Option<String>) -> Result<Done, CliError> {
    let required = parse_required(required)?;
    let mut opts = VerifyOptions::default();
    if let Some(p) = payer {
        let pk: Pubkey = p
            .parse()
            .map_err(|_| CliError::usage(format!("--payer {p:?} is not a base58 public key")))?;
        opts = opts.expected_payer(pk);
    }
    let report = sova_x402::verify(&required, payment, &opts);
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|c| json!({"name": c.name, "passed": c.passed, "detail": c.detail}))
        .collect();
    let passed = report.passed();
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                if c.passed { "pass" } else { "FAIL" }.to_owned(),
                c.name.to_owned(),
                c.detail.clone(),
            ]
        })
        .collect();
    let failed = report.failures().count();
    let human = format!(
        "{}\n{}\n",
        out::table(&["result", "check", "detail"], &rows),
        if passed {
            format!("all {} checks passed", report.checks.len())
        } else {
            format!("{failed} of {} checks failed", report.checks.len())
        }
    );
    Ok(Done::new(
        json!({"passed": passed, "failed": failed, "checks": checks}),
        human,
    )
    .code(if passed { code::OK } else { code::FAILURE }))
}
