//! Building and signing payment transactions.
//!
//! Three layouts (see `reference/x402-solana.md` §3.2, §3.6, §3.7):
//!
//! | layout | message | instructions | signers |
//! |---|---|---|---|
//! | [`Layout::Sponsored`] | v0, no lookup tables | CU limit, CU price, \[create ATA\], `TransferChecked`, Memo | fee payer (slot 0, left empty), payer (slot 1) |
//! | [`Layout::SelfPaid`] | v0, no lookup tables | \[CU limit, CU price\], \[create ATA\], `TransferChecked`, \[Memo\] | payer (slot 0) |
//! | [`Layout::Minimal`] | legacy | \[create ATA\], `TransferChecked`, \[Memo\] | payer (slot 0) |
//!
//! Messages are compiled by `solana-message`, so the bytes are those `solana-sdk` produces
//! for the same instructions.

use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_hash::Hash;
use solana_instruction::{AccountMeta, Instruction};
use solana_message::{VersionedMessage, legacy, v0};
use solana_pubkey::Pubkey;
use solana_signature::Signature;

use crate::ata::associated_token_address;
use crate::keys::{Signer, SignerError};
use crate::mint::MintInfo;
use crate::programs::{
    ASSOCIATED_TOKEN_PROGRAM_ID, CREATE_IDEMPOTENT_DISC, MEMO_PROGRAM_ID, SYSTEM_PROGRAM_ID,
    TRANSFER_CHECKED_DISC,
};

/// Largest serialized transaction Solana accepts (bytes).
pub const MAX_TRANSACTION_SIZE: usize = 1232;
/// Largest memo an x402 payment may carry (bytes).
pub const MAX_MEMO_BYTES: usize = 256;

/// Compute-budget settings of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComputeBudget {
    /// `SetComputeUnitLimit`.
    pub unit_limit: u32,
    /// `SetComputeUnitPrice`, in micro-lamports per unit.
    pub unit_price: u64,
}

impl Default for ComputeBudget {
    fn default() -> Self {
        ComputeBudget {
            unit_limit: Self::DEFAULT_UNIT_LIMIT,
            unit_price: Self::DEFAULT_UNIT_PRICE,
        }
    }
}

impl ComputeBudget {
    /// Default unit limit (what the reference clients use).
    pub const DEFAULT_UNIT_LIMIT: u32 = 20_000;
    /// Default unit price (micro-lamports).
    pub const DEFAULT_UNIT_PRICE: u64 = 1;
    /// Highest unit limit any known facilitator accepts.
    pub const MAX_UNIT_LIMIT: u32 = 400_000;
    /// Highest unit price any known facilitator accepts (micro-lamports).
    pub const MAX_UNIT_PRICE: u64 = 1_000_000;
    /// Highest total priority fee (lamports) any known facilitator accepts.
    pub const MAX_PRIORITY_FEE_LAMPORTS: u64 = 100_000;
    /// Unit limit used when the payment creates the recipient's token account.
    pub const CREATE_ATA_UNIT_LIMIT: u32 = 40_000;

    /// Limit ≤ 400,000, price ≤ 1,000,000 µlamports and total priority fee ≤ 100,000 lamports.
    pub fn clamped(self) -> Self {
        let unit_limit = self.unit_limit.min(Self::MAX_UNIT_LIMIT);
        let mut unit_price = self.unit_price.min(Self::MAX_UNIT_PRICE);
        if unit_limit > 0 {
            let fee_cap = Self::MAX_PRIORITY_FEE_LAMPORTS * 1_000_000 / u64::from(unit_limit);
            unit_price = unit_price.min(fee_cap);
        }
        ComputeBudget {
            unit_limit,
            unit_price,
        }
    }

    /// Total priority fee in lamports (rounded up, as the runtime does).
    pub fn priority_fee_lamports(self) -> u64 {
        (u128::from(self.unit_limit) * u128::from(self.unit_price)).div_ceil(1_000_000) as u64
    }
}

/// Who pays the fee and which shape the transaction takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layout {
    /// A facilitator pays the fee (`extra.feePayer`) and co-signs slot 0 at settlement.
    Sponsored {
        /// The facilitator's fee payer.
        fee_payer: Pubkey,
    },
    /// The payer pays its own fee and signs alone; v0 with an optional compute budget and
    /// an optional Memo.
    SelfPaid,
    /// The payer pays its own fee; a legacy message with one `TransferChecked` (the sample
    /// in Sova's documentation), and a Memo only when [`PaymentSpec::memo`] is set (the
    /// payer adds one only to tell apart two otherwise identical payments).
    Minimal,
}

/// Everything a payment transaction is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSpec {
    /// Fee mode and shape.
    pub layout: Layout,
    /// The mint, its decimals and program.
    pub mint: MintInfo,
    /// Amount in base units, exactly the requirement's.
    pub amount: u64,
    /// The recipient wallet; the transfer goes to its associated token account.
    pub pay_to: Pubkey,
    /// Memo text (≤ 256 bytes). Required by [`Layout::Sponsored`], optional otherwise.
    pub memo: Option<String>,
    /// Compute budget. [`Layout::Sponsored`] always carries one (default when `None`);
    /// [`Layout::SelfPaid`] only when set; [`Layout::Minimal`] never. Clamped.
    pub compute_budget: Option<ComputeBudget>,
    /// Adds a `CreateIdempotent` instruction for the recipient's token account (funded by
    /// the fee payer) and raises the unit limit to at least 40,000.
    pub create_recipient_ata: bool,
    /// The recent blockhash.
    pub blockhash: Hash,
}

/// Why a transaction could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The sponsored fee payer is the paying wallet.
    #[error(
        "the fee payer {0} offered by the server is this wallet; a sponsored payment needs a different fee payer"
    )]
    FeePayerIsPayer(String),
    /// The memo is too long.
    #[error("the memo is {0} bytes; x402 allows at most 256")]
    MemoTooLong(usize),
    /// A sponsored payment without a memo.
    #[error("a sponsored payment needs a memo (the seller's or a random nonce)")]
    MissingMemo,
    /// A memo with the minimal layout (no longer returned: the minimal layout may carry a
    /// uniqueness memo).
    #[error("the minimal layout carries no memo; use the self-paid layout to add one")]
    MemoNotAllowed,
    /// The transaction is too large.
    #[error("the transaction is {0} bytes; Solana accepts at most 1232")]
    TooLarge(usize),
    /// The message could not be compiled.
    #[error("the transaction message could not be compiled: {0}")]
    Compile(String),
    /// The signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The signer returned a signature that does not verify (remote signers only).
    #[error("the signer returned a signature that does not verify for its public key {0}")]
    BadSignature(String),
}

/// A signed payment transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayment {
    /// The serialized transaction (wire bytes).
    pub wire: Vec<u8>,
    /// Offset of the message in `wire` (after the signatures).
    pub message_offset: usize,
    /// The payer's signature.
    pub signature: Signature,
    /// The payer's token account.
    pub source: Pubkey,
    /// The recipient's token account.
    pub destination: Pubkey,
    /// The compute budget carried, after clamping.
    pub compute_budget: Option<ComputeBudget>,
}

impl SignedPayment {
    /// The transaction as standard padded base64 (the `payload.transaction` value).
    pub fn to_base64(&self) -> String {
        sova_protocol::x402::b64::encode(&self.wire)
    }

    /// The message bytes (what was signed).
    pub fn message(&self) -> &[u8] {
        &self.wire[self.message_offset..]
    }
}

/// The `TransferChecked` instruction on the mint's program.
pub fn transfer_checked(
    mint: &MintInfo,
    source: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: u64,
) -> Instruction {
    let mut data = Vec::with_capacity(10);
    data.push(TRANSFER_CHECKED_DISC);
    data.extend_from_slice(&amount.to_le_bytes());
    data.push(mint.decimals);
    Instruction {
        program_id: mint.program.id(),
        accounts: vec![
            AccountMeta::new(source, false),
            AccountMeta::new_readonly(mint.mint, false),
            AccountMeta::new(destination, false),
            AccountMeta::new_readonly(authority, true),
        ],
        data,
    }
}

/// The associated token program's `CreateIdempotent` for `owner`'s account of `mint`.
pub fn create_ata_idempotent(funder: Pubkey, owner: Pubkey, mint: &MintInfo) -> Instruction {
    let program = mint.program.id();
    Instruction {
        program_id: ASSOCIATED_TOKEN_PROGRAM_ID,
        accounts: vec![
            AccountMeta::new(funder, true),
            AccountMeta::new(
                associated_token_address(&owner, &mint.mint, &program),
                false,
            ),
            AccountMeta::new_readonly(owner, false),
            AccountMeta::new_readonly(mint.mint, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
            AccountMeta::new_readonly(program, false),
        ],
        data: vec![CREATE_IDEMPOTENT_DISC],
    }
}

/// A Memo instruction (no signer accounts).
pub fn memo(text: &str) -> Instruction {
    Instruction {
        program_id: MEMO_PROGRAM_ID,
        accounts: Vec::new(),
        data: text.as_bytes().to_vec(),
    }
}

/// The compiled, unsigned message of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedPayment {
    /// Serialized message (v0 messages start with `0x80`).
    pub message: Vec<u8>,
    /// Number of signatures the message requires (1 or 2).
    pub num_signatures: usize,
    /// The payer's signature slot.
    pub payer_slot: usize,
    /// The payer's token account.
    pub source: Pubkey,
    /// The recipient's token account.
    pub destination: Pubkey,
    /// The compute budget carried, after clamping.
    pub compute_budget: Option<ComputeBudget>,
}

/// Compiles the message of a payment made by `payer`.
pub fn compile(spec: &PaymentSpec, payer: &Pubkey) -> Result<UnsignedPayment, BuildError> {
    if let Some(m) = &spec.memo
        && m.len() > MAX_MEMO_BYTES
    {
        return Err(BuildError::MemoTooLong(m.len()));
    }
    let program = spec.mint.program.id();
    let source = associated_token_address(payer, &spec.mint.mint, &program);
    let destination = associated_token_address(&spec.pay_to, &spec.mint.mint, &program);
    let (fee_payer, budget, memo_text, legacy_message) = match spec.layout {
        Layout::Sponsored { fee_payer } => {
            if fee_payer == *payer {
                return Err(BuildError::FeePayerIsPayer(fee_payer.to_string()));
            }
            let memo = spec.memo.as_deref().ok_or(BuildError::MissingMemo)?;
            (
                fee_payer,
                Some(spec.compute_budget.unwrap_or_default()),
                Some(memo),
                false,
            )
        }
        Layout::SelfPaid => (*payer, spec.compute_budget, spec.memo.as_deref(), false),
        Layout::Minimal => (*payer, None, spec.memo.as_deref(), true),
    };
    let budget = budget.map(|b| {
        let mut b = b.clamped();
        if spec.create_recipient_ata && b.unit_limit < ComputeBudget::CREATE_ATA_UNIT_LIMIT {
            b.unit_limit = ComputeBudget::CREATE_ATA_UNIT_LIMIT;
            b = b.clamped();
        }
        b
    });
    let mut ixs = Vec::with_capacity(5);
    if let Some(b) = budget {
        ixs.push(ComputeBudgetInstruction::set_compute_unit_limit(
            b.unit_limit,
        ));
        ixs.push(ComputeBudgetInstruction::set_compute_unit_price(
            b.unit_price,
        ));
    }
    if spec.create_recipient_ata {
        ixs.push(create_ata_idempotent(fee_payer, spec.pay_to, &spec.mint));
    }
    ixs.push(transfer_checked(
        &spec.mint,
        source,
        destination,
        *payer,
        spec.amount,
    ));
    if let Some(text) = memo_text {
        ixs.push(memo(text));
    }
    let (message, num_signatures) = if legacy_message {
        let m = legacy::Message::new_with_blockhash(&ixs, Some(&fee_payer), &spec.blockhash);
        let n = usize::from(m.header.num_required_signatures);
        (m.serialize(), n)
    } else {
        let m = v0::Message::try_compile(&fee_payer, &ixs, &[], spec.blockhash)
            .map_err(|e| BuildError::Compile(e.to_string()))?;
        let n = usize::from(m.header.num_required_signatures);
        (VersionedMessage::V0(m).serialize(), n)
    };
    let payer_slot = usize::from(fee_payer != *payer);
    Ok(UnsignedPayment {
        message,
        num_signatures,
        payer_slot,
        source,
        destination,
        compute_budget: budget,
    })
}

/// Assembles wire bytes: `shortvec(n) || signatures || message`, with `signature` in
/// `slot` and zeros elsewhere.
fn assemble(unsigned: &UnsignedPayment, signature: &Signature) -> (Vec<u8>, usize) {
    let n = unsigned.num_signatures;
    let mut wire = Vec::with_capacity(1 + 64 * n + unsigned.message.len());
    // n ≤ 2 here, so the short-vec length is one byte.
    wire.push(n as u8);
    for slot in 0..n {
        if slot == unsigned.payer_slot {
            wire.extend_from_slice(signature.as_ref());
        } else {
            wire.extend_from_slice(&[0u8; 64]);
        }
    }
    let offset = wire.len();
    wire.extend_from_slice(&unsigned.message);
    (wire, offset)
}

/// Compiles, signs (the payer's slot only) and serializes a payment.
///
/// `verify_signature` re-checks the signer's output with Ed25519 (use it for remote signers).
pub fn build_payment(
    spec: &PaymentSpec,
    signer: &dyn Signer,
    verify_signature: bool,
) -> Result<SignedPayment, BuildError> {
    let unsigned = compile(spec, &signer.pubkey())?;
    sign_payment(&unsigned, signer, verify_signature)
}

/// Signs a compiled payment with `signer` (whose key must be the payer `compile` was given)
/// and assembles the wire transaction; `verify_signature` checks the signature first.
pub fn sign_payment(
    unsigned: &UnsignedPayment,
    signer: &dyn Signer,
    verify_signature: bool,
) -> Result<SignedPayment, BuildError> {
    let payer = signer.pubkey();
    let signature = signer.sign_message(&unsigned.message)?;
    if verify_signature && !signature.verify(payer.as_ref(), &unsigned.message) {
        return Err(BuildError::BadSignature(payer.to_string()));
    }
    let (wire, message_offset) = assemble(unsigned, &signature);
    if wire.len() > MAX_TRANSACTION_SIZE {
        return Err(BuildError::TooLarge(wire.len()));
    }
    Ok(SignedPayment {
        wire,
        message_offset,
        signature,
        source: unsigned.source,
        destination: unsigned.destination,
        compute_budget: unsigned.compute_budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps() {
        let b = ComputeBudget {
            unit_limit: 1_000_000,
            unit_price: 10_000_000,
        }
        .clamped();
        assert_eq!(b.unit_limit, 400_000);
        assert_eq!(b.unit_price, 250_000);
        assert!(b.priority_fee_lamports() <= ComputeBudget::MAX_PRIORITY_FEE_LAMPORTS);
        let b = ComputeBudget {
            unit_limit: 20_000,
            unit_price: 10_000_000,
        }
        .clamped();
        assert_eq!(b.unit_price, 1_000_000);
        assert_eq!(ComputeBudget::default().priority_fee_lamports(), 1);
        assert_eq!(
            ComputeBudget {
                unit_limit: 0,
                unit_price: 5
            }
            .clamped()
            .unit_price,
            5
        );
    }
}
