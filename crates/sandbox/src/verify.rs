//! Server-side verification of an x402 `exact` payment on Solana: the facilitator checks of
//! `reference/x402-solana.md` §3.11, answered with Sova's message strings where Sova has one.

use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use sova_protocol::x402::{PaymentPayload, PaymentRequirements, b64, networks};

use sova_x402::programs::{CU_LIMIT_DISC, CU_PRICE_DISC, TRANSFER_CHECKED_DISC};

use crate::ledger::{
    COMPUTE_BUDGET_PROGRAM_ID, LIGHTHOUSE_PROGRAM_ID, MEMO_PROGRAM_ID, MEMO_V1_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, ata, decode_transaction, extract_memos,
};
use crate::state::Mode;

/// Sova's message for a wrong destination.
pub(crate) const MSG_DESTINATION: &str = "transfer destination does not match treasury ATA";
/// Sova's message for a replayed transaction.
pub(crate) const MSG_REPLAY: &str = "transaction already used (replay attack)";
/// Sova's message for a failed settlement.
pub(crate) const MSG_CONFIRMATION: &str = "transaction confirmation failed";

/// Compute-unit limit a sponsored transaction may ask for.
const MAX_COMPUTE_UNITS: u32 = 400_000;
/// Compute-unit price (µlamports) a sponsored transaction may ask for.
const MAX_MICRO_LAMPORTS: u64 = 5_000_000;

/// A payment that passed verification.
#[derive(Debug)]
pub(crate) struct Verified {
    pub tx: VersionedTransaction,
    pub payer: Pubkey,
    pub amount: u64,
    pub replay_key: [u8; 64],
    pub memo: Option<String>,
    /// The payload's `x402Version` (1 or 2).
    pub version: u64,
    /// The payload had the flat shape (no `accepted`).
    pub flat: bool,
}

/// A refused payment: a message (Sova's strings where they exist) and an x402 reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub message: String,
    pub reason: &'static str,
}

fn refuse(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        message: message.into(),
        reason,
    }
}

/// What verification needs to know about the server side.
pub(crate) struct Expect<'a> {
    pub mode: Mode,
    pub requirement: &'a PaymentRequirements,
    pub pay_to: Pubkey,
    pub asset: Pubkey,
    pub asset_program: Pubkey,
    pub facilitator: Pubkey,
    /// The payment came in the v1 `X-PAYMENT` header.
    pub via_x_payment: bool,
}

/// Decodes and verifies a `PAYMENT-SIGNATURE` value.
pub(crate) fn verify(header: &str, expect: &Expect<'_>) -> Result<Verified, Refusal> {
    let payload = PaymentPayload::decode(header)
        .map_err(|e| refuse("invalid_payload", format!("invalid payment payload: {e}")))?;
    // x402 v2 payloads in `PAYMENT-SIGNATURE` (or `X-PAYMENT`); v1 payloads only in the v1
    // header, `X-PAYMENT`.
    let version_ok = match payload.x402_version {
        2 => true,
        1 => expect.via_x_payment,
        _ => false,
    };
    if !version_ok {
        return Err(refuse(
            "invalid_x402_version",
            "unsupported x402Version (expected 2, or 1 in X-PAYMENT)",
        ));
    }
    if expect.mode == Mode::Standard && payload.x402_version == 2 && payload.accepted.is_none() {
        return Err(refuse(
            "invalid_payload",
            "invalid payment payload: `accepted` is required (x402 v2 payload)",
        ));
    }
    if let Some(scheme) = payload.scheme()
        && scheme != "exact"
    {
        return Err(refuse(
            "unsupported_scheme",
            format!("unsupported scheme {scheme:?}"),
        ));
    }
    if let Some(network) = payload.network()
        && networks::normalize(network) != expect.requirement.network
    {
        return Err(refuse(
            "network_mismatch",
            format!("network mismatch: {network}"),
        ));
    }
    if let Some(accepted) = &payload.accepted
        && !accepted.same_payment(expect.requirement)
    {
        return Err(refuse(
            "accepted_requirements_mismatch",
            "No matching payment requirements",
        ));
    }
    let bytes = b64::decode(&payload.payload.transaction).map_err(|e| {
        refuse(
            "invalid_exact_svm_payload_transaction_could_not_be_decoded",
            format!("invalid payment payload: transaction is not base64: {e}"),
        )
    })?;
    let tx = decode_transaction(&bytes).map_err(|e| {
        refuse(
            "invalid_exact_svm_payload_transaction_could_not_be_decoded",
            format!("invalid payment payload: {e}"),
        )
    })?;
    let mut verified = check_transaction(tx, expect)?;
    verified.version = payload.x402_version;
    verified.flat = payload.accepted.is_none();
    Ok(verified)
}

struct Transfer {
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    program: Pubkey,
    amount: u64,
    decimals: u8,
}

fn check_transaction(tx: VersionedTransaction, expect: &Expect<'_>) -> Result<Verified, Refusal> {
    let msg = &tx.message;
    if msg.address_table_lookups().is_some_and(|l| !l.is_empty()) {
        return Err(refuse(
            "invalid_exact_svm_payload_transaction_could_not_be_decoded",
            "address lookup tables are not supported in payment transactions",
        ));
    }
    let keys = msg.static_account_keys();
    let fee_payer = *keys
        .first()
        .ok_or_else(|| refuse("invalid_payload", "transaction has no accounts"))?;
    let required = usize::from(msg.header().num_required_signatures);

    let mut transfers = Vec::new();
    let mut cu_limit_seen = 0;
    let mut cu_price_seen = 0;
    for ix in msg.instructions() {
        let program = *keys
            .get(usize::from(ix.program_id_index))
            .ok_or_else(|| refuse("invalid_payload", "instruction program index out of range"))?;
        let accounts = ix
            .accounts
            .iter()
            .map(|i| keys.get(usize::from(*i)).copied())
            .collect::<Option<Vec<Pubkey>>>()
            .ok_or_else(|| refuse("invalid_payload", "instruction account index out of range"))?;
        if program == TOKEN_PROGRAM_ID || program == TOKEN_2022_PROGRAM_ID {
            // TransferChecked: [12] ++ u64 amount ++ u8 decimals; accounts source, mint, destination, authority.
            if ix.data.len() != 10 || ix.data[0] != TRANSFER_CHECKED_DISC || accounts.len() < 4 {
                return Err(refuse(
                    "invalid_exact_svm_payload_no_transfer_instruction",
                    "invalid payment: token instruction is not TransferChecked",
                ));
            }
            let mut amount = [0u8; 8];
            amount.copy_from_slice(&ix.data[1..9]);
            transfers.push(Transfer {
                mint: accounts[1],
                destination: accounts[2],
                authority: accounts[3],
                program,
                amount: u64::from_le_bytes(amount),
                decimals: ix.data[9],
            });
        } else if program == COMPUTE_BUDGET_PROGRAM_ID {
            match ix.data.first() {
                Some(&CU_LIMIT_DISC) if ix.data.len() == 5 => {
                    cu_limit_seen += 1;
                    let mut b = [0u8; 4];
                    b.copy_from_slice(&ix.data[1..5]);
                    if expect.mode == Mode::Standard && u32::from_le_bytes(b) > MAX_COMPUTE_UNITS {
                        return Err(refuse(
                            "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction_too_high",
                            "invalid payment: compute unit limit too high",
                        ));
                    }
                }
                Some(&CU_PRICE_DISC) if ix.data.len() == 9 => {
                    cu_price_seen += 1;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&ix.data[1..9]);
                    if expect.mode == Mode::Standard && u64::from_le_bytes(b) > MAX_MICRO_LAMPORTS {
                        return Err(refuse(
                            "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
                            "invalid payment: compute unit price too high",
                        ));
                    }
                }
                _ => {
                    return Err(refuse(
                        "invalid_exact_svm_payload_unknown_instruction",
                        "invalid payment: unexpected compute budget instruction",
                    ));
                }
            }
            if !accounts.is_empty() {
                return Err(refuse(
                    "invalid_exact_svm_payload_unknown_instruction",
                    "invalid payment: compute budget instruction with accounts",
                ));
            }
        } else if program == MEMO_PROGRAM_ID || program == MEMO_V1_PROGRAM_ID {
            if ix.data.len() > 566 || std::str::from_utf8(&ix.data).is_err() {
                return Err(refuse(
                    "invalid_exact_svm_payload_memo_mismatch",
                    "invalid payment: memo is not UTF-8",
                ));
            }
        } else if program == LIGHTHOUSE_PROGRAM_ID {
            // Tolerated (wallet-injected assertions).
        } else {
            return Err(refuse(
                "invalid_exact_svm_payload_unknown_instruction",
                format!("invalid payment: unexpected instruction for program {program}"),
            ));
        }
        if expect.mode == Mode::Standard && accounts.contains(&expect.facilitator) {
            return Err(refuse(
                "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
                "invalid payment: the fee payer must not appear in instruction accounts",
            ));
        }
    }
    if cu_limit_seen > 1 || cu_price_seen > 1 {
        return Err(refuse(
            "invalid_exact_svm_payload_transaction_instructions_length",
            "invalid payment: duplicate compute budget instructions",
        ));
    }
    let transfer = match transfers.len() {
        1 => transfers.remove(0),
        0 => {
            return Err(refuse(
                "invalid_exact_svm_payload_no_transfer_instruction",
                "invalid payment: no TransferChecked instruction",
            ));
        }
        _ => {
            return Err(refuse(
                "invalid_exact_svm_payload_transaction_instructions_length",
                "invalid payment: more than one transfer instruction",
            ));
        }
    };
    if transfer.mint != expect.asset {
        return Err(refuse(
            "invalid_exact_svm_payload_mint_mismatch",
            format!(
                "invalid payment: mint {} is not the requested asset {}",
                transfer.mint, expect.asset
            ),
        ));
    }
    if transfer.program != expect.asset_program {
        return Err(refuse(
            "invalid_exact_svm_payload_no_transfer_instruction",
            "invalid payment: transfer uses the wrong token program for this mint",
        ));
    }
    let treasury_ata = ata(&expect.pay_to, &expect.asset, &expect.asset_program);
    if transfer.destination != treasury_ata {
        return Err(refuse(
            "invalid_exact_svm_payload_recipient_mismatch",
            MSG_DESTINATION,
        ));
    }
    let required_amount = expect.requirement.amount.get();
    if transfer.amount < required_amount {
        return Err(refuse(
            "invalid_exact_svm_payload_amount_insufficient",
            format!(
                "USDC amount {} < required {}",
                transfer.amount, required_amount
            ),
        ));
    }
    if transfer.amount > required_amount {
        // Exact amount only, as strict facilitators check: an overpayment is refused before
        // settlement, so a client that overpays is caught by its tests.
        return Err(refuse(
            "invalid_exact_svm_payload_amount_mismatch",
            format!(
                "USDC amount {} > required {} (the exact amount is required)",
                transfer.amount, required_amount
            ),
        ));
    }
    if transfer.decimals != 6 {
        return Err(refuse(
            "invalid_exact_svm_payload_no_transfer_instruction",
            format!(
                "invalid payment: decimals {} do not match the mint (6)",
                transfer.decimals
            ),
        ));
    }

    // Signers and fee payer.
    let authority_index = keys
        .iter()
        .position(|k| *k == transfer.authority)
        .ok_or_else(|| {
            refuse(
                "invalid_payload",
                "transfer authority is not an account of the transaction",
            )
        })?;
    if authority_index >= required {
        return Err(refuse(
            "invalid_exact_svm_payload_signature_invalid",
            "invalid payment: the transfer authority did not sign",
        ));
    }
    let results = tx.verify_with_results();
    match expect.mode {
        Mode::Sova => {
            if fee_payer == expect.facilitator {
                return Err(refuse(
                    "invalid_exact_svm_payload_missing_fee_payer",
                    "invalid payment: this server has no fee payer; the payer must pay its own fee",
                ));
            }
            if results.iter().any(|ok| !ok) {
                return Err(refuse(
                    "invalid_exact_svm_payload_signature_invalid",
                    "invalid payment: transaction signature verification failed",
                ));
            }
        }
        Mode::Standard => {
            if fee_payer != expect.facilitator {
                return Err(refuse(
                    "fee_payer_not_managed_by_facilitator",
                    "invalid payment: the fee payer must be the facilitator (extra.feePayer)",
                ));
            }
            if transfer.authority == expect.facilitator {
                return Err(refuse(
                    "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
                    "invalid payment: the fee payer must not be the transfer authority",
                ));
            }
            if required != 2 {
                return Err(refuse(
                    "invalid_exact_svm_payload_excessive_signers",
                    "invalid payment: a sponsored transaction has exactly 2 signers",
                ));
            }
            if results.iter().skip(1).any(|ok| !ok) {
                return Err(refuse(
                    "invalid_exact_svm_payload_signature_invalid",
                    "invalid payment: transaction signature verification failed",
                ));
            }
        }
    }
    let sig = tx
        .signatures
        .get(authority_index)
        .ok_or_else(|| refuse("invalid_payload", "missing signature"))?;
    let mut replay_key = [0u8; 64];
    replay_key.copy_from_slice(sig.as_ref());
    let memo = extract_memos(&tx.message);
    Ok(Verified {
        payer: transfer.authority,
        amount: transfer.amount,
        replay_key,
        memo,
        tx,
        version: 2,
        flat: false,
    })
}
