//! Composing and signing one payment: the nonce and the compiled message (checked against
//! the payments already signed), the signature under a reservation, the header and the
//! pre-flight check; and, for durable ledgers, a payment waiting for its reservation.

use std::time::Instant;

use super::*;
use crate::ledger::ReserveOutcome;

impl Payer {
    /// Picks the nonce and compiles the message, checking it against the payments already
    /// signed (by this payer, and for nonce-less messages by every payer of the process).
    /// `None`: every variant tried was a duplicate. Nothing is signed or reserved.
    pub(super) fn compose(
        &self,
        c: &Candidate<'_>,
        info: MintInfo,
        blockhash: &LatestBlockhash,
        force_nonce: bool,
    ) -> Result<Option<Composed>, Error> {
        let mut unit_limit_nonce = None;
        let (memo, mut nonce) = match (c.layout, c.seller_memo) {
            (Layout::Minimal, _) if !c.always_nonce && !force_nonce => (None, None),
            (_, Some(m)) => {
                // The seller's memo must be the Memo data, so it cannot carry our nonce: the
                // nonce goes into the compute-unit limit instead (up to 4,095 units above
                // the configured limit), which keeps concurrent payments distinct.
                let n = self.nonces.next_nonce()?;
                let bump = u32::from(u16::from_le_bytes([n[0], n[1]]) & 0x0fff);
                unit_limit_nonce = Some(bump);
                (Some(m.to_owned()), Some(format!("cu+{bump}")))
            }
            (_, None) => {
                let hex = nonce_hex(&self.nonces.next_nonce()?);
                (Some(hex.clone()), Some(hex))
            }
        };
        let mut compute_budget = match c.layout {
            Layout::Sponsored { .. } => Some(self.compute_budget),
            Layout::SelfPaid if self.self_paid_compute_budget => Some(self.compute_budget),
            _ => None,
        };
        if let (Some(b), Some(bump)) = (compute_budget.as_mut(), unit_limit_nonce) {
            b.unit_limit = b
                .unit_limit
                .saturating_add(bump)
                .min(ComputeBudget::MAX_UNIT_LIMIT);
        }
        let mut spec = PaymentSpec {
            layout: c.layout,
            mint: info,
            amount: c.req.amount.0,
            pay_to: c.pay_to,
            memo,
            compute_budget,
            create_recipient_ata: self.create_recipient_ata,
            blockhash: blockhash.blockhash,
        };
        // Identical inputs give identical signatures (Ed25519 is deterministic). With a
        // compute budget, a one-unit change of the limit makes the payment distinct.
        for bump in 0..4u32 {
            // The message is compiled and checked against the recent ones before it is
            // signed, so a duplicate costs a compile, not a signature.
            let unsigned = tx::compile(&spec, &self.payer_key)?;
            // A documented (nonce-less) transfer is checked against every payer of the
            // process, since two payers on one wallet would sign it byte for byte; the
            // others carry a nonce and are checked against this payer's own.
            let plain = spec.layout == Layout::Minimal && spec.memo.is_none();
            let fresh = (!plain
                || PLAIN_MESSAGES
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(&unsigned.message))
                && self
                    .recent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(&unsigned.message);
            if fresh {
                // Other processes on this wallet are seen through the ledger: a nonce-less
                // message is journaled under its digest, which the ledger keeps unique.
                let digest = plain.then(|| message_digest(&unsigned.message));
                return Ok(Some(Composed {
                    spec,
                    unsigned,
                    nonce,
                    digest,
                }));
            }
            if spec.layout == Layout::Minimal && spec.memo.is_none() {
                // This payer already signed the same transfer over this blockhash: the bytes
                // (and the signature) would be identical and the server would refuse the
                // second as a replay. Only then does the documented transaction get a Memo
                // nonce, which keeps it a legacy message with one `TransferChecked`.
                let hex = nonce_hex(&self.nonces.next_nonce()?);
                spec.memo = Some(hex.clone());
                nonce = Some(hex);
                continue;
            }
            match spec.compute_budget.as_mut() {
                Some(b) if bump < 3 && b.unit_limit < ComputeBudget::MAX_UNIT_LIMIT => {
                    b.unit_limit = unsigned
                        .compute_budget
                        .map_or(b.unit_limit, |e| e.unit_limit)
                        + 1;
                }
                _ => break,
            }
        }
        Ok(None)
    }

    /// Signs a composed payment under its reservation, encodes the header and verifies it.
    /// On error the reservation is released.
    pub(super) fn finish(
        &self,
        required: &PaymentRequired,
        chosen: Chosen<'_>,
        composed: Composed,
        reservation: Reservation,
        now: Instant,
    ) -> Result<PreparedPayment, Error> {
        let Chosen {
            index,
            req,
            layout,
            blockhash,
            source,
            documented_form,
            host,
        } = chosen;
        let fail = |reservation: Reservation, e: Error| {
            reservation.release();
            Err(e)
        };
        let Composed {
            spec,
            unsigned,
            nonce,
            ..
        } = composed;
        let signed = match tx::sign_payment(
            &unsigned,
            &*self.signer,
            self.verify_options.verify_signatures,
        ) {
            Ok(s) => s,
            Err(e) => return fail(reservation, e.into()),
        };
        // A v1 payload has one shape, `{x402Version: 1, scheme, network, payload}`.
        let shape = if documented_form || req.version == 1 {
            PayloadShape::Flat
        } else if matches!(layout, Layout::Sponsored { .. }) {
            self.sponsored_shape_for(host)
        } else {
            self.shape_for(host)
        };
        let mut payload = PaymentPayload::new(Some(required), req, signed.to_base64());
        let payment_id = match payment_identifier(required, &*self.nonces) {
            Ok(Some((id, extensions))) => {
                payload.extensions = Some(extensions);
                Some(id)
            }
            Ok(None) => None,
            Err(e) => return fail(reservation, e),
        };
        let header = payload.encode(shape);
        let report = verify(Against::Required(required), &header, &self.verify_options);
        if !report.passed() {
            return fail(reservation, Error::Preflight(Box::new(report)));
        }
        let (mode, fee_payer) = match layout {
            Layout::Sponsored { fee_payer } => (PaymentMode::Sponsored, fee_payer),
            Layout::Minimal => (PaymentMode::Minimal, self.payer_key),
            _ => (PaymentMode::SelfPaid, self.payer_key),
        };
        let payer_signature = signed.signature.to_string();
        let record = PaymentRecord {
            network: self.network.clone(),
            asset: spec.mint.mint.to_string(),
            amount: req.amount.0,
            decimals: spec.mint.decimals,
            pay_to: spec.pay_to.to_string(),
            destination: signed.destination.to_string(),
            source: signed.source.to_string(),
            payer: self.payer_key.to_string(),
            fee_payer: fee_payer.to_string(),
            mode,
            memo: spec.memo,
            nonce,
            blockhash: blockhash.blockhash.to_string(),
            blockhash_source: source,
            last_valid_block_height: blockhash.last_valid_block_height,
            blockhash_slot: blockhash.context_slot,
            transaction_signature: (fee_payer == self.payer_key).then(|| payer_signature.clone()),
            payer_signature,
            payment_id,
        };
        Ok(PreparedPayment {
            header,
            shape,
            requirement: req.clone(),
            index,
            record,
            transaction: signed.wire,
            reservation,
            prepared_at: now,
        })
    }

    /// Finishes a payment prepared for a durable ledger ([`Prepared::NeedReservation`]) with
    /// the ledger's answer to its [`PendingPayment::request`]: signs it when reserved; when
    /// another payment holds the same bytes, composes it again with a nonce and asks for a
    /// new reservation; refuses it as the ledger said otherwise.
    pub fn complete(
        &self,
        pending: Box<PendingPayment>,
        outcome: ReserveOutcome,
    ) -> Result<Prepared, Error> {
        let p = *pending;
        let Some(req) = p.required.accepts.get(p.index) else {
            return Err(Error::Config("the pending payment's option is gone".into()));
        };
        let chosen = Chosen {
            index: p.index,
            req,
            layout: p.layout,
            blockhash: p.blockhash,
            source: p.source,
            documented_form: p.documented_form,
            host: p.host.as_deref(),
        };
        match outcome {
            ReserveOutcome::Reserved => {
                let reservation =
                    self.policy
                        .reservation(p.request.id.clone(), &p.mint, p.request.amount);
                let payment =
                    self.finish(&p.required, chosen, p.composed, reservation, p.prepared_at)?;
                Ok(Prepared::Ready(Box::new(payment)))
            }
            ReserveOutcome::Refused(reason) => Err(Error::Refused(vec![Refusal {
                index: p.index,
                reason: reason.into(),
            }])),
            _ => {
                // Another process journaled the same bytes: a nonce makes ours distinct.
                let c = Candidate {
                    index: p.index,
                    req,
                    mint: p.mint,
                    info: Some(p.composed.spec.mint),
                    pay_to: p.composed.spec.pay_to,
                    layout: p.layout,
                    seller_memo: None,
                    always_nonce: true,
                };
                let Some(composed) = self.compose(&c, p.composed.spec.mint, &p.blockhash, true)?
                else {
                    return Err(Error::Duplicate {
                        blockhash: p.blockhash.blockhash.to_string(),
                    });
                };
                let mut request = p.request.clone();
                request.id = crate::ledger::new_id("pay_");
                request.message_digest = composed.digest.clone();
                Ok(Prepared::NeedReservation(Box::new(PendingPayment {
                    composed,
                    request,
                    ..p
                })))
            }
        }
    }
}

/// A hex SHA-256 prefix of a compiled message: the ledger's duplicate key.
fn message_digest(message: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(message);
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A compiled, unsigned payment and the nonce it carries.
#[derive(Debug)]
pub(super) struct Composed {
    pub(super) spec: PaymentSpec,
    pub(super) unsigned: tx::UnsignedPayment,
    pub(super) nonce: Option<String>,
    /// The ledger's duplicate key, for nonce-less messages.
    pub(super) digest: Option<String>,
}

/// The option chosen, as `finish` needs it.
pub(super) struct Chosen<'r> {
    pub(super) index: usize,
    pub(super) req: &'r PaymentRequirements,
    pub(super) layout: Layout,
    pub(super) blockhash: LatestBlockhash,
    pub(super) source: BlockhashSource,
    pub(super) documented_form: bool,
    pub(super) host: Option<&'r str>,
}

/// A payment composed for a durable ledger and waiting for its reservation: run
/// [`PendingPayment::request`] on the ledger (off any async executor), then hand the outcome
/// to [`Payer::complete`]. Nothing is signed yet.
#[derive(Debug)]
pub struct PendingPayment {
    pub(super) required: PaymentRequired,
    pub(super) index: usize,
    pub(super) layout: Layout,
    pub(super) mint: Pubkey,
    pub(super) blockhash: LatestBlockhash,
    pub(super) source: BlockhashSource,
    pub(super) composed: Composed,
    pub(super) documented_form: bool,
    pub(super) host: Option<String>,
    pub(super) prepared_at: Instant,
    pub(super) request: ReserveRequest,
}

impl PendingPayment {
    /// The reservation to run on the ledger.
    pub fn request(&self) -> &ReserveRequest {
        &self.request
    }

    /// Sets the logical request id and the endpoint the journal records.
    pub fn for_request(mut self: Box<Self>, request_id: &str, endpoint: &str) -> Box<Self> {
        request_id.clone_into(&mut self.request.request_id);
        self.request.endpoint = Some(endpoint.to_owned());
        self
    }

    /// Uses `now_ms` as the reservation's wall-clock time.
    pub fn at(mut self: Box<Self>, now_ms: u64) -> Box<Self> {
        self.request.now_ms = now_ms;
        self
    }
}
