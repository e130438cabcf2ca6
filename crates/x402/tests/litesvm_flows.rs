//! Payments executed by litesvm with the real SPL Token and Token-2022 programs: balances
//! move by exactly the amount, the sponsored client needs no SOL, a missing recipient
//! account fails cleanly, and a replayed transaction is refused.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions
#![allow(clippy::result_large_err)] // litesvm's error type

use std::sync::Arc;
use std::time::Instant;

use litesvm::LiteSVM;
use solana_account::Account;
use solana_keypair::Keypair as SolKeypair;
use solana_program_option::COption;
use solana_program_pack::Pack;
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use sova_protocol::x402::{PaymentPayload, PaymentRequired, b64, networks};
use sova_x402::programs::{
    SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, USDC_MAINNET,
};
use sova_x402::{
    AssetConfig, Keypair, LatestBlockhash, Payer, PaymentMode, PrepareContext, SeededNonce,
    SelfPaidLayout, Signer, SpendPolicy, TokenProgram, VerifyOptions, associated_token_address,
    verify,
};
use spl_token_interface::state::{Account as TokenAccount, AccountState, Mint};

const AMOUNT: u64 = 15_000;
/// The feature that runs p-token at the SPL Token address (`replace_spl_token_with_p_token`).
const P_TOKEN_FEATURE: Pubkey =
    Pubkey::from_str_const("ptokFjwyJtrwCa9Kgo9xoDS59V4QccBGEaRFnRPnSdP");

/// Which token program runs at `Tokenkeg…`.
#[derive(Debug, Clone, Copy)]
enum Engine {
    /// Mainnet features: p-token, the program mainnet runs.
    Mainnet,
    /// The classic SPL Token program 3.5.0.
    ClassicSplToken,
}

const ENGINES: [Engine; 2] = [Engine::Mainnet, Engine::ClassicSplToken];
const START: u64 = 1_000_000;

struct Chain {
    svm: LiteSVM,
}

impl Chain {
    fn new(engine: Engine) -> Chain {
        let svm = match engine {
            Engine::Mainnet => LiteSVM::new(),
            Engine::ClassicSplToken => {
                // As `LiteSVM::new()`, but with the classic SPL Token program (3.5.0) at
                // `Tokenkeg…` instead of p-token, which mainnet features select.
                let mut features = LiteSVM::mainnet_feature_set();
                features.deactivate(&P_TOKEN_FEATURE);
                LiteSVM::default()
                    .with_feature_set(features)
                    .with_builtins()
                    .with_lamports(1_000_000_000_000_000)
                    .with_sysvars()
                    .with_feature_accounts()
                    .with_default_programs()
                    .with_sigverify(true)
                    .with_blockhash_check(true)
            }
        };
        let mut c = Chain { svm };
        c.create_mint(USDC_MAINNET, TOKEN_PROGRAM_ID, 6);
        c
    }

    fn create_mint(&mut self, address: Pubkey, program: Pubkey, decimals: u8) {
        let mint = Mint {
            mint_authority: COption::Some(Pubkey::new_from_array([9; 32])),
            supply: 10 * START,
            decimals,
            is_initialized: true,
            freeze_authority: COption::None,
        };
        let mut data = vec![0u8; Mint::LEN];
        mint.pack_into_slice(&mut data);
        let lamports = self.svm.minimum_balance_for_rent_exemption(Mint::LEN);
        self.svm
            .set_account(
                address,
                Account {
                    lamports,
                    data,
                    owner: program,
                    executable: false,
                    rent_epoch: 0,
                },
            )
            .unwrap();
    }

    fn create_token_account(
        &mut self,
        owner: &Pubkey,
        mint: &Pubkey,
        program: &Pubkey,
        amount: u64,
    ) -> Pubkey {
        let address = associated_token_address(owner, mint, program);
        let acc = TokenAccount {
            mint: *mint,
            owner: *owner,
            amount,
            delegate: COption::None,
            state: AccountState::Initialized,
            is_native: COption::None,
            delegated_amount: 0,
            close_authority: COption::None,
        };
        let mut data = vec![0u8; TokenAccount::LEN];
        acc.pack_into_slice(&mut data);
        let lamports = self
            .svm
            .minimum_balance_for_rent_exemption(TokenAccount::LEN);
        self.svm
            .set_account(
                address,
                Account {
                    lamports,
                    data,
                    owner: *program,
                    executable: false,
                    rent_epoch: 0,
                },
            )
            .unwrap();
        address
    }

    fn fund(&mut self, wallet: &Pubkey, lamports: u64) {
        self.svm
            .set_account(
                *wallet,
                Account {
                    lamports,
                    data: vec![],
                    owner: SYSTEM_PROGRAM_ID,
                    executable: false,
                    rent_epoch: 0,
                },
            )
            .unwrap();
    }

    fn tokens(&self, account: &Pubkey) -> Option<u64> {
        let acc = self.svm.get_account(account)?;
        if acc.data.is_empty() {
            return None;
        }
        TokenAccount::unpack_from_slice(&acc.data[..TokenAccount::LEN])
            .ok()
            .map(|a| a.amount)
    }

    fn lamports(&self, wallet: &Pubkey) -> u64 {
        self.svm.get_balance(wallet).unwrap_or(0)
    }

    fn blockhash(&self) -> LatestBlockhash {
        LatestBlockhash {
            blockhash: self.svm.latest_blockhash(),
            last_valid_block_height: Some(150),
            context_slot: None,
        }
    }
}

fn required(asset: &Pubkey, pay_to: &Pubkey, fee_payer: Option<&Pubkey>) -> PaymentRequired {
    let extra = match fee_payer {
        Some(f) => format!(r#","extra":{{"feePayer":"{f}"}}"#),
        None => String::new(),
    };
    let json = format!(
        r#"{{"x402Version":2,"accepts":[{{"scheme":"exact","network":"{}","asset":"{asset}","amount":"{AMOUNT}","payTo":"{pay_to}","maxTimeoutSeconds":60{extra}}}]}}"#,
        networks::SOLANA_MAINNET
    );
    PaymentRequired::decode_header(&b64::encode(json.as_bytes())).unwrap()
}

fn payer_for(
    key: Keypair,
    configure: impl FnOnce(sova_x402::PayerBuilder) -> sova_x402::PayerBuilder,
) -> Payer {
    configure(
        Payer::builder()
            .self_paid(sova_x402::SelfPaid::Anywhere)
            .signer(key)
            .policy(Arc::new(SpendPolicy::unlimited()))
            .nonce_source(Arc::new(SeededNonce::new(7))),
    )
    .build()
    .unwrap()
}

fn transaction_of(header: &str) -> VersionedTransaction {
    let payload = PaymentPayload::decode(header).unwrap();
    let bytes = b64::decode(&payload.payload.transaction).unwrap();
    wincode::deserialize(&bytes).unwrap()
}

fn prepare(payer: &Payer, chain: &Chain, req: &PaymentRequired) -> sova_x402::PreparedPayment {
    let ctx = PrepareContext::new(Instant::now()).blockhash(chain.blockhash());
    payer.prepare(req, &ctx).unwrap().ready().unwrap()
}

#[test]
fn sponsored_flow_client_holds_no_sol() {
    for engine in ENGINES {
        sponsored_flow(engine);
    }
}

fn sponsored_flow(engine: Engine) {
    let mut chain = Chain::new(engine);
    let client = Keypair::from_seed([1; 32]);
    let facilitator = SolKeypair::new_from_array([2; 32]);
    let treasury = Pubkey::new_from_array([3; 32]);
    let fac = Signer::pubkey(&facilitator);
    chain.fund(&fac, 10_000_000_000);
    let src = chain.create_token_account(&client.pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID, START);
    let dst = chain.create_token_account(&treasury, &USDC_MAINNET, &TOKEN_PROGRAM_ID, 0);
    assert_eq!(chain.lamports(&client.pubkey()), 0);

    let client_key = client.pubkey();
    let payer = payer_for(client, |b| b);
    let req = required(&USDC_MAINNET, &treasury, Some(&fac));
    let payment = prepare(&payer, &chain, &req);
    assert_eq!(payment.record().mode, PaymentMode::Sponsored);
    assert_eq!(payment.record().fee_payer, fac.to_string());
    assert_eq!(payment.record().transaction_signature, None);

    // The facilitator verifies, fills slot 0 and submits.
    assert!(verify(&req, payment.header_value(), &VerifyOptions::default()).passed());
    let mut tx = transaction_of(payment.header_value());
    let message = tx.message.serialize();
    tx.signatures[0] = Signer::sign_message(&facilitator, &message).unwrap();
    // Still a valid payment once co-signed.
    let cosigned = PaymentPayload::new(
        Some(&req),
        &req.accepts[0],
        b64::encode(&wincode::serialize(&tx).unwrap()),
    );
    let report = verify(
        &req,
        &cosigned.encode(Default::default()),
        &VerifyOptions::default(),
    );
    assert!(report.passed(), "{report}");

    let fac_before = chain.lamports(&fac);
    let meta = chain
        .svm
        .send_transaction(tx)
        .unwrap_or_else(|e| panic!("{:?}\n{}", e.err, e.meta.pretty_logs()));
    assert!(
        meta.compute_units_consumed <= 20_000,
        "{} CU",
        meta.compute_units_consumed
    );
    // The engine switch works: p-token needs a few hundred units, SPL Token 3.5.0 thousands.
    match engine {
        Engine::Mainnet => assert!(meta.compute_units_consumed < 2_000),
        Engine::ClassicSplToken => assert!(meta.compute_units_consumed > 2_000),
    }
    assert_eq!(chain.tokens(&src), Some(START - AMOUNT));
    assert_eq!(chain.tokens(&dst), Some(AMOUNT));
    assert_eq!(chain.lamports(&client_key), 0, "the client paid no fee");
    assert_eq!(chain.lamports(&fac), fac_before - meta.fee);
}

#[test]
fn self_paid_flow_and_replay_rejected() {
    for engine in ENGINES {
        self_paid_flow(engine);
    }
}

fn self_paid_flow(engine: Engine) {
    let mut chain = Chain::new(engine);
    let client = Keypair::from_seed([4; 32]);
    let treasury = Pubkey::new_from_array([5; 32]);
    chain.fund(&client.pubkey(), 1_000_000_000);
    let src = chain.create_token_account(&client.pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID, START);
    let dst = chain.create_token_account(&treasury, &USDC_MAINNET, &TOKEN_PROGRAM_ID, 0);
    let client_key = client.pubkey();
    let payer = payer_for(client, |b| b);
    let req = required(&USDC_MAINNET, &treasury, None);
    let payment = prepare(&payer, &chain, &req);
    assert_eq!(payment.record().mode, PaymentMode::SelfPaid);
    assert!(payment.record().nonce.is_some());
    let tx = transaction_of(payment.header_value());
    assert_eq!(
        payment.record().transaction_signature,
        Some(tx.signatures[0].to_string())
    );
    let sol_before = chain.lamports(&client_key);
    let meta = chain
        .svm
        .send_transaction(tx.clone())
        .unwrap_or_else(|e| panic!("{:?}\n{}", e.err, e.meta.pretty_logs()));
    assert!(
        meta.compute_units_consumed <= 20_000,
        "{} CU",
        meta.compute_units_consumed
    );
    assert_eq!(chain.tokens(&src), Some(START - AMOUNT));
    assert_eq!(chain.tokens(&dst), Some(AMOUNT));
    assert_eq!(chain.lamports(&client_key), sol_before - meta.fee);

    // The same transaction again: refused by the runtime, nothing moves.
    let err = chain.svm.send_transaction(tx).unwrap_err();
    assert_eq!(format!("{:?}", err.err), "AlreadyProcessed");
    assert_eq!(chain.tokens(&src), Some(START - AMOUNT));
    assert_eq!(chain.tokens(&dst), Some(AMOUNT));

    // A second payment for the same requirement is a different transaction and lands.
    let second = prepare(&payer, &chain, &req);
    assert_ne!(second.header_value(), payment.header_value());
    chain
        .svm
        .send_transaction(transaction_of(second.header_value()))
        .unwrap();
    assert_eq!(chain.tokens(&dst), Some(2 * AMOUNT));
}

#[test]
fn minimal_layout_flow() {
    for engine in ENGINES {
        minimal_flow(engine);
    }
}

fn minimal_flow(engine: Engine) {
    let mut chain = Chain::new(engine);
    // A wallet per run: the payers of a process share the memory of documented payments
    // signed (to avoid byte-identical ones), and each engine's chain starts from the same
    // blockhash.
    static RUN: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(60);
    let client = Keypair::from_seed([RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed); 32]);
    let treasury = Pubkey::new_from_array([7; 32]);
    chain.fund(&client.pubkey(), 1_000_000_000);
    let src = chain.create_token_account(&client.pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID, START);
    let dst = chain.create_token_account(&treasury, &USDC_MAINNET, &TOKEN_PROGRAM_ID, 0);
    let payer = payer_for(client, |b| b.self_paid_layout(SelfPaidLayout::Minimal));
    let req = required(&USDC_MAINNET, &treasury, None);
    let payment = prepare(&payer, &chain, &req);
    assert_eq!(payment.record().mode, PaymentMode::Minimal);
    assert_eq!(payment.record().memo, None);
    let tx = transaction_of(payment.header_value());
    assert!(matches!(
        tx.message,
        solana_message::VersionedMessage::Legacy(_)
    ));
    assert_eq!(tx.message.instructions().len(), 1);
    chain
        .svm
        .send_transaction(tx)
        .unwrap_or_else(|e| panic!("{:?}\n{}", e.err, e.meta.pretty_logs()));
    assert_eq!(chain.tokens(&src), Some(START - AMOUNT));
    assert_eq!(chain.tokens(&dst), Some(AMOUNT));

    // Same blockhash, same amount: the minimal layout would repeat itself byte for byte,
    // so this payment only gets a Memo nonce. It stays a legacy message and executes.
    let ctx = PrepareContext::new(Instant::now()).blockhash(chain.blockhash());
    let second = payer.prepare(&req, &ctx).unwrap().ready().unwrap();
    assert_eq!(second.record().mode, PaymentMode::Minimal);
    let nonce = second.record().nonce.clone().unwrap();
    assert_eq!(second.record().memo.as_deref(), Some(nonce.as_str()));
    assert_ne!(second.header_value(), payment.header_value());
    let tx2 = transaction_of(second.header_value());
    assert!(matches!(
        tx2.message,
        solana_message::VersionedMessage::Legacy(_)
    ));
    assert_eq!(
        tx2.message.instructions().len(),
        2,
        "TransferChecked and the Memo"
    );
    chain
        .svm
        .send_transaction(tx2)
        .unwrap_or_else(|e| panic!("{:?}\n{}", e.err, e.meta.pretty_logs()));
    assert_eq!(chain.tokens(&dst), Some(2 * AMOUNT));
    // With a newer blockhash it pays again without a memo.
    chain.svm.expire_blockhash();
    let again = prepare(&payer, &chain, &req);
    assert_eq!(again.record().memo, None);
    chain
        .svm
        .send_transaction(transaction_of(again.header_value()))
        .unwrap();
    assert_eq!(chain.tokens(&dst), Some(3 * AMOUNT));
}

#[test]
fn token_2022_mint() {
    for engine in ENGINES {
        token_2022_flow(engine);
    }
}

fn token_2022_flow(engine: Engine) {
    let mut chain = Chain::new(engine);
    let mint = Pubkey::new_from_array([0x2a; 32]);
    chain.create_mint(mint, TOKEN_2022_PROGRAM_ID, 9);
    let client = Keypair::from_seed([8; 32]);
    let treasury = Pubkey::new_from_array([10; 32]);
    chain.fund(&client.pubkey(), 1_000_000_000);
    let src = chain.create_token_account(&client.pubkey(), &mint, &TOKEN_2022_PROGRAM_ID, START);
    let dst = chain.create_token_account(&treasury, &mint, &TOKEN_2022_PROGRAM_ID, 0);
    // The classic-program ATA differs: a client that ignored the program would miss.
    assert_ne!(
        dst,
        associated_token_address(&treasury, &mint, &TOKEN_PROGRAM_ID)
    );
    let payer = payer_for(client, |b| {
        b.asset(AssetConfig::known(mint, 9, TokenProgram::Token2022))
    });
    let req = required(&mint, &treasury, None);
    let payment = prepare(&payer, &chain, &req);
    assert_eq!(payment.record().destination, dst.to_string());
    let opts = VerifyOptions::default().mints(Arc::clone(payer.mints()));
    assert!(verify(&req, payment.header_value(), &opts).passed());
    chain
        .svm
        .send_transaction(transaction_of(payment.header_value()))
        .unwrap_or_else(|e| panic!("{:?}\n{}", e.err, e.meta.pretty_logs()));
    assert_eq!(chain.tokens(&src), Some(START - AMOUNT));
    assert_eq!(chain.tokens(&dst), Some(AMOUNT));
}

#[test]
fn missing_recipient_account_then_opt_in_create() {
    for engine in ENGINES {
        missing_recipient_flow(engine);
    }
}

fn missing_recipient_flow(engine: Engine) {
    for sponsored in [false, true] {
        let mut chain = Chain::new(engine);
        let client = Keypair::from_seed([11; 32]);
        let facilitator = SolKeypair::new_from_array([12; 32]);
        let fac = Signer::pubkey(&facilitator);
        let treasury = Pubkey::new_from_array([13; 32]);
        chain.fund(&fac, 10_000_000_000);
        if !sponsored {
            chain.fund(&client.pubkey(), 1_000_000_000);
        }
        let src =
            chain.create_token_account(&client.pubkey(), &USDC_MAINNET, &TOKEN_PROGRAM_ID, START);
        let dst = associated_token_address(&treasury, &USDC_MAINNET, &TOKEN_PROGRAM_ID);
        let req = required(&USDC_MAINNET, &treasury, sponsored.then_some(&fac));
        let send = |chain: &mut Chain, header: &str| {
            let mut tx = transaction_of(header);
            if sponsored {
                let m = tx.message.serialize();
                tx.signatures[0] = Signer::sign_message(&facilitator, &m).unwrap();
            }
            chain.svm.send_transaction(tx)
        };

        let plain = payer_for(Keypair::from_seed([11; 32]), |b| b);
        let payment = prepare(&plain, &chain, &req);
        let err = send(&mut chain, payment.header_value()).unwrap_err();
        let logs = err.meta.pretty_logs();
        assert!(
            format!("{:?}", err.err).contains("InstructionError"),
            "{:?}\n{logs}",
            err.err
        );
        assert_eq!(chain.tokens(&src), Some(START), "nothing moved");
        assert_eq!(chain.tokens(&dst), None, "no account was created");
        drop(client);

        let creating = payer_for(Keypair::from_seed([11; 32]), |b| {
            b.create_recipient_ata(true)
        });
        chain.svm.expire_blockhash();
        let payment = prepare(&creating, &chain, &req);
        assert!(verify(&req, payment.header_value(), &VerifyOptions::default()).passed());
        let meta = send(&mut chain, payment.header_value())
            .unwrap_or_else(|e| panic!("{:?}\n{}", e.err, e.meta.pretty_logs()));
        assert!(
            meta.compute_units_consumed <= 40_000,
            "{} CU",
            meta.compute_units_consumed
        );
        assert_eq!(chain.tokens(&src), Some(START - AMOUNT));
        assert_eq!(chain.tokens(&dst), Some(AMOUNT));
    }
}
