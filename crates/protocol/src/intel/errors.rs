//! Sova Intel error answers.

use http::Response;
use serde::Deserialize;
use serde_json::Value;

use crate::decode::{self, sniff};
use crate::x402::{PaymentRequired, Settlement};
use crate::{ApiError, ApiErrorDetail, BodyKind, Service};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntelErrorBody {
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    status_code: Option<u16>,
    #[serde(default)]
    skip_reason: Option<String>,
    #[serde(default)]
    required: Option<u64>,
}

/// Builds the [`ApiError`] for a Sova Intel error answer.
///
/// Reads the documented body (`{message, statusCode}`, the NestJS variant with `error` and a
/// `message` array, the 402 body `{error, required}`, `skipReason` on 422), the x402 headers
/// (`PAYMENT-REQUIRED`, `PAYMENT-RESPONSE`, `X-Payment-Response`) and `Retry-After`.
/// Malformed x402 headers do not hide the status: they are reported as an error detail.
pub fn api_error(response: &Response<Vec<u8>>) -> ApiError {
    let headers = response.headers();
    let body = response.body();
    let mut e = ApiError::new(Service::Intel, response.status());
    e.body = body.clone();
    e.retry_after = decode::retry_after(headers);
    e.trace_id = decode::header_str(headers, "x-trace-id")
        .or_else(|| decode::header_str(headers, "x-request-id"))
        .map(str::to_owned);
    e.body_kind = sniff(headers, body);
    if e.body_kind == BodyKind::Json {
        match serde_json::from_slice::<IntelErrorBody>(body) {
            Ok(b) => {
                let other_shape = b.message.is_none()
                    && b.error.is_none()
                    && b.status_code.is_none()
                    && b.skip_reason.is_none()
                    && b.required.is_none();
                let code = b.error.as_ref().and_then(Value::as_str).map(str::to_owned);
                match b.message {
                    Some(Value::String(m)) => e.errors.push(ApiErrorDetail {
                        code: code.clone(),
                        message: m,
                    }),
                    Some(Value::Array(items)) => {
                        for m in items {
                            let message = match m {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            e.errors.push(ApiErrorDetail {
                                code: code.clone(),
                                message,
                            });
                        }
                    }
                    Some(other) if !other.is_null() => e.errors.push(ApiErrorDetail {
                        code: code.clone(),
                        message: other.to_string(),
                    }),
                    _ => {}
                }
                if e.errors.is_empty()
                    && let Some(c) = code
                {
                    e.errors.push(ApiErrorDetail {
                        code: None,
                        message: c,
                    });
                }
                if other_shape {
                    e.body_kind = BodyKind::OtherJson;
                }
                e.skip_reason = b.skip_reason;
                e.required_credits = b.required;
            }
            Err(_) => e.body_kind = BodyKind::OtherJson,
        }
    }
    match PaymentRequired::from_response(headers, body) {
        Ok(p) => e.payment_required = p,
        Err(err) => e.errors.push(ApiErrorDetail {
            code: Some("malformed_payment_required".into()),
            message: err.to_string(),
        }),
    }
    match Settlement::from_headers(headers) {
        Some(Ok(s)) => e.settlement = Some(s),
        Some(Err(err)) => e.errors.push(ApiErrorDetail {
            code: Some("malformed_payment_response".into()),
            message: err.to_string(),
        }),
        None => {}
    }
    if let Some(Settlement::Response(r)) = &e.settlement
        && !r.success
    {
        let reason = r.error_message.clone().or_else(|| r.error_reason.clone());
        if let Some(reason) = reason {
            e.errors.push(ApiErrorDetail {
                code: r.error_reason.clone(),
                message: reason,
            });
        }
    }
    e
}
