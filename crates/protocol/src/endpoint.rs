//! The [`Endpoint`] abstraction: endpoints as data.

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response};

use crate::{BaseUrl, BuildError, ResponseError};

/// Which credential an endpoint needs. The clients attach it; endpoints never hold secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Credential {
    /// A free, public endpoint: nothing is sent.
    None,
    /// A paid Sova Intel endpoint: an `X-Api-Key` **or** an x402 payment.
    IntelPaid,
    /// Sova Intel, authenticated but not charged (`/jobs/result/by-key`, "Authentication
    /// required"): an `X-Api-Key`. How an x402-only caller authenticates here is not
    /// documented (reference §13), so clients never send it without a key: they stop before
    /// sending and say which result needs one.
    IntelAuthenticated,
    /// Sova Intel, free and public (`/jobs/{jobId}`): the `X-Api-Key` is sent when the client
    /// has one (authenticated callers may get extra fields), nothing otherwise.
    IntelOptional,
    /// SovX owner operations: the owner `x-api-key` only.
    SxOwner,
    /// SovX per-user operations that accept the owner key or the user's token.
    SxOwnerOrUser,
    /// SovX operations that require the user's token (trading, transfers).
    SxUser,
}

/// One API operation: how to build its request and how to read its answer.
///
/// Implementors provide the method, path, optional query, headers and body, the credential
/// they need, and a parser. [`Endpoint::to_request`] assembles the `http::Request`.
pub trait Endpoint {
    /// The typed result of a successful call.
    type Output;

    /// A stable name for logs and metrics, e.g. `intel.wallet_hud`.
    fn name(&self) -> &'static str;

    /// The HTTP method.
    fn method(&self) -> Method;

    /// The path below the base URL, starting with `/`, with segments percent-encoded.
    fn path(&self) -> Result<String, BuildError>;

    /// Query parameters, in order (not yet encoded).
    fn query(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Extra request headers (e.g. `X-Prepaid-Job-Id`).
    fn headers(&self, _headers: &mut HeaderMap) -> Result<(), BuildError> {
        Ok(())
    }

    /// The JSON body, if any.
    fn body(&self) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(None)
    }

    /// The credential this endpoint needs.
    fn credential(&self) -> Credential;

    /// Whether repeating the request is harmless (used by the retry decision). Defaults to
    /// the method's semantics; POSTs that create resources are not idempotent.
    fn idempotent(&self) -> bool {
        let m = self.method();
        m == Method::GET
            || m == Method::HEAD
            || m == Method::PUT
            || m == Method::DELETE
            || m == Method::OPTIONS
    }

    /// Whether a `202 Accepted` answer is free: the documented timeout fallback of the wallet
    /// GETs, which queues an analysis and charges nothing; the charge happens on the re-call.
    /// A payment attached to such a request stays live and rides on the re-call. Every
    /// other endpoint's `202` (the POST jobs) is a charged answer. Default `false`.
    fn free_accepted(&self) -> bool {
        false
    }

    /// The route this endpoint's price belongs to: its method and path template, e.g.
    /// `GET intel.wallet_hud`. The x402 requirement learned from one request is reused
    /// (prepaid) only for requests of the same route. Typed endpoints have one template per
    /// name; a [`RawRequest`] has no template, so its route is its method and literal path,
    /// and a raw request is never prepaid from another route's requirement.
    fn price_route(&self) -> String {
        format!("{} {}", self.method(), self.name())
    }

    /// Checks inputs before anything is built (sizes, formats). Called by `to_request`.
    fn validate(&self) -> Result<(), BuildError> {
        Ok(())
    }

    /// Parses the server's answer into the output or a typed error.
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError>;

    /// Builds the request against `base`. No credential is attached.
    fn to_request(&self, base: &BaseUrl) -> Result<Request<Vec<u8>>, BuildError> {
        self.validate()?;
        let uri = base.join(&self.path()?, &self.query())?;
        let body = self.body()?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        self.headers(&mut headers)?;
        let mut request = Request::new(body.unwrap_or_default());
        *request.method_mut() = self.method();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// Serializes a body as JSON.
pub(crate) fn json_body<T: serde::Serialize>(value: &T) -> Result<Option<Vec<u8>>, BuildError> {
    serde_json::to_vec(value)
        .map(Some)
        .map_err(BuildError::Body)
}

/// Inserts a header whose value came from the user or the server.
pub(crate) fn insert_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), BuildError> {
    let v = HeaderValue::from_str(value).map_err(|_| BuildError::HeaderValue { name })?;
    headers.insert(HeaderName::from_static(name), v);
    Ok(())
}

/// The raw escape hatch: any method, path, query, headers and body, for operations the typed
/// endpoints do not cover yet. Its output is the raw response.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path below the base URL (percent-encode segments yourself).
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// The credential to attach.
    pub credential: Credential,
}

impl RawRequest {
    /// A request with no query, headers or body.
    pub fn new(method: Method, path: impl Into<String>, credential: Credential) -> Self {
        RawRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            credential,
        }
    }

    /// Sets a JSON body.
    pub fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self, BuildError> {
        self.body = json_body(body)?;
        Ok(self)
    }
}

/// The raw answer of a [`RawRequest`]: status, headers and body, whatever they are.
pub type RawResponse = Response<Vec<u8>>;

impl Endpoint for RawRequest {
    type Output = RawResponse;

    fn name(&self) -> &'static str {
        "raw"
    }
    fn price_route(&self) -> String {
        format!("{} raw {}", self.method, self.path)
    }
    fn method(&self) -> Method {
        self.method.clone()
    }
    fn path(&self) -> Result<String, BuildError> {
        if !self.path.starts_with('/') {
            return Err(BuildError::input("path", "a raw path must start with '/'"));
        }
        Ok(self.path.clone())
    }
    fn query(&self) -> Vec<(String, String)> {
        self.query.clone()
    }
    fn headers(&self, headers: &mut HeaderMap) -> Result<(), BuildError> {
        for (k, v) in &self.headers {
            headers.insert(k.clone(), v.clone());
        }
        Ok(())
    }
    fn body(&self) -> Result<Option<Vec<u8>>, BuildError> {
        Ok(self.body.clone())
    }
    fn credential(&self) -> Credential {
        self.credential
    }
    fn parse(&self, response: &Response<Vec<u8>>) -> Result<Self::Output, ResponseError> {
        let mut out = Response::new(response.body().clone());
        *out.status_mut() = response.status();
        *out.headers_mut() = response.headers().clone();
        Ok(out)
    }
}
