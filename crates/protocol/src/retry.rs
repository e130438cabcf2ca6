//! The pure retry decision.
//!
//! Given what happened on an attempt, [`RetryPolicy::decide`] answers [`Decision::Stop`] or
//! [`Decision::Retry`] with a delay: exponential backoff with jitter from an injected
//! [`Jitter`] source, capped, honouring `Retry-After`. The clients only execute the answer.
//!
//! **Payments.** A retry always resends the *same* request, and for a paid request that means
//! the same signed `PAYMENT-SIGNATURE`: one signed Solana transaction can settle at most once,
//! so resending it cannot charge twice. There is deliberately no decision that re-signs; a
//! `402` answer to a paid request is always [`StopReason::PaymentRejected`], and the payment
//! driver decides (from the server's reason) whether a new payment is safe.

use std::time::Duration;

use http::StatusCode;

/// How a transport failed (the transports classify their errors into these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established: nothing was sent.
    Connect,
    /// The attempt timed out: the request may have been received.
    Timeout,
    /// The connection broke while sending or receiving: the request may have been received.
    Io,
    /// Anything else (TLS, protocol, invalid response).
    Other,
}

impl TransportErrorKind {
    /// Whether the server may have received the request.
    pub fn may_have_been_sent(self) -> bool {
        !matches!(self, TransportErrorKind::Connect)
    }
}

/// What happened on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this status.
    Status {
        /// The status.
        status: StatusCode,
        /// `Retry-After`, when given in seconds.
        retry_after: Option<Duration>,
    },
    /// The transport failed.
    Transport(TransportErrorKind),
}

/// Facts about the request that bear on retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestTraits {
    /// Repeating it is harmless (GET, PUT, DELETE…).
    pub idempotent: bool,
    /// It carries a signed payment (`PAYMENT-SIGNATURE`).
    pub paid: bool,
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do not try again.
    Stop(StopReason),
    /// Send the same request again after this delay.
    Retry(Duration),
}

/// Why retrying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// A success or an error that retrying cannot fix.
    NotRetryable,
    /// The attempt budget is spent.
    AttemptsExhausted,
    /// The server asked to wait longer than the policy allows.
    RetryAfterTooLong,
    /// A non-idempotent, unpaid request may have reached the server: repeating it could
    /// create a second resource.
    NotIdempotent,
    /// A paid request was answered 402: never re-signed by the retry loop.
    PaymentRejected,
}

/// A source of jitter: fractions in `[0, 1)`. Injected so that tests are deterministic.
pub trait Jitter {
    /// The next fraction in `[0, 1)`.
    fn fraction(&mut self) -> f64;
}

/// No jitter: always the full backoff delay (deterministic mode for tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn fraction(&mut self) -> f64 {
        1.0 - f64::EPSILON
    }
}

/// A small deterministic generator (SplitMix64) for callers that have no RNG at hand; seed
/// it from anything (time, a counter). Not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl Jitter for SplitMix {
    fn fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = never retry). Default 3, as the Sova Intel
    /// docs advise.
    pub max_attempts: u32,
    /// The first backoff delay; each further one doubles. Default 2 s (then 4 s), as the
    /// Sova Intel docs advise, with equal jitter (each delay is between half and all of it).
    pub base_delay: Duration,
    /// The largest backoff delay. Default 10 s.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer ones stop. Default 60 s.
    pub max_retry_after: Duration,
    /// Statuses retried. Default 429, 500, 502, 503, 504 (the Sova Intel docs list 500 as
    /// retryable). A paid request is resent with the same signed payment.
    pub retry_statuses: Vec<StatusCode>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            retry_statuses: vec![
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::GATEWAY_TIMEOUT,
            ],
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before attempt `attempt + 1`, without jitter: `base × 2^(attempt-1)`,
    /// capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Decides after attempt number `attempt` (1-based) ended in `outcome`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sova_protocol::http::StatusCode;
    /// use sova_protocol::retry::*;
    ///
    /// let policy = RetryPolicy::default();
    /// let get = RequestTraits { idempotent: true, paid: false };
    /// let busy = Outcome::Status { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: Some(Duration::from_secs(2)) };
    /// assert_eq!(policy.decide(1, &busy, get, &mut NoJitter), Decision::Retry(Duration::from_secs(2)));
    /// ```
    pub fn decide(
        &self,
        attempt: u32,
        outcome: &Outcome,
        request: RequestTraits,
        jitter: &mut dyn Jitter,
    ) -> Decision {
        let (retryable, retry_after) = match *outcome {
            Outcome::Status {
                status,
                retry_after,
            } => {
                if status == StatusCode::PAYMENT_REQUIRED && request.paid {
                    return Decision::Stop(StopReason::PaymentRejected);
                }
                if !self.retry_statuses.contains(&status) {
                    return Decision::Stop(StopReason::NotRetryable);
                }
                // 429 and 503 say the request was not processed; other 5xx may hide effects.
                let unprocessed = status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE;
                (
                    unprocessed || request.idempotent || request.paid,
                    retry_after,
                )
            }
            Outcome::Transport(kind) => match kind {
                TransportErrorKind::Connect => (true, None),
                TransportErrorKind::Timeout | TransportErrorKind::Io => {
                    (request.idempotent || request.paid, None)
                }
                TransportErrorKind::Other => return Decision::Stop(StopReason::NotRetryable),
            },
        };
        if !retryable {
            return Decision::Stop(StopReason::NotIdempotent);
        }
        if attempt >= self.max_attempts {
            return Decision::Stop(StopReason::AttemptsExhausted);
        }
        if let Some(ra) = retry_after {
            if ra > self.max_retry_after {
                return Decision::Stop(StopReason::RetryAfterTooLong);
            }
            return Decision::Retry(ra);
        }
        let full = self.backoff(attempt);
        // "Equal jitter": half fixed, half random, so retries never bunch up at zero.
        let f = jitter.fraction().clamp(0.0, 1.0);
        Decision::Retry(full / 2 + full.mul_f64(f / 2.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: RequestTraits = RequestTraits {
        idempotent: true,
        paid: false,
    };
    const POST: RequestTraits = RequestTraits {
        idempotent: false,
        paid: false,
    };
    const PAID_POST: RequestTraits = RequestTraits {
        idempotent: false,
        paid: true,
    };

    fn status(code: u16) -> Outcome {
        Outcome::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
        }
    }

    #[test]
    fn retries_documented_statuses_with_growing_backoff() {
        let p = RetryPolicy::default();
        let mut j = NoJitter;
        // The documented schedule: 3 attempts, 2 s then 4 s; 500 is retryable too.
        for code in [500, 502, 503, 504, 429] {
            assert_eq!(
                p.decide(1, &status(code), GET, &mut j),
                Decision::Retry(Duration::from_secs(2)),
                "{code}"
            );
            assert_eq!(
                p.decide(2, &status(code), GET, &mut j),
                Decision::Retry(Duration::from_secs(4)),
                "{code}"
            );
            assert_eq!(
                p.decide(3, &status(code), GET, &mut j),
                Decision::Stop(StopReason::AttemptsExhausted),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409, 422, 200, 202] {
            assert_eq!(
                p.decide(1, &status(code), GET, &mut j),
                Decision::Stop(StopReason::NotRetryable),
                "{code}"
            );
        }
    }

    #[test]
    fn backoff_is_capped() {
        let p = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(40), p.max_delay);
        assert_eq!(p.backoff(1), p.base_delay);
    }

    #[test]
    fn honours_retry_after_within_limit() {
        let p = RetryPolicy::default();
        let o = Outcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            p.decide(1, &o, POST, &mut NoJitter),
            Decision::Retry(Duration::from_secs(3))
        );
        let long = Outcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(
            p.decide(1, &long, GET, &mut NoJitter),
            Decision::Stop(StopReason::RetryAfterTooLong)
        );
    }

    #[test]
    fn creating_posts_are_not_retried_blindly() {
        let p = RetryPolicy::default();
        let mut j = NoJitter;
        assert_eq!(
            p.decide(1, &status(502), POST, &mut j),
            Decision::Stop(StopReason::NotIdempotent)
        );
        assert_eq!(
            p.decide(1, &status(504), POST, &mut j),
            Decision::Stop(StopReason::NotIdempotent)
        );
        assert_eq!(
            p.decide(
                1,
                &Outcome::Transport(TransportErrorKind::Timeout),
                POST,
                &mut j
            ),
            Decision::Stop(StopReason::NotIdempotent)
        );
        // Nothing was sent, or the server said it did not process the request.
        assert!(matches!(
            p.decide(
                1,
                &Outcome::Transport(TransportErrorKind::Connect),
                POST,
                &mut j
            ),
            Decision::Retry(_)
        ));
        assert!(matches!(
            p.decide(1, &status(429), POST, &mut j),
            Decision::Retry(_)
        ));
        assert!(matches!(
            p.decide(1, &status(503), POST, &mut j),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn paid_requests_resend_the_same_payment_but_never_after_402() {
        let p = RetryPolicy::default();
        let mut j = NoJitter;
        assert!(matches!(
            p.decide(1, &status(502), PAID_POST, &mut j),
            Decision::Retry(_)
        ));
        assert!(matches!(
            p.decide(
                1,
                &Outcome::Transport(TransportErrorKind::Io),
                PAID_POST,
                &mut j
            ),
            Decision::Retry(_)
        ));
        assert_eq!(
            p.decide(1, &status(402), PAID_POST, &mut j),
            Decision::Stop(StopReason::PaymentRejected)
        );
        let paid_get = RequestTraits {
            idempotent: true,
            paid: true,
        };
        assert_eq!(
            p.decide(1, &status(402), paid_get, &mut j),
            Decision::Stop(StopReason::PaymentRejected)
        );
        // An unpaid 402 is an answer (the x402 challenge), not a retry case.
        assert_eq!(
            p.decide(1, &status(402), GET, &mut j),
            Decision::Stop(StopReason::NotRetryable)
        );
    }

    #[test]
    fn jitter_stays_within_half_to_full() {
        let p = RetryPolicy::default();
        let mut j = SplitMix(42);
        for attempt in 1..3 {
            for _ in 0..200 {
                let Decision::Retry(d) = p.decide(attempt, &status(503), GET, &mut j) else {
                    panic!()
                };
                let full = p.backoff(attempt);
                assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
            }
        }
    }

    #[test]
    fn other_transport_errors_stop() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(
                1,
                &Outcome::Transport(TransportErrorKind::Other),
                GET,
                &mut NoJitter
            ),
            Decision::Stop(StopReason::NotRetryable)
        );
        assert!(!TransportErrorKind::Connect.may_have_been_sent());
        assert!(TransportErrorKind::Timeout.may_have_been_sent());
    }
}
