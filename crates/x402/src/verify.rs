//! Pre-flight verification: the union of the checks x402 facilitators run on SVM `exact`
//! payments (`reference/x402-solana.md` §3.11), plus the self-paid rules of §3.7.
//!
//! [`verify`] reads a `PAYMENT-SIGNATURE` value against the 402 it answers and returns a
//! [`Report`] listing every check. [`crate::Payer`] runs it on each payment before handing
//! it out. It never panics, whatever the input.

use std::fmt;
use std::sync::Arc;

use solana_pubkey::Pubkey;
use sova_protocol::x402::{PaymentPayload, PaymentRequired, PaymentRequirements, b64};

use crate::ata::associated_token_address;
use crate::mint::{MintInfo, MintRegistry, TokenProgram};
use crate::programs::{
    ASSOCIATED_TOKEN_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID, CREATE_IDEMPOTENT_DISC, CU_LIMIT_DISC,
    CU_PRICE_DISC, MEMO_PROGRAM_ID, SYSTEM_PROGRAM_ID, TRANSFER_CHECKED_DISC,
};
use crate::tx::{ComputeBudget, MAX_MEMO_BYTES, MAX_TRANSACTION_SIZE};
use crate::wire::{self, ParsedIx, ParsedTx};

/// One verification rule and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable snake_case name (`amount`, `destination`, …).
    pub name: &'static str,
    /// Whether the rule holds.
    pub passed: bool,
    /// What was found (always filled on failure; on success when
    /// [`VerifyOptions::verbose`] is set).
    pub detail: String,
}

/// The outcome of [`verify`]: every check that ran, in order. Checks that depend on a
/// fatal failure (an undecodable payload or transaction) are not run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed (and at least one ran).
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The check called `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: Vec<&Check> = self.failures().collect();
        if failed.is_empty() {
            return write!(f, "all {} checks passed", self.checks.len());
        }
        write!(
            f,
            "{} of {} checks failed: ",
            failed.len(),
            self.checks.len()
        )?;
        for (i, c) in failed.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", c.name, c.detail)?;
        }
        Ok(())
    }
}

/// What to verify and how strictly.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The wallet that must be the token authority (our own key, for pre-flight checks).
    pub expected_payer: Option<Pubkey>,
    /// Verify every non-empty signature with Ed25519 (default `true`).
    pub verify_signatures: bool,
    /// Known mints, to check the token program and decimals (USDC is always known).
    pub mints: Option<Arc<MintRegistry>>,
    /// Fill [`Check::detail`] for passing checks too (default `true`).
    pub verbose: bool,
    /// Highest compute unit limit accepted (default 400,000).
    pub max_unit_limit: u32,
    /// Highest compute unit price accepted, in micro-lamports (default 1,000,000).
    pub max_unit_price: u64,
    /// Highest total priority fee accepted, in lamports (default 100,000).
    pub max_priority_fee_lamports: u64,
    /// Accept a `CreateIdempotent` instruction for the recipient's account (default `true`).
    pub allow_create_ata: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            expected_payer: None,
            verify_signatures: true,
            mints: None,
            verbose: true,
            max_unit_limit: ComputeBudget::MAX_UNIT_LIMIT,
            max_unit_price: ComputeBudget::MAX_UNIT_PRICE,
            max_priority_fee_lamports: ComputeBudget::MAX_PRIORITY_FEE_LAMPORTS,
            allow_create_ata: true,
        }
    }
}

impl VerifyOptions {
    /// Requires `payer` as the token authority.
    pub fn expected_payer(mut self, payer: Pubkey) -> Self {
        self.expected_payer = Some(payer);
        self
    }

    /// Turns Ed25519 verification of signatures on or off.
    pub fn verify_signatures(mut self, on: bool) -> Self {
        self.verify_signatures = on;
        self
    }

    /// Uses `mints` to check token programs and decimals.
    pub fn mints(mut self, mints: Arc<MintRegistry>) -> Self {
        self.mints = Some(mints);
        self
    }

    /// Fills details of passing checks (or not).
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    /// Accepts (or refuses) a create-ATA instruction.
    pub fn allow_create_ata(mut self, on: bool) -> Self {
        self.allow_create_ata = on;
        self
    }

    fn mint_info(&self, mint: &Pubkey) -> Option<MintInfo> {
        if let Some(m) = &self.mints {
            return m.get(mint);
        }
        [MintInfo::USDC_MAINNET, MintInfo::USDC_DEVNET]
            .into_iter()
            .find(|i| i.mint == *mint)
    }
}

/// What a payment is checked against: the whole 402 (the payment must echo one of its
/// requirements) or one requirement.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Against<'a> {
    /// A decoded `PAYMENT-REQUIRED`.
    Required(&'a PaymentRequired),
    /// One requirement.
    Requirements(&'a PaymentRequirements),
}

impl<'a> From<&'a PaymentRequired> for Against<'a> {
    fn from(r: &'a PaymentRequired) -> Self {
        Against::Required(r)
    }
}

impl<'a> From<&'a PaymentRequirements> for Against<'a> {
    fn from(r: &'a PaymentRequirements) -> Self {
        Against::Requirements(r)
    }
}

impl<'a> Against<'a> {
    fn offered(&self) -> &'a [PaymentRequirements] {
        match *self {
            Against::Required(r) => &r.accepts,
            Against::Requirements(r) => std::slice::from_ref(r),
        }
    }
}

struct Rec {
    checks: Vec<Check>,
    verbose: bool,
}

impl Rec {
    fn new(verbose: bool) -> Self {
        Rec {
            checks: Vec::with_capacity(28),
            verbose,
        }
    }

    fn check(&mut self, name: &'static str, passed: bool, detail: impl FnOnce() -> String) -> bool {
        let detail = if !passed || self.verbose {
            detail()
        } else {
            String::new()
        };
        self.checks.push(Check {
            name,
            passed,
            detail,
        });
        passed
    }

    fn finish(self) -> Report {
        Report {
            checks: self.checks,
        }
    }
}

/// Verifies a `PAYMENT-SIGNATURE` header value.
///
/// ```
/// use sova_protocol::x402::PaymentRequirements;
/// use sova_x402::{verify, VerifyOptions};
/// let req = PaymentRequirements::new(
///     sova_protocol::x402::networks::SOLANA_MAINNET,
///     sova_protocol::x402::USDC_MAINNET_MINT,
///     15_000,
///     "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
///     60,
///     Default::default(),
/// );
/// let report = verify(&req, "not a header", &VerifyOptions::default());
/// assert!(!report.passed());
/// assert_eq!(report.checks[0].name, "payload_decodes");
/// ```
pub fn verify<'a>(
    against: impl Into<Against<'a>>,
    payment_header: &str,
    options: &VerifyOptions,
) -> Report {
    let mut rec = Rec::new(options.verbose);
    let payload = match PaymentPayload::decode(payment_header) {
        Ok(p) => {
            rec.check("payload_decodes", true, || {
                "the header is base64 JSON of a PaymentPayload".into()
            });
            p
        }
        Err(e) => {
            rec.check("payload_decodes", false, || e.to_string());
            return rec.finish();
        }
    };
    payload_checks(&mut rec, against.into(), &payload, options);
    rec.finish()
}

/// Verifies a decoded payload.
pub fn verify_payload<'a>(
    against: impl Into<Against<'a>>,
    payload: &PaymentPayload,
    options: &VerifyOptions,
) -> Report {
    let mut rec = Rec::new(options.verbose);
    payload_checks(&mut rec, against.into(), payload, options);
    rec.finish()
}

/// Verifies serialized transaction bytes against one requirement (no payload checks).
pub fn verify_transaction(
    requirement: &PaymentRequirements,
    transaction: &[u8],
    options: &VerifyOptions,
) -> Report {
    let mut rec = Rec::new(options.verbose);
    transaction_checks(&mut rec, requirement, transaction, options);
    rec.finish()
}

fn payload_checks(
    rec: &mut Rec,
    against: Against<'_>,
    payload: &PaymentPayload,
    options: &VerifyOptions,
) {
    let offered = against.offered();
    match &payload.accepted {
        Some(accepted) => {
            let exact = offered.iter().find(|r| r.raw_json() == accepted.raw_json());
            let req = match exact {
                Some(r) => {
                    rec.check("accepted_echo", true, || {
                        "accepted is an exact copy of an offered requirement".into()
                    });
                    r
                }
                None => match offered.iter().find(|r| r.same_payment(accepted)) {
                    Some(r) => {
                        rec.check("accepted_echo", false, || {
                            "accepted asks for an offered payment but is not an exact copy of the requirement (strict servers will not match it)".into()
                        });
                        r
                    }
                    None => {
                        rec.check("accepted_echo", false, || {
                            format!(
                                "accepted matches none of the {} offered requirements",
                                offered.len()
                            )
                        });
                        return;
                    }
                },
            };
            one_requirement(rec, req, payload, options);
        }
        None => {
            // Flat shape: pick by scheme and network; with several, the first that passes.
            let scheme = payload.scheme().unwrap_or("");
            let network = payload.network().unwrap_or("");
            let candidates: Vec<&PaymentRequirements> = offered
                .iter()
                .filter(|r| r.scheme == scheme && r.network == network)
                .collect();
            match candidates.as_slice() {
                [] => {
                    rec.check("accepted_echo", false, || {
                        format!("the flat payload pays {scheme} on {network}, which none of the offered requirements asks for")
                    });
                }
                [one] => {
                    rec.check("accepted_echo", true, || {
                        "flat payload (no accepted): matched the requirement by scheme and network"
                            .into()
                    });
                    one_requirement(rec, one, payload, options);
                }
                many => {
                    let mut best: Option<Rec> = None;
                    for r in many {
                        let mut sub = Rec::new(rec.verbose);
                        sub.check("accepted_echo", true, || {
                            "flat payload (no accepted): matched a requirement by scheme, network and content".into()
                        });
                        one_requirement(&mut sub, r, payload, options);
                        let ok = sub.checks.iter().all(|c| c.passed);
                        if ok || best.is_none() {
                            best = Some(sub);
                        }
                        if ok {
                            break;
                        }
                    }
                    if let Some(b) = best {
                        rec.checks.extend(b.checks);
                    }
                }
            }
        }
    }
}

fn one_requirement(
    rec: &mut Rec,
    req: &PaymentRequirements,
    payload: &PaymentPayload,
    options: &VerifyOptions,
) {
    let version = payload.x402_version;
    rec.check("x402_version", version == req.version, || {
        format!("x402Version {version}, requirement version {}", req.version)
    });
    let scheme = payload.scheme().unwrap_or("");
    rec.check(
        "scheme",
        req.scheme == sova_protocol::x402::SCHEME_EXACT && scheme == req.scheme,
        || format!("payload scheme {scheme:?}, requirement scheme {:?} (this verifier knows \"exact\")", req.scheme),
    );
    let network = payload.network().unwrap_or("");
    rec.check("network", network == req.network, || {
        format!(
            "payload network {network:?}, requirement network {:?}",
            req.network
        )
    });
    let bytes = match b64::decode(&payload.payload.transaction) {
        Ok(b) => b,
        Err(e) => {
            rec.check("transaction_decodes", false, || {
                format!("payload.transaction is not base64: {e}")
            });
            return;
        }
    };
    transaction_checks(rec, req, &bytes, options);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Limit,
    Price,
    CreateAta,
    Transfer,
    Memo,
    Other,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Limit => "compute-unit-limit",
            Kind::Price => "compute-unit-price",
            Kind::CreateAta => "create-ata",
            Kind::Transfer => "transfer-checked",
            Kind::Memo => "memo",
            Kind::Other => "other",
        }
    }
}

fn classify(tx: &ParsedTx<'_>, ix: &ParsedIx<'_>) -> Kind {
    let Some(program) = tx.program_of(ix) else {
        return Kind::Other;
    };
    if *program == COMPUTE_BUDGET_PROGRAM_ID {
        match ix.data.first() {
            Some(&CU_LIMIT_DISC) => Kind::Limit,
            Some(&CU_PRICE_DISC) => Kind::Price,
            _ => Kind::Other,
        }
    } else if TokenProgram::from_id(program).is_some() {
        if ix.data.first() == Some(&TRANSFER_CHECKED_DISC) {
            Kind::Transfer
        } else {
            Kind::Other
        }
    } else if *program == ASSOCIATED_TOKEN_PROGRAM_ID {
        Kind::CreateAta
    } else if *program == MEMO_PROGRAM_ID {
        Kind::Memo
    } else {
        Kind::Other
    }
}

/// Sponsored: limit, price, \[create-ata\], transfer, \[memo\].
/// Self-paid: \[limit, price\], \[create-ata\], transfer, \[memo\].
fn layout_ok(kinds: &[Kind], sponsored: bool) -> bool {
    let mut rest = kinds;
    match rest {
        [Kind::Limit, Kind::Price, tail @ ..] => rest = tail,
        _ if sponsored => return false,
        _ => {}
    }
    if let [Kind::CreateAta, tail @ ..] = rest {
        rest = tail;
    }
    matches!(rest, [Kind::Transfer] | [Kind::Transfer, Kind::Memo])
}

fn parse_key(text: &str) -> Option<Pubkey> {
    let t = text.trim();
    if t.is_empty() || t.len() > 44 {
        return None;
    }
    t.parse::<Pubkey>().ok()
}

fn le_u32(data: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(1..5)?.try_into().ok()?))
}

fn le_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// What the per-concern checks of one transaction share: the parsed transaction, the kind of
/// each instruction and whether the requirement names a sponsoring fee payer.
struct TxContext<'t, 'a> {
    tx: &'t ParsedTx<'a>,
    kinds: Vec<Kind>,
    sponsored: bool,
}

impl<'t, 'a> TxContext<'t, 'a> {
    fn mode(&self) -> &'static str {
        if self.sponsored {
            "sponsored"
        } else {
            "self-paid"
        }
    }

    /// The instructions of one kind, in order.
    fn of_kind(&self, kind: Kind) -> Vec<&'t ParsedIx<'a>> {
        let tx: &'t ParsedTx<'a> = self.tx;
        tx.instructions
            .iter()
            .zip(&self.kinds)
            .filter(|(_, k)| **k == kind)
            .map(|(ix, _)| ix)
            .collect()
    }
}

/// The accounts of the payment's `TransferChecked`, as the later checks need them.
struct TransferAccounts {
    program: Pubkey,
    asset: Option<Pubkey>,
    pay_to: Option<Pubkey>,
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
}

/// Runs every check on one transaction, in report order; each concern is its own function,
/// and a failure that makes the later checks meaningless ends the run.
fn transaction_checks(
    rec: &mut Rec,
    req: &PaymentRequirements,
    bytes: &[u8],
    options: &VerifyOptions,
) {
    let Some(tx) = decode_check(rec, bytes) else {
        return;
    };
    let sponsored = req.extra.get("feePayer").is_some();
    let cx = TxContext {
        kinds: tx.instructions.iter().map(|ix| classify(&tx, ix)).collect(),
        tx: &tx,
        sponsored,
    };
    message_checks(rec, &cx, bytes.len());
    let Some(transfer) = layout_checks(rec, &cx) else {
        return;
    };
    compute_budget_checks(rec, &cx, options);
    let Some(accounts) = transfer_checks(rec, &cx, req, transfer, options) else {
        return;
    };
    fee_payer_checks(rec, &cx, req, &accounts);
    memo_check(rec, &cx, req);
    create_ata_checks(rec, &cx, &accounts, options);
    if options.verify_signatures {
        signatures_check(rec, &cx);
    }
}

/// `transaction_decodes`: the bytes are a legacy or v0 transaction.
fn decode_check<'a>(rec: &mut Rec, bytes: &'a [u8]) -> Option<ParsedTx<'a>> {
    match wire::parse(bytes) {
        Ok(t) => {
            rec.check("transaction_decodes", true, || {
                format!(
                    "{} message, {} signature(s), {} account keys, {} instructions",
                    if t.versioned { "v0" } else { "legacy" },
                    t.signatures.len(),
                    t.keys.len(),
                    t.instructions.len()
                )
            });
            Some(t)
        }
        Err(e) => {
            rec.check("transaction_decodes", false, || e.to_string());
            None
        }
    }
}

/// `transaction_size`, `message_version`, `no_lookup_tables`, `recent_blockhash`: the
/// transaction as a whole.
fn message_checks(rec: &mut Rec, cx: &TxContext<'_, '_>, size: usize) {
    let tx = cx.tx;
    rec.check("transaction_size", size <= MAX_TRANSACTION_SIZE, || {
        format!("{size} bytes (limit {MAX_TRANSACTION_SIZE})")
    });
    rec.check("message_version", tx.versioned || !cx.sponsored, || {
        format!(
            "{} message in a {} payment (sponsored payments use v0)",
            if tx.versioned { "v0" } else { "legacy" },
            cx.mode()
        )
    });
    rec.check("no_lookup_tables", tx.lookup_tables.is_empty(), || {
        format!("{} address lookup table(s)", tx.lookup_tables.len())
    });
    rec.check(
        "recent_blockhash",
        tx.blockhash.as_bytes() != &[0u8; 32],
        || {
            if tx.blockhash.as_bytes() == &[0u8; 32] {
                "the blockhash is all zeros (never a real blockhash)".into()
            } else {
                format!("blockhash {}", tx.blockhash)
            }
        },
    );
}

/// `instruction_layout`, and `transfer_instruction` when there is not exactly one transfer:
/// returns the one `TransferChecked`, or `None` when the transaction has none or several.
fn layout_checks<'t, 'a>(rec: &mut Rec, cx: &TxContext<'t, 'a>) -> Option<&'t ParsedIx<'a>> {
    let kinds = &cx.kinds;
    let layout_passed = layout_ok(kinds, cx.sponsored);
    rec.check("instruction_layout", layout_passed, || {
        let found: Vec<&str> = kinds.iter().map(|k| k.label()).collect();
        let want = if cx.sponsored {
            "compute-unit-limit, compute-unit-price, [create-ata], transfer-checked, [memo]"
        } else {
            "[compute-unit-limit, compute-unit-price], [create-ata], transfer-checked, [memo]"
        };
        format!(
            "found [{}]; a {} payment has {want}",
            found.join(", "),
            cx.mode()
        )
    });
    let transfers = cx.of_kind(Kind::Transfer);
    let [transfer] = transfers.as_slice() else {
        rec.check("transfer_instruction", false, || {
            format!(
                "{} TransferChecked instructions; a payment has exactly one",
                transfers.len()
            )
        });
        return None;
    };
    Some(*transfer)
}

/// `compute_unit_limit`, `compute_unit_price` (one check per such instruction) and
/// `priority_fee` (when a price is set).
fn compute_budget_checks(rec: &mut Rec, cx: &TxContext<'_, '_>, options: &VerifyOptions) {
    let mut budget = ComputeBudget {
        unit_limit: 0,
        unit_price: 0,
    };
    for (ix, kind) in cx.tx.instructions.iter().zip(&cx.kinds) {
        match kind {
            Kind::Limit => {
                let v = (ix.data.len() == 5).then(|| le_u32(ix.data)).flatten();
                budget.unit_limit = v.unwrap_or(u32::MAX);
                rec.check(
                    "compute_unit_limit",
                    v.is_some_and(|v| v <= options.max_unit_limit) && ix.accounts.is_empty(),
                    || match v {
                        Some(v) => format!("{v} units (limit {})", options.max_unit_limit),
                        None => format!(
                            "malformed SetComputeUnitLimit data ({} bytes)",
                            ix.data.len()
                        ),
                    },
                );
            }
            Kind::Price => {
                let v = (ix.data.len() == 9).then(|| le_u64(ix.data, 1)).flatten();
                budget.unit_price = v.unwrap_or(u64::MAX);
                rec.check(
                    "compute_unit_price",
                    v.is_some_and(|v| v <= options.max_unit_price) && ix.accounts.is_empty(),
                    || match v {
                        Some(v) => format!(
                            "{v} micro-lamports per unit (limit {})",
                            options.max_unit_price
                        ),
                        None => format!(
                            "malformed SetComputeUnitPrice data ({} bytes)",
                            ix.data.len()
                        ),
                    },
                );
            }
            _ => {}
        }
    }
    if cx.kinds.contains(&Kind::Price) {
        let fee = budget.priority_fee_lamports();
        rec.check(
            "priority_fee",
            fee <= options.max_priority_fee_lamports,
            || {
                format!(
                    "{fee} lamports (limit {})",
                    options.max_priority_fee_lamports
                )
            },
        );
    }
}

/// `token_program`, `transfer_instruction`, `mint`, `destination`, `source`, `amount`,
/// `authority_signs` and `expected_payer` (when set): the transfer itself. Returns its
/// accounts, or `None` when they cannot be read (the remaining checks are then skipped).
fn transfer_checks(
    rec: &mut Rec,
    cx: &TxContext<'_, '_>,
    req: &PaymentRequirements,
    transfer: &ParsedIx<'_>,
    options: &VerifyOptions,
) -> Option<TransferAccounts> {
    let tx = cx.tx;
    let program = tx.program_of(transfer).copied()?;
    let asset = parse_key(&req.asset);
    let known = asset.and_then(|a| options.mint_info(&a));
    rec.check(
        "token_program",
        known.is_none_or(|k| k.program.id() == program),
        || match known {
            Some(k) => format!(
                "transfer on {program}; the mint belongs to {} ({})",
                k.program,
                k.program.id()
            ),
            None => format!("transfer on {program}"),
        },
    );
    let shape_ok = transfer.data.len() == 10 && transfer.accounts.len() == 4;
    let decimals = transfer.data.get(9).copied();
    rec.check(
        "transfer_instruction",
        shape_ok
            && known.is_none_or(|k| Some(k.decimals) == decimals)
            && transfer
                .accounts
                .first()
                .is_some_and(|a| tx.is_writable(*a))
            && transfer.accounts.get(2).is_some_and(|a| tx.is_writable(*a)),
        || {
            if !shape_ok {
                format!(
                    "TransferChecked with {} data bytes and {} accounts (expected 10 and 4)",
                    transfer.data.len(),
                    transfer.accounts.len()
                )
            } else if let Some(k) = known.filter(|k| Some(k.decimals) != decimals) {
                format!(
                    "decimals {} but the mint has {}",
                    decimals.unwrap_or(0),
                    k.decimals
                )
            } else {
                "TransferChecked, 10 data bytes, 4 accounts, source and destination writable".into()
            }
        },
    );
    let source = tx.account_of(transfer, 0).copied();
    let mint = tx.account_of(transfer, 1).copied();
    let destination = tx.account_of(transfer, 2).copied();
    let authority_index = transfer.accounts.get(3).copied();
    let authority = tx.account_of(transfer, 3).copied();
    let (Some(source), Some(mint), Some(destination), Some(authority), Some(authority_index)) =
        (source, mint, destination, authority, authority_index)
    else {
        return None;
    };

    rec.check("mint", asset == Some(mint), || match asset {
        Some(_) => format!(
            "transfer of mint {mint}; the requirement asks for {}",
            req.asset
        ),
        None => format!(
            "the requirement's asset {:?} is not a Solana address",
            req.asset
        ),
    });
    let pay_to = parse_key(&req.pay_to);
    let expected_destination = pay_to.map(|p| associated_token_address(&p, &mint, &program));
    rec.check("destination", expected_destination == Some(destination), || match expected_destination {
        Some(d) => format!(
            "destination {destination}; the token account of payTo {} for this mint and program is {d}",
            req.pay_to
        ),
        None => format!("the requirement's payTo {:?} is not a Solana address", req.pay_to),
    });
    let expected_source = associated_token_address(&authority, &mint, &program);
    rec.check("source", source == expected_source, || {
        format!("source {source}; the payer's token account for this mint and program is {expected_source}")
    });
    let amount = le_u64(transfer.data, 1);
    rec.check("amount", amount == Some(req.amount.0), || match amount {
        Some(a) => format!(
            "transfer of {a}; the requirement asks for exactly {}",
            req.amount.0
        ),
        None => "the transfer amount is unreadable".into(),
    });
    rec.check("authority_signs", tx.is_signer(authority_index), || {
        format!(
            "the token authority {authority} is {}a signer",
            if tx.is_signer(authority_index) {
                ""
            } else {
                "not "
            }
        )
    });
    if let Some(expected) = options.expected_payer {
        rec.check("expected_payer", authority == expected, || {
            format!("the token authority is {authority}; expected {expected}")
        });
    }
    Some(TransferAccounts {
        program,
        asset,
        pay_to,
        mint,
        destination,
        authority,
    })
}

/// `fee_payer`, `signer_count` and, for sponsored payments, `fee_payer_isolated`.
fn fee_payer_checks(
    rec: &mut Rec,
    cx: &TxContext<'_, '_>,
    req: &PaymentRequirements,
    accounts: &TransferAccounts,
) {
    let tx = cx.tx;
    let authority = accounts.authority;
    let fee_payer = tx.keys[0];
    if cx.sponsored {
        let wanted = req
            .extra
            .get("feePayer")
            .and_then(|v| v.as_str())
            .and_then(parse_key);
        rec.check("fee_payer", wanted == Some(fee_payer), || match wanted {
            Some(w) => format!("account 0 (fee payer) is {fee_payer}; extra.feePayer is {w}"),
            None => "extra.feePayer is not a Solana address".into(),
        });
        rec.check(
            "signer_count",
            tx.num_required_signatures == 2 && tx.signatures.len() == 2 && tx.keys.get(1) == Some(&authority),
            || {
                format!(
                    "{} signature slot(s), header requires {}; a sponsored payment has exactly 2: fee payer, then the payer",
                    tx.signatures.len(),
                    tx.num_required_signatures
                )
            },
        );
        // The fee payer may appear only as the funder of a create-ATA instruction.
        let misuse = tx.instructions.iter().zip(&cx.kinds).any(|(ix, k)| {
            ix.accounts
                .iter()
                .enumerate()
                .any(|(n, a)| *a == 0 && !(*k == Kind::CreateAta && n == 0))
        });
        rec.check(
            "fee_payer_isolated",
            authority != fee_payer && !misuse,
            || {
                if authority == fee_payer {
                    "the fee payer is the token authority (it would pay for itself)".into()
                } else {
                    "the fee payer appears in an instruction's accounts".into()
                }
            },
        );
    } else {
        rec.check("fee_payer", fee_payer == authority, || {
            format!("account 0 (fee payer) is {fee_payer}; in a self-paid payment it is the payer {authority}")
        });
        rec.check(
            "signer_count",
            tx.num_required_signatures == 1 && tx.signatures.len() == 1,
            || {
                format!(
                    "{} signature slot(s), header requires {}; a self-paid payment has exactly 1",
                    tx.signatures.len(),
                    tx.num_required_signatures
                )
            },
        );
    }
}

/// `memo` (when the transaction has a memo or the requirement asks for one): no accounts,
/// UTF-8, within the size limit, and equal to `extra.memo` when that is set.
fn memo_check(rec: &mut Rec, cx: &TxContext<'_, '_>, req: &PaymentRequirements) {
    let memos = cx.of_kind(Kind::Memo);
    if memos.is_empty() && req.memo().is_none() {
        return;
    }
    let wanted = req.memo();
    let problem = if memos.iter().any(|m| !m.accounts.is_empty()) {
        Some("a Memo instruction lists accounts".to_owned())
    } else if let Some(m) = memos.iter().find(|m| m.data.len() > MAX_MEMO_BYTES) {
        Some(format!(
            "a memo is {} bytes (limit {MAX_MEMO_BYTES})",
            m.data.len()
        ))
    } else if memos.iter().any(|m| std::str::from_utf8(m.data).is_err()) {
        Some("a memo is not UTF-8".to_owned())
    } else if let Some(w) = wanted {
        if memos.len() != 1 {
            Some(format!(
                "{} memos; extra.memo requires exactly one",
                memos.len()
            ))
        } else if memos[0].data != w.as_bytes() {
            Some("the memo differs from extra.memo".to_owned())
        } else {
            None
        }
    } else {
        None
    };
    rec.check("memo", problem.is_none(), || {
        problem.unwrap_or_else(|| match wanted {
            Some(_) => "exactly one memo, equal to extra.memo".into(),
            None => format!(
                "{} memo(s), UTF-8, within {MAX_MEMO_BYTES} bytes",
                memos.len()
            ),
        })
    });
}

/// `create_ata`, once per create-ATA instruction: allowed, `CreateIdempotent`, funded by the
/// fee payer, creating payTo's token account for the asset on the transfer's token program.
fn create_ata_checks(
    rec: &mut Rec,
    cx: &TxContext<'_, '_>,
    accounts: &TransferAccounts,
    options: &VerifyOptions,
) {
    let tx = cx.tx;
    let fee_payer = tx.keys[0];
    let TransferAccounts {
        program,
        asset,
        pay_to,
        mint,
        destination,
        ..
    } = *accounts;
    for ix in cx.of_kind(Kind::CreateAta) {
        let acc = |n| tx.account_of(ix, n).copied();
        let problem = if !options.allow_create_ata {
            Some("create-ATA instructions are not accepted".to_owned())
        } else if ix.data != [CREATE_IDEMPOTENT_DISC] {
            Some("the instruction is not CreateIdempotent (data must be [1])".to_owned())
        } else if ix.accounts.len() != 6 {
            Some(format!("{} accounts (expected 6)", ix.accounts.len()))
        } else if acc(0) != Some(fee_payer) {
            Some("the funder is not the fee payer".to_owned())
        } else if acc(1) != Some(destination) {
            Some("it creates an account other than the transfer destination".to_owned())
        } else if acc(2) != pay_to {
            Some("its owner is not payTo".to_owned())
        } else if acc(3) != Some(mint) || asset != Some(mint) {
            Some("its mint is not the asset".to_owned())
        } else if acc(4) != Some(SYSTEM_PROGRAM_ID) {
            Some("the system program account is wrong".to_owned())
        } else if acc(5) != Some(program) {
            Some("its token program differs from the transfer's".to_owned())
        } else {
            None
        };
        rec.check("create_ata", problem.is_none(), || {
            problem.unwrap_or_else(|| {
                "CreateIdempotent for payTo's token account, funded by the fee payer".into()
            })
        });
    }
}

/// `signatures`: every signature slot verifies against its key over the message; in a
/// sponsored payment the fee payer's slot may be left empty for the facilitator.
fn signatures_check(rec: &mut Rec, cx: &TxContext<'_, '_>) {
    let tx = cx.tx;
    let mut verified = 0usize;
    let mut empty_fee_payer = false;
    let mut problem: Option<String> = None;
    for (i, sig) in tx.signatures.iter().enumerate() {
        if sig.iter().all(|b| *b == 0) {
            if cx.sponsored && i == 0 {
                empty_fee_payer = true;
                continue;
            }
            problem = Some(format!("signature slot {i} is empty"));
            break;
        }
        let Some(key) = tx.keys.get(i) else {
            problem = Some(format!("signature slot {i} has no account key"));
            break;
        };
        let s = solana_signature::Signature::from(**sig);
        if !s.verify(key.as_ref(), tx.message) {
            problem = Some(format!(
                "the signature in slot {i} does not verify for {key}"
            ));
            break;
        }
        verified += 1;
    }
    rec.check("signatures", problem.is_none(), || {
        problem.unwrap_or_else(|| {
            format!(
                "{verified} signature(s) verified{}",
                if empty_fee_payer {
                    ", fee payer slot left for the facilitator"
                } else {
                    ""
                }
            )
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        use Kind::*;
        assert!(layout_ok(&[Limit, Price, Transfer, Memo], true));
        assert!(layout_ok(&[Limit, Price, CreateAta, Transfer, Memo], true));
        assert!(layout_ok(&[Limit, Price, Transfer], true));
        assert!(!layout_ok(&[Transfer, Memo], true));
        assert!(layout_ok(&[Transfer, Memo], false));
        assert!(layout_ok(&[Transfer], false));
        assert!(layout_ok(&[CreateAta, Transfer], false));
        assert!(!layout_ok(&[Price, Limit, Transfer], false));
        assert!(!layout_ok(&[Limit, Price, Transfer, Memo, Memo], true));
        assert!(!layout_ok(&[Limit, Price, Transfer, Other], true));
        assert!(!layout_ok(&[], false));
    }
}
