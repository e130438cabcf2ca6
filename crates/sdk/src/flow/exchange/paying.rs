//! Paying: the payer prepares (fetching a blockhash or a mint from our RPC, or a reservation
//! from the ledger), the payment goes live, and an unsent one that expired is signed afresh.

use super::*;

impl<E: Endpoint + Send> Exchange<E>
where
    E::Output: Send,
{
    // ---- paying ------------------------------------------------------------------------

    /// The live payment never left this process and is older than its requirement's
    /// `maxTimeoutSeconds`: the server would no longer take it. Never sent, it is provably
    /// uncharged, so it is released and the same challenge is paid afresh (within the
    /// exchange's limit of signed payments).
    pub(super) fn resign_expired(&mut self, cx: &mut Ctx<'_>, now: Instant) -> Out<E> {
        let released = cx.money.release();
        let Some(required) = self.required.clone() else {
            return self.fail(Error::internal(
                "the payment expired unsent and its challenge was not kept",
            ));
        };
        if self.signed >= MAX_PAYMENTS {
            let e = Error::internal(format!(
                "the payment was older than the server's maxTimeoutSeconds ({}s) before it could be sent, {MAX_PAYMENTS} times; it was never sent and not charged",
                required
                    .accepts
                    .first()
                    .and_then(|r| r.max_timeout_seconds)
                    .unwrap_or(0)
            ));
            return self.fail(match released {
                Some(r) => e.with_payment(r),
                None => e,
            });
        }
        tracing::debug!("payment expired unsent (maxTimeoutSeconds); signing a fresh one");
        self.prepare(cx, required, None, now)
    }

    pub(super) fn prepare(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        blockhash: Option<sova_x402::LatestBlockhash>,
        now: Instant,
    ) -> Out<E> {
        let Some(p) = cx.payments else {
            return self.fail(Error::internal("x402 is not configured"));
        };
        if let Some(handle_payment) = &self.resuming
            && handle_payment
                .as_ref()
                .is_none_or(|h| h.state != PaymentState::NotCharged)
        {
            return self.fail(resume_refusal(handle_payment.clone()));
        }
        if cx.money.has_live() {
            return self.fail(Error::internal(
                "refusing to sign a second payment while one is live",
            ));
        }
        if self.signed >= MAX_PAYMENTS {
            return self.fail(Error::internal(format!(
                "this request already signed {MAX_PAYMENTS} payments; not signing another"
            )));
        }
        if !p.payer.known_funded()
            && let Some(needed) = usdc_price(&required, p, &cx.host)
        {
            // Once per client: an unfunded wallet is told so before anything is signed.
            let account = sova_x402::associated_token_address(
                &p.payer.pubkey(),
                &sova_x402::programs::USDC_MAINNET,
                &sova_x402::programs::TOKEN_PROGRAM_ID,
            );
            let call = sova_x402::rpc::GetTokenBalance { account };
            let req = call.http_request(&p.rpc_url, 1);
            self.phase = Phase::Preparing {
                required: Box::new(required),
                rpc: PrepRpc::Balance { call, needed },
            };
            return self.send_rpc(cx, req);
        }
        let mut ctx = PrepareContext::new(now)
            .host(&cx.host)
            .documented_form(self.fallback)
            .wall_clock_ms(cx.now_ms());
        if let Some(cap) = cx.settings.max_payment {
            ctx = ctx.max_amount(cap);
        }
        if let Some(b) = blockhash {
            ctx = ctx.blockhash(b);
        }
        let prepared = p.payer.prepare(&required, &ctx);
        self.on_prepared(cx, required, prepared, now)
    }

    /// What the payer answered: a signed payment goes live and is sent; a missing input is
    /// fetched from our RPC; a reservation is run on the ledger.
    pub(super) fn on_prepared(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        prepared: Result<Prepared, sova_x402::Error>,
        now: Instant,
    ) -> Out<E> {
        let Some(p) = cx.payments else {
            return self.fail(Error::internal("x402 is not configured"));
        };
        match prepared {
            Ok(Prepared::Ready(payment)) => {
                if let Err(e) = cx.money.attach(payment) {
                    return self.fail(e);
                }
                self.required = Some(required);
                self.signed += 1;
                cx.stats.payments += 1;
                self.attempt = 0;
                self.send(cx, now)
            }
            Ok(Prepared::NeedReservation(pending)) => {
                let pending = pending
                    .for_request(&cx.request_id, self.endpoint.name())
                    .at(cx.now_ms());
                let op = Op::Reserve(Box::new(pending.request().clone()));
                self.phase = Phase::Reserving {
                    required: Box::new(required),
                    pending,
                };
                Step::Ledger(vec![op])
            }
            Ok(Prepared::NeedBlockhash(call)) => {
                let req = call.http_request(&p.rpc_url, 1);
                self.phase = Phase::Preparing {
                    required: Box::new(required),
                    rpc: PrepRpc::Blockhash(call),
                };
                self.send_rpc(cx, req)
            }
            Ok(Prepared::NeedMintInfo(call)) => {
                let req = call.http_request(&p.rpc_url, 1);
                self.phase = Phase::Preparing {
                    required: Box::new(required),
                    rpc: PrepRpc::Mint(call),
                };
                self.send_rpc(cx, req)
            }
            Ok(_) => self.fail(Error::internal(
                "the payer asked for a step this SDK does not know",
            )),
            Err(sova_x402::Error::Refused(list)) => self.fail(Error::from_refusals(list)),
            Err(e) => self.fail(Error::Payment(e)),
        }
    }

    /// The ledger's answer to a reservation: the payer signs under it, or says why not.
    pub(super) fn on_reserved(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        pending: Box<sova_x402::PendingPayment>,
        replies: Result<Vec<Reply>, LedgerError>,
        now: Instant,
    ) -> Out<E> {
        let Some(p) = cx.payments else {
            return self.fail(Error::internal("x402 is not configured"));
        };
        let outcome = match replies {
            Ok(mut r) => match r.pop() {
                Some(Reply::Reserve(o)) => o,
                _ => {
                    return self.fail(Error::internal(
                        "the ledger answered a reservation out of turn",
                    ));
                }
            },
            Err(e) => {
                return self.fail(Error::Ledger {
                    message: format!("{e}; nothing was reserved or signed"),
                    payment: None,
                });
            }
        };
        let prepared = p.payer.complete(pending, outcome);
        self.on_prepared(cx, required, prepared, now)
    }

    pub(super) fn send_rpc(
        &mut self,
        cx: &mut Ctx<'_>,
        request: Result<Request<Vec<u8>>, sova_x402::rpc::RpcError>,
    ) -> Out<E> {
        match request {
            Ok(request) => {
                cx.stats.rpc += 1;
                Step::Send {
                    target: Target::Rpc,
                    request,
                    // RPC reads get a full attempt even after the call's budget ran out:
                    // reconciliation decides about money.
                    timeout: cx.settings.attempt_timeout,
                }
            }
            Err(e) => self.fail(Error::Rpc(format!("bad RPC request: {e}"))),
        }
    }

    pub(super) fn on_prep_answer(
        &mut self,
        cx: &mut Ctx<'_>,
        required: PaymentRequired,
        rpc: PrepRpc,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Out<E> {
        if !response.status().is_success() {
            return self.fail(Error::Rpc(format!(
                "the RPC node answered {}",
                response.status()
            )));
        }
        match rpc {
            PrepRpc::Blockhash(call) => match call.parse(response.body()) {
                Ok(latest) => self.prepare(cx, required, Some(latest), now),
                Err(e) => self.fail(Error::Rpc(e.to_string())),
            },
            PrepRpc::Balance { call, needed } => {
                let held = match call.parse(response.body()) {
                    Ok(h) => h,
                    Err(e) if sova_x402::rpc::GetTokenBalance::missing(&e) => 0,
                    Err(e) => return self.fail(Error::Rpc(e.to_string())),
                };
                let Some(p) = cx.payments else {
                    return self.fail(Error::internal("x402 is not configured"));
                };
                if held < needed {
                    return self.fail(Error::Unfunded {
                        address: p.payer.pubkey().to_string(),
                        held,
                        needed,
                    });
                }
                p.payer.set_funded(true);
                self.prepare(cx, required, None, now)
            }
            PrepRpc::Mint(call) => match call.parse(response.body()) {
                Ok(info) => {
                    if let Some(p) = cx.payments {
                        p.payer.mints().insert(info);
                    }
                    self.prepare(cx, required, None, now)
                }
                Err(e) => self.fail(Error::Rpc(e.to_string())),
            },
        }
    }
}

/// The smallest USDC (mainnet) price among the options this payer would pay (its network,
/// and the rules of the spend policy that need no history): the balance is checked only
/// once the payment is otherwise acceptable, so a mismatch or a cap is reported as such.
fn usdc_price(required: &PaymentRequired, p: &crate::call::Payments, host: &str) -> Option<u64> {
    let usdc = sova_x402::programs::USDC_MAINNET;
    required
        .accepts
        .iter()
        .filter(|r| {
            r.asset == sova_protocol::x402::USDC_MAINNET_MINT
                && r.network == p.payer.network()
                && p.payer
                    .policy()
                    .check_static(&usdc, r.amount.0, &r.pay_to, Some(host))
                    .is_ok()
        })
        .map(|r| r.amount.0)
        .min()
}
