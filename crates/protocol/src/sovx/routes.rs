//! The route table: every SovX path the SDK calls, in one place.
//!
//! Each [`Route`] names its method, path template, credential, endpoint group and whether
//! Sovera documents the path ([`RouteStatus`]). Routes marked
//! [`RouteStatus::Conventional`] or [`RouteStatus::PartlyDocumented`] are the reference's
//! "conventional REST path to use until confirmed": guesses, not facts. A caller can point any
//! endpoint elsewhere with [`RequestOptions::route_override`](super::RequestOptions::route_override)
//! without waiting for a new SDK release.
//!
//! Templates use `{name}` placeholders; values are percent-encoded as one path segment each,
//! so an id can never add a path level.

use http::Method;

use crate::base::encode_segment;
use crate::{BuildError, Credential};

/// How much of a route Sovera documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteStatus {
    /// Method and path are documented (✅ in the reference).
    Documented,
    /// Part of the path or the method is documented; the rest is the conventional guess (🟡).
    PartlyDocumented,
    /// No path is documented; the conventional REST path is used until Sovera confirms (❌).
    Conventional,
}

/// The endpoint groups of the SovX docs. Used for per-group settings such as where a user
/// token is sent ([`PlacementPolicy`](super::PlacementPolicy)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Group {
    /// `GET /health`.
    Health,
    /// SX Connect — Authentication: issuing user tokens.
    Auth,
    /// SX Connect — User Onboarding.
    Users,
    /// SX Connect — Fees & Monetization.
    Monetization,
    /// SX Connect — owner Account Management (balance, transactions).
    OwnerAccount,
    /// SX Connect — Currencies and trading pairs.
    Currencies,
    /// SX Users — Wallets.
    Wallets,
    /// SX Users — Wallet Addresses.
    Addresses,
    /// SX Users — Account Data (per-user balance and transactions).
    UserAccount,
    /// SX Users — Trading (quotes and orders).
    Trading,
    /// SX Users — Withdrawals.
    Withdrawals,
    /// SX Users — Transfers.
    Transfers,
}

/// One row of the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The endpoint's stable name (`sovx.<group>.<operation>`), also [`crate::Endpoint::name`].
    pub name: &'static str,
    /// The group the endpoint belongs to.
    pub group: Group,
    /// The HTTP method.
    pub method: Method,
    /// The path template below the base URL, e.g. `/users/{user_id}/token`.
    pub template: &'static str,
    /// Whether the path is documented.
    pub status: RouteStatus,
    /// The credential the endpoint needs.
    pub credential: Credential,
}

impl Route {
    /// Whether method and path are both documented.
    pub fn is_documented(&self) -> bool {
        self.status == RouteStatus::Documented
    }

    /// Fills this route's template with `params` (see [`render`]).
    pub fn render(&self, params: &[(&'static str, &str)]) -> Result<String, BuildError> {
        render(self.template, params)
    }
}

/// Fills a path template: each `{name}` is replaced by the matching value of `params`,
/// percent-encoded as one path segment.
///
/// Fails when the template does not start with `/`, has an unbalanced brace, names a
/// placeholder that `params` does not provide, or when a value is empty (which would collapse
/// a path level).
///
/// ```
/// use sova_protocol::sovx::routes::render;
/// assert_eq!(render("/users/{user_id}/token", &[("user_id", "a/b c")])?, "/users/a%2Fb%20c/token");
/// assert!(render("/users/{user}/token", &[("user_id", "x")]).is_err());
/// # Ok::<(), sova_protocol::BuildError>(())
/// ```
pub fn render(template: &str, params: &[(&'static str, &str)]) -> Result<String, BuildError> {
    if !template.starts_with('/') {
        return Err(BuildError::input(
            "route",
            "a path template must start with '/'",
        ));
    }
    let mut out = String::with_capacity(template.len() + 48);
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(BuildError::input(
                "route",
                format!("unbalanced '}}' in {template:?}"),
            ));
        }
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            BuildError::input("route", format!("unbalanced '{{' in {template:?}"))
        })?;
        let name = &after[..close];
        let (field, value) = params.iter().find(|(k, _)| *k == name).ok_or_else(|| {
            BuildError::input(
                "route",
                format!(
                    "the placeholder {{{name}}} in {template:?} is not a parameter of this endpoint"
                ),
            )
        })?;
        if value.is_empty() {
            return Err(BuildError::input(field, "must not be empty"));
        }
        if *value == "." || *value == ".." {
            return Err(BuildError::input(
                field,
                "must not be a relative path segment",
            ));
        }
        out.push_str(&encode_segment(value));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

macro_rules! routes {
    ($(
        $(#[$doc:meta])*
        $id:ident = ($name:literal, $group:ident, $method:ident, $template:literal, $status:ident, $cred:ident);
    )+) => {
        $(
            $(#[$doc])*
            pub const $id: Route = Route {
                name: $name,
                group: Group::$group,
                method: Method::$method,
                template: $template,
                status: RouteStatus::$status,
                credential: Credential::$cred,
            };
        )+

        /// Every route, in catalogue order.
        pub const ALL: &[Route] = &[$($id),+];
    };
}

routes! {
    /// Catalogue #1. `GET /health` (no envelope, no credential).
    HEALTH = ("sovx.health", Health, GET, "/health", Documented, None);
    /// Catalogue #3. Generate a user token.
    GENERATE_USER_TOKEN = ("sovx.auth.generate_user_token", Auth, POST, "/users/{user_id}/token", Documented, SxOwner);
    /// Catalogue #4. Generate user tokens in bulk.
    GENERATE_USER_TOKENS = ("sovx.auth.generate_user_tokens", Auth, POST, "/users/tokens", Documented, SxOwner);
    /// Catalogue #5. Create a user.
    CREATE_USER = ("sovx.users.create", Users, POST, "/users", Documented, SxOwner);
    /// Catalogue #6. Read a user (conventional path).
    GET_USER = ("sovx.users.get", Users, GET, "/users/{user_id}", Conventional, SxOwner);
    /// Catalogue #7. Update a user (conventional path).
    UPDATE_USER = ("sovx.users.update", Users, PATCH, "/users/{user_id}", Conventional, SxOwner);
    /// Catalogue #8. Activate a user (conventional path).
    ACTIVATE_USER = ("sovx.users.activate", Users, POST, "/users/{user_id}/activate", Conventional, SxOwner);
    /// Catalogue #9. Deactivate a user (conventional path).
    DEACTIVATE_USER = ("sovx.users.deactivate", Users, POST, "/users/{user_id}/deactivate", Conventional, SxOwner);
    /// Catalogue #10. Soft-delete a user (conventional path).
    DELETE_USER = ("sovx.users.delete", Users, DELETE, "/users/{user_id}", Conventional, SxOwner);
    /// Catalogue #11. List monetization settings.
    LIST_MONETIZATION_SETTINGS = ("sovx.monetization.list", Monetization, GET, "/monetization/settings", Documented, SxOwner);
    /// Catalogue #12. Read one monetization setting (conventional path).
    GET_MONETIZATION_SETTING = ("sovx.monetization.get", Monetization, GET, "/monetization/settings/{setting_id}", Conventional, SxOwner);
    /// Catalogue #13. Create a monetization setting (conventional path).
    CREATE_MONETIZATION_SETTING = ("sovx.monetization.create", Monetization, POST, "/monetization/settings", Conventional, SxOwner);
    /// Catalogue #14. Update a setting's amount (conventional path).
    UPDATE_MONETIZATION_SETTING = ("sovx.monetization.update", Monetization, PUT, "/monetization/settings/{setting_id}", Conventional, SxOwner);
    /// Catalogue #15. Delete a monetization setting (conventional path).
    DELETE_MONETIZATION_SETTING = ("sovx.monetization.delete", Monetization, DELETE, "/monetization/settings/{setting_id}", Conventional, SxOwner);
    /// Catalogue #16. The owner account's balances.
    OWNER_BALANCE = ("sovx.owner_account.balance", OwnerAccount, GET, "/accounts/balance", Documented, SxOwner);
    /// Catalogue #17. The owner account's transactions (path documented, method inferred).
    OWNER_TRANSACTIONS = ("sovx.owner_account.transactions", OwnerAccount, GET, "/accounts/transactions", PartlyDocumented, SxOwner);
    /// Catalogue #18. List currencies.
    LIST_CURRENCIES = ("sovx.currencies.list", Currencies, GET, "/currencies", Documented, SxOwner);
    /// Catalogue #19. List trading pairs (conventional path).
    LIST_TRADING_PAIRS = ("sovx.currencies.pairs", Currencies, GET, "/currency-pairs", Conventional, SxOwner);
    /// Catalogue #20. Create a wallet.
    CREATE_WALLET = ("sovx.wallets.create", Wallets, POST, "/users/{user_id}/wallets", Documented, SxOwnerOrUser);
    /// Catalogue #21. List a user's wallets.
    LIST_WALLETS = ("sovx.wallets.list", Wallets, GET, "/users/{user_id}/wallets", Documented, SxOwnerOrUser);
    /// Catalogue #22. A wallet's balances (conventional path).
    WALLET_BALANCES = ("sovx.wallets.balances", Wallets, GET, "/wallets/{wallet_id}/balances", Conventional, SxOwnerOrUser);
    /// Catalogue #23. A wallet's transaction history (conventional path).
    WALLET_TRANSACTIONS = ("sovx.wallets.transactions", Wallets, GET, "/wallets/{wallet_id}/transactions", Conventional, SxOwnerOrUser);
    /// Catalogue #24. Create (or fetch) a deposit address (prefix documented, suffix inferred).
    CREATE_ADDRESS = ("sovx.addresses.create", Addresses, POST, "/wallets/{wallet_id}/addresses", PartlyDocumented, SxOwnerOrUser);
    /// Catalogue #25. List a wallet's addresses (conventional path).
    LIST_ADDRESSES = ("sovx.addresses.list", Addresses, GET, "/wallets/{wallet_id}/addresses", Conventional, SxOwnerOrUser);
    /// Catalogue #26. A user's balances across wallets.
    USER_BALANCE = ("sovx.user_account.balance", UserAccount, GET, "/users/{user_id}/accounts/balance", Documented, SxOwnerOrUser);
    /// Catalogue #27. A user's transactions across wallets.
    USER_TRANSACTIONS = ("sovx.user_account.transactions", UserAccount, GET, "/users/{user_id}/accounts/transactions", Documented, SxOwnerOrUser);
    /// Catalogue #28. Request a quote (the wallet id sits in the `/users/{…}` slot).
    REQUEST_QUOTE = ("sovx.trading.quote", Trading, POST, "/users/{wallet_id}/trading/quotes", Documented, SxUser);
    /// Catalogue #29. Place an order against a quote (conventional path).
    PLACE_ORDER = ("sovx.trading.order", Trading, POST, "/users/{wallet_id}/trading/orders", Conventional, SxUser);
    /// Catalogue #30. Initiate a crypto withdrawal.
    INITIATE_WITHDRAWAL = ("sovx.withdrawals.initiate", Withdrawals, POST, "/users/{user_id}/accounts/crypto/withdrawals", Documented, SxOwnerOrUser);
    /// Catalogue #31. Confirm a withdrawal with the emailed code (conventional path).
    CONFIRM_WITHDRAWAL = ("sovx.withdrawals.confirm", Withdrawals, POST, "/users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}/confirm", Conventional, SxOwnerOrUser);
    /// Catalogue #32. Resend a withdrawal's code (conventional path).
    RESEND_WITHDRAWAL_CODE = ("sovx.withdrawals.resend", Withdrawals, POST, "/users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}/resend", Conventional, SxOwnerOrUser);
    /// Catalogue #33. Get one withdrawal (conventional path).
    GET_WITHDRAWAL = ("sovx.withdrawals.get", Withdrawals, GET, "/users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}", Conventional, SxOwnerOrUser);
    /// Catalogue #34. List withdrawals (conventional path).
    LIST_WITHDRAWALS = ("sovx.withdrawals.list", Withdrawals, GET, "/users/{user_id}/accounts/crypto/withdrawals", Conventional, SxOwnerOrUser);
    /// Catalogue #35. Cancel a pending withdrawal (conventional path).
    CANCEL_WITHDRAWAL = ("sovx.withdrawals.cancel", Withdrawals, POST, "/users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}/cancel", Conventional, SxOwnerOrUser);
    /// Catalogue #36. Create a wallet-to-wallet transfer (conventional path).
    CREATE_TRANSFER = ("sovx.transfers.create", Transfers, POST, "/wallets/{wallet_id}/transfers", Conventional, SxUser);
    /// Catalogue #37. Confirm a transfer with the emailed code (conventional path).
    CONFIRM_TRANSFER = ("sovx.transfers.confirm", Transfers, POST, "/wallets/{wallet_id}/transfers/{transfer_id}/confirm", Conventional, SxUser);
    /// Catalogue #38. Resend a transfer's code (conventional path).
    RESEND_TRANSFER_CODE = ("sovx.transfers.resend", Transfers, POST, "/wallets/{wallet_id}/transfers/{transfer_id}/resend", Conventional, SxUser);
    /// Catalogue #39. Cancel a pending transfer (conventional path).
    CANCEL_TRANSFER = ("sovx.transfers.cancel", Transfers, POST, "/wallets/{wallet_id}/transfers/{transfer_id}/cancel", Conventional, SxUser);
    /// Catalogue #40. List a wallet's transfers (conventional path).
    LIST_TRANSFERS = ("sovx.transfers.list", Transfers, GET, "/wallets/{wallet_id}/transfers", Conventional, SxUser);
    /// Catalogue #41. Get one transfer (conventional path).
    GET_TRANSFER = ("sovx.transfers.get", Transfers, GET, "/wallets/{wallet_id}/transfers/{transfer_id}", Conventional, SxUser);
}

/// The route whose [`Route::name`] is `name` (an [`crate::Endpoint::name`]).
pub fn by_name(name: &str) -> Option<&'static Route> {
    ALL.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_is_consistent() {
        assert_eq!(ALL.len(), 40, "catalogue rows 1 and 3–41");
        let mut names = HashSet::new();
        for r in ALL {
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            assert!(r.name.starts_with("sovx."));
            assert!(r.template.starts_with('/'));
            assert!(
                !r.template.contains("customers"),
                "SX Customers are out of scope"
            );
        }
        let documented = ALL.iter().filter(|r| r.is_documented()).count();
        assert_eq!(documented, 13);
        assert_eq!(
            ALL.iter()
                .filter(|r| r.status == RouteStatus::PartlyDocumented)
                .count(),
            2
        );
        assert!(
            ALL.iter()
                .filter(|r| r.group == Group::Transfers)
                .all(|r| r.template.starts_with("/wallets/{wallet_id}/transfers"))
        );
        assert_eq!(by_name("sovx.trading.quote"), Some(&REQUEST_QUOTE));
        assert_eq!(by_name("intel.wallet_hud"), None);
    }

    #[test]
    fn renders_templates() {
        assert_eq!(
            render(
                "/users/{user_id}/accounts/crypto/withdrawals/{withdrawal_id}",
                &[("user_id", "u"), ("withdrawal_id", "9182")]
            )
            .unwrap(),
            "/users/u/accounts/crypto/withdrawals/9182"
        );
        assert_eq!(render("/health", &[]).unwrap(), "/health");
        assert!(render("users", &[]).is_err());
        assert!(render("/users/{user_id", &[("user_id", "x")]).is_err());
        assert!(render("/users/user_id}", &[("user_id", "x")]).is_err());
        assert!(matches!(
            render("/users/{user_id}", &[("user_id", "")]),
            Err(BuildError::InvalidInput {
                field: "user_id",
                ..
            })
        ));
        assert_eq!(render("/u/{id}", &[("id", "../..")]).unwrap(), "/u/..%2F..");
        assert!(render("/u/{id}", &[("id", "..")]).is_err());
    }
}
