//! Reconciliation of an ambiguous payment through our own Solana RPC: block height first,
//! then the signature lookup (status when the transaction id is known, an exact memo search
//! over every page of the payer's token account otherwise).

use sova_protocol::http::{Request, Response};
use sova_x402::rpc::{
    GetEpochInfo, GetSignatureStatuses, GetSignaturesForAddress, RpcCall, SignatureInfo,
    SignatureStatus, context_slot,
};
use sova_x402::{Evidence, PaymentRecord, Reconciliation};

enum Asking {
    Height(GetEpochInfo),
    Statuses(GetSignatureStatuses),
    Signatures(GetSignaturesForAddress),
}

/// The next step of a reconciliation.
pub(crate) enum RecStep {
    /// Send this RPC request.
    Ask(Request<Vec<u8>>),
    /// The verdict.
    Verdict(Reconciliation),
}

/// A reconciliation in progress.
pub(crate) struct Reconcile {
    record: PaymentRecord,
    rpc_url: String,
    asking: Asking,
    height: Option<u64>,
    height_slot: Option<u64>,
    statuses_slot: Option<u64>,
    statuses: Option<Vec<Option<SignatureStatus>>>,
    signatures: Option<Vec<SignatureInfo>>,
    complete: bool,
    pages: usize,
    next_id: u64,
}

impl Reconcile {
    /// Starts with the block height, read from a node that has seen our blockhash's slot.
    pub(crate) fn start(record: PaymentRecord, rpc_url: &str) -> (Reconcile, RecStep) {
        let first = GetEpochInfo {
            min_context_slot: record.blockhash_slot,
        };
        let mut rec = Reconcile {
            record,
            rpc_url: rpc_url.to_owned(),
            asking: Asking::Height(first),
            height: None,
            height_slot: None,
            statuses_slot: None,
            statuses: None,
            signatures: None,
            complete: false,
            pages: 0,
            next_id: 1,
        };
        let step = rec.ask(Asking::Height(first));
        (rec, step)
    }

    fn ask(&mut self, asking: Asking) -> RecStep {
        let id = self.next_id;
        self.next_id += 1;
        let request = match &asking {
            Asking::Height(c) => c.http_request(&self.rpc_url, id),
            Asking::Statuses(c) => c.http_request(&self.rpc_url, id),
            Asking::Signatures(c) => c.http_request(&self.rpc_url, id),
        };
        self.asking = asking;
        match request {
            Ok(r) => RecStep::Ask(r),
            Err(_) => self.verdict(),
        }
    }

    fn verdict(&self) -> RecStep {
        RecStep::Verdict(self.record.reconcile(&Evidence {
            statuses: self.statuses.as_deref(),
            signatures: self.signatures.as_deref(),
            signatures_complete: self.complete,
            block_height: self.height,
            height_slot: self.height_slot,
            statuses_slot: self.statuses_slot,
        }))
    }

    /// An RPC answer.
    pub(crate) fn on_response(&mut self, response: &Response<Vec<u8>>) -> RecStep {
        if !response.status().is_success() {
            return self.verdict();
        }
        let body = response.body().as_slice();
        match &self.asking {
            Asking::Height(c) => match c.parse(body) {
                Ok(h) => {
                    self.height = Some(h.block_height);
                    self.height_slot = Some(h.absolute_slot);
                    let calls = self.record.reconcile_calls();
                    if let Some(s) = calls.statuses {
                        self.ask(Asking::Statuses(s))
                    } else if let Some(mut s) = calls.signatures {
                        // The history must come from a node at least as far along.
                        s.min_context_slot = self.height_slot;
                        self.ask(Asking::Signatures(s))
                    } else {
                        self.verdict()
                    }
                }
                Err(_) => self.verdict(),
            },
            Asking::Statuses(c) => {
                if let Ok(v) = c.parse(body) {
                    self.statuses = Some(v);
                    self.statuses_slot = context_slot(body);
                }
                self.verdict()
            }
            Asking::Signatures(c) => match c.parse(body) {
                Ok(page) => {
                    self.pages += 1;
                    let next = self.record.next_signature_page(&page, self.pages);
                    let complete = self.record.signature_search_complete(&page);
                    self.signatures.get_or_insert_with(Vec::new).extend(page);
                    match next {
                        Some(mut n) => {
                            n.min_context_slot = self.height_slot;
                            self.ask(Asking::Signatures(n))
                        }
                        None => {
                            // Complete when the history ends or reaches past our blockhash's
                            // slot; stopping at the page limit leaves it incomplete.
                            self.complete = complete;
                            self.verdict()
                        }
                    }
                }
                Err(_) => self.verdict(),
            },
        }
    }

    /// The RPC could not be reached: decide with what is known (never proof of absence).
    pub(crate) fn on_failure(&mut self) -> RecStep {
        self.verdict()
    }
}
