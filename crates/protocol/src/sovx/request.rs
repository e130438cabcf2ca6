//! What every SovX endpoint shares: per-request options (trace id, route override), the
//! [`SxEndpoint`] trait, and the macro that implements [`Endpoint`](crate::Endpoint) from a
//! route and a few parts.

use http::{HeaderMap, Method};
use rust_decimal::Decimal;

use super::envelope::TRACE_ID_HEADER;
use super::routes::Route;
use crate::endpoint::insert_header;
use crate::{BuildError, Endpoint};

/// Options every SovX request can carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Sent as `x-trace-id` (the server generates one when it is absent).
    pub trace_id: Option<String>,
    /// Calls another method and path than the route table's (for paths Sovera has not
    /// confirmed yet).
    pub route_override: Option<RouteOverride>,
}

/// A replacement for a route's method and path template. The template uses the same
/// `{placeholders}` as the route it replaces (see [`Route::template`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOverride {
    /// The method to use.
    pub method: Method,
    /// The path template to use, e.g. `/users/{wallet_id}/transfers`.
    pub template: String,
}

impl RequestOptions {
    pub(crate) fn method(&self, route: &Route) -> Method {
        match &self.route_override {
            Some(o) => o.method.clone(),
            None => route.method.clone(),
        }
    }

    pub(crate) fn path(
        &self,
        route: &Route,
        params: &[(&'static str, &str)],
    ) -> Result<String, BuildError> {
        match &self.route_override {
            Some(o) => super::routes::render(&o.template, params),
            None => route.render(params),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), BuildError> {
        if let Some(t) = &self.trace_id
            && t.trim().is_empty()
        {
            return Err(BuildError::input("trace_id", "must not be empty"));
        }
        Ok(())
    }

    pub(crate) fn headers(&self, headers: &mut HeaderMap) -> Result<(), BuildError> {
        if let Some(t) = &self.trace_id {
            insert_header(headers, TRACE_ID_HEADER, t.trim())?;
        }
        Ok(())
    }
}

/// A SovX endpoint: an [`Endpoint`] with a row in the [route table](super::routes) and
/// [`RequestOptions`].
///
/// Clients use it generically, e.g. to give every call a trace id:
///
/// ```
/// use sova_protocol::sovx::{SxEndpoint, UserBalanceRequest};
/// let mut call = UserBalanceRequest::new("f4057807-52cf-4083-9ecb-283ef354fb2b");
/// call.set_trace_id_if_absent(|| "generated-1".to_owned());
/// assert_eq!(call.options().trace_id.as_deref(), Some("generated-1"));
/// ```
pub trait SxEndpoint: Endpoint {
    /// The route-table row.
    fn route(&self) -> &'static Route;

    /// The request's options.
    fn options(&self) -> &RequestOptions;

    /// The request's options, mutably.
    fn options_mut(&mut self) -> &mut RequestOptions;

    /// Sets a trace id unless the caller gave one.
    fn set_trace_id_if_absent(&mut self, make: impl FnOnce() -> String)
    where
        Self: Sized,
    {
        let options = self.options_mut();
        if options.trace_id.is_none() {
            options.trace_id = Some(make());
        }
    }
}

/// The parts an endpoint provides; everything else comes from its route.
pub(crate) trait Parts {
    /// Values for the route template's placeholders.
    fn path_params(&self) -> Vec<(&'static str, &str)> {
        Vec::new()
    }
    /// Query pairs, not yet encoded.
    fn query_pairs(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The JSON body.
    fn json(&self) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(None)
    }
    /// Input checks.
    fn check(&self) -> Result<(), BuildError> {
        Ok(())
    }
    /// Whether repeating is harmless, when it differs from the method's semantics.
    fn repeatable(&self) -> Option<bool> {
        None
    }
}

pub(crate) fn idempotent_method(m: &Method) -> bool {
    *m == Method::GET
        || *m == Method::HEAD
        || *m == Method::PUT
        || *m == Method::DELETE
        || *m == Method::OPTIONS
}

/// Implements `SxEndpoint`, `Endpoint` and the `trace_id`/`route_override` builders.
macro_rules! sx_endpoint {
    ($ty:ident, $route:ident, $data:ty) => {
        sx_endpoint!(@impl $ty, $route, $crate::sovx::SxResponse<$data>, $crate::sovx::envelope::parse_envelope);
    };
    ($ty:ident, $route:ident, unenveloped $out:ty, $parse:path) => {
        sx_endpoint!(@impl $ty, $route, $out, $parse);
    };
    (@impl $ty:ident, $route:ident, $out:ty, $parse:path) => {
        impl $ty {
            /// Sends `x-trace-id` with this request.
            pub fn trace_id(mut self, id: impl Into<String>) -> Self {
                self.options.trace_id = Some(id.into());
                self
            }

            /// Calls `method` and `template` instead of the route table's row (same
            /// `{placeholders}`), e.g. once Sovera documents a different path.
            pub fn route_override(mut self, method: ::http::Method, template: impl Into<String>) -> Self {
                self.options.route_override = Some($crate::sovx::RouteOverride {
                    method,
                    template: template.into(),
                });
                self
            }
        }

        impl $crate::sovx::SxEndpoint for $ty {
            fn route(&self) -> &'static $crate::sovx::routes::Route {
                &$crate::sovx::routes::$route
            }
            fn options(&self) -> &$crate::sovx::RequestOptions {
                &self.options
            }
            fn options_mut(&mut self) -> &mut $crate::sovx::RequestOptions {
                &mut self.options
            }
        }

        impl $crate::Endpoint for $ty {
            type Output = $out;

            fn name(&self) -> &'static str {
                $crate::sovx::routes::$route.name
            }
            fn method(&self) -> ::http::Method {
                self.options.method(&$crate::sovx::routes::$route)
            }
            fn path(&self) -> Result<String, $crate::BuildError> {
                self.options.path(&$crate::sovx::routes::$route, &$crate::sovx::request::Parts::path_params(self))
            }
            fn query(&self) -> Vec<(String, String)> {
                $crate::sovx::request::Parts::query_pairs(self)
            }
            fn headers(&self, headers: &mut ::http::HeaderMap) -> Result<(), $crate::BuildError> {
                self.options.headers(headers)
            }
            fn body(&self) -> Result<Option<Vec<u8>>, $crate::BuildError> {
                $crate::sovx::request::Parts::json(self)
            }
            fn credential(&self) -> $crate::Credential {
                $crate::sovx::routes::$route.credential
            }
            fn idempotent(&self) -> bool {
                $crate::sovx::request::Parts::repeatable(self)
                    .unwrap_or_else(|| $crate::sovx::request::idempotent_method(&$crate::Endpoint::method(self)))
            }
            fn validate(&self) -> Result<(), $crate::BuildError> {
                self.options.validate()?;
                $crate::sovx::request::Parts::check(self)
            }
            fn parse(&self, response: &::http::Response<Vec<u8>>) -> Result<Self::Output, $crate::ResponseError> {
                $parse(response)
            }
        }
    };
}

pub(crate) use sx_endpoint;

// ---------------------------------------------------------------------------------------------
// Input checks shared by the endpoints.

pub(crate) fn non_empty(field: &'static str, value: &str) -> Result<(), BuildError> {
    if value.trim().is_empty() {
        Err(BuildError::input(field, "must not be empty"))
    } else {
        Ok(())
    }
}

pub(crate) fn length(field: &'static str, value: &str, max: usize) -> Result<(), BuildError> {
    non_empty(field, value)?;
    let n = value.chars().count();
    if n > max {
        Err(BuildError::input(
            field,
            format!("at most {max} characters are accepted, got {n}"),
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn max_length(field: &'static str, value: &str, max: usize) -> Result<(), BuildError> {
    let n = value.chars().count();
    if n > max {
        Err(BuildError::input(
            field,
            format!("at most {max} characters are accepted, got {n}"),
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn positive(field: &'static str, value: Decimal) -> Result<(), BuildError> {
    if value > Decimal::ZERO {
        Ok(())
    } else {
        Err(BuildError::input(
            field,
            format!("must be positive, got {value}"),
        ))
    }
}
