//! The HTTP envelope: each [`ApiError`] variant maps to one status and `code`; JSON
//! responses with `Cache-Control: no-store`, and the request-side helpers every handler uses
//! (method check, 16 KiB body limit, JSON object or query string as typed fields).

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

pub use crate::error::ApiError;
use crate::ids::RoomId;

/// The error code an answer carries, kept in the response's extensions for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnsweredCode(pub &'static str);

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::InvalidField { .. } | ApiError::UnknownField(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::PayloadTooLarge | ApiError::WebhookTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthenticated(_) | ApiError::InvalidSignature => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::AgentNotAllowed(_) | ApiError::AgentVersionNotAllowed(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UpstreamRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } | ApiError::CallerRateLimited { .. } | ApiError::BudgetExhausted { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::WebhookPending { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::WithDetails(inner, _) => inner.status(),
            ApiError::UpstreamAuth | ApiError::UpstreamError(_) => StatusCode::BAD_GATEWAY,
            ApiError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::SecretUnavailable | ApiError::WebhookKeyUnavailable | ApiError::EventBusUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Misconfigured | ApiError::InvalidSetting { .. } | ApiError::Internal => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::UnknownField(_) => "unknown_field",
            ApiError::PayloadTooLarge | ApiError::WebhookTooLarge => "payload_too_large",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::AgentNotAllowed(_) => "agent_not_allowed",
            ApiError::AgentVersionNotAllowed(_) => "agent_version_not_allowed",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::UpstreamRejected(_) => "upstream_rejected",
            ApiError::RateLimited { .. } | ApiError::CallerRateLimited { .. } => "rate_limited",
            ApiError::UpstreamAuth => "upstream_auth",
            ApiError::UpstreamError(_) => "upstream_error",
            ApiError::UpstreamTimeout => "upstream_timeout",
            ApiError::SecretUnavailable => "secret_unavailable",
            ApiError::InvalidSignature => "invalid_signature",
            ApiError::WebhookKeyUnavailable => "webhook_key_unavailable",
            ApiError::EventBusUnavailable => "event_bus_unavailable",
            ApiError::Misconfigured | ApiError::InvalidSetting { .. } => "configuration_error",
            ApiError::Internal => "internal_error",
            ApiError::BudgetExhausted { .. } => "budget_exhausted",
            // VideoSDK retries a 503; the contract names this one's code.
            ApiError::WebhookPending { .. } => "event_bus_unavailable",
            ApiError::WithDetails(inner, _) => inner.code(),
        }
    }

    /// `{"error": {"code", "message", "details"?}}`.
    pub fn envelope(&self) -> Value {
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        let details = match self {
            ApiError::InvalidField { field, .. } => Some(json!({"field": field})),
            ApiError::UnknownField(field) => Some(json!({"field": field})),
            ApiError::MethodNotAllowed { allowed, .. } => Some(json!({"allowed": allowed})),
            ApiError::CallerRateLimited { retry_after } => Some(json!({"retryAfter": retry_after})),
            ApiError::BudgetExhausted { action, retry_after } => {
                Some(json!({"action": action, "retryAfter": retry_after}))
            }
            ApiError::WebhookPending { retry_after } => Some(json!({"retryAfter": retry_after})),
            ApiError::WithDetails(_, details) => Some(details.clone()),
            ApiError::InvalidSetting { settings } => Some(json!({"settings": settings})),
            _ => None,
        };
        if let Some(details) = details {
            error["details"] = details;
        }
        json!({"error": error})
    }

    pub fn into_response(self) -> Response<Body> {
        self.response_with(self.envelope())
    }

    /// The error's status and headers with a caller-chosen body (e.g. `{"valid": false, "error": …}`).
    pub fn response_with(&self, body: Value) -> Response<Body> {
        let mut response = json_response(self.status(), &body);
        // For the invocation's metrics (the `Code` dimension).
        response.extensions_mut().insert(AnsweredCode(self.code()));
        let headers = response.headers_mut();
        match self {
            ApiError::MethodNotAllowed { allowed, .. } => {
                if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                    headers.insert(header::ALLOW, v);
                }
            }
            ApiError::RateLimited { retry_after: Some(after) } => {
                if let Ok(v) = HeaderValue::from_str(after) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::CallerRateLimited { retry_after }
            | ApiError::BudgetExhausted { retry_after, .. }
            | ApiError::WebhookPending { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::WithDetails(inner, _) => {
                let inner = inner.response_with(Value::Null);
                for name in [header::RETRY_AFTER, header::ALLOW] {
                    if let Some(v) = inner.headers().get(&name) {
                        headers.insert(name, v.clone());
                    }
                }
            }
            _ => {}
        }
        response
    }
}

/// A JSON response with the headers every answer carries.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 200 with `body`.
pub fn ok(body: &Value) -> Response<Body> {
    json_response(StatusCode::OK, body)
}

/// Turns a handler's result into the response sent, logging server-side failures.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    match result {
        Ok(response) => response,
        Err(error) => {
            log_failure(&error);
            error.into_response()
        }
    }
}

/// [`respond`] for the routes that stand in for VideoSDK's own (`/v2/…`, `/ai/v1/…`): an error
/// body also carries a top-level `message` (the same sentence), where VideoSDK's apps read it.
pub fn respond_as_videosdk(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    match result {
        Ok(response) => response,
        Err(error) => {
            log_failure(&error);
            let mut body = error.envelope();
            body["message"] = Value::String(error.to_string());
            error.response_with(body)
        }
    }
}

fn log_failure(error: &ApiError) {
    if error.status().is_server_error() {
        tracing::warn!(code = error.code(), status = error.status().as_u16(), "request failed");
    } else {
        tracing::info!(code = error.code(), status = error.status().as_u16(), "request refused");
    }
}

/// Refuses any method not in `allowed`.
pub fn require_method(req: &Request, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(req.method()) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allowed: allowed.iter().map(|m| m.as_str().to_owned()).collect(),
        })
    }
}

/// The request body's bytes as received (`lambda_http` has already undone `isBase64Encoded`).
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// A room id given as the JSON value of field `name`.
pub fn room_id(name: &str, value: Value) -> Result<RoomId, ApiError> {
    let Value::String(v) = value else {
        return Err(ApiError::invalid(name, format!("\"{name}\" must be a string.")));
    };
    RoomId::parse(&v).map_err(|e| ApiError::invalid(name, format!("{name} {e}.")))
}

/// Where a field came from: query-string values are always text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Query,
    Body,
}

/// The request's input as named fields, taken one by one; whatever is left is an unknown field.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    origin: Origin,
}

impl Fields {
    /// The JSON object body; an empty body is an empty object.
    pub fn from_body(req: &Request) -> Result<Fields, ApiError> {
        let bytes = body_bytes(req);
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields { map: Map::new(), origin: Origin::Body });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::MalformedJson(format!(
                "The request body is not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            ))
        })?;
        match value {
            Value::Object(map) => Ok(Fields { map, origin: Origin::Body }),
            _ => Err(ApiError::MalformedJson("The request body must be a JSON object.".into())),
        }
    }

    /// The query string; a name given twice is refused rather than guessed at.
    pub fn from_query(req: &Request) -> Result<Fields, ApiError> {
        let mut map = Map::new();
        if let Some(query) = req.query_string_parameters_ref() {
            for (name, _) in query.iter() {
                let values = query.all(name).unwrap_or_default();
                if values.len() > 1 {
                    return Err(ApiError::invalid(name, format!("\"{name}\" is given more than once.")));
                }
                if let Some(v) = values.first() {
                    map.insert(name.to_owned(), Value::String((*v).to_owned()));
                }
            }
        }
        Ok(Fields { map, origin: Origin::Query })
    }

    /// Fields of a nested JSON object.
    pub fn from_map(map: Map<String, Value>) -> Fields {
        Fields { map, origin: Origin::Body }
    }

    /// Query string for GET, JSON body otherwise.
    pub fn from_request(req: &Request) -> Result<Fields, ApiError> {
        if req.method() == Method::GET { Fields::from_query(req) } else { Fields::from_body(req) }
    }

    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Removes and returns a raw value (`null` counts as absent).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name).filter(|v| !v.is_null())
    }

    /// Removes a field that must be a string.
    pub fn take_str(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(name, format!("\"{name}\" must be a string."))),
        }
    }

    /// Removes a whole non-negative number (a JSON number in a body, digits in a query string).
    pub fn take_u64(&mut self, name: &str) -> Result<Option<u64>, ApiError> {
        let wrong = || ApiError::invalid(name, format!("\"{name}\" must be a whole number."));
        match (self.take(name), self.origin) {
            (None, _) => Ok(None),
            (Some(Value::Number(n)), Origin::Body) => n.as_u64().map(Some).ok_or_else(wrong),
            (Some(Value::String(s)), Origin::Query) => s.trim().parse::<u64>().map(Some).map_err(|_| wrong()),
            _ => Err(wrong()),
        }
    }

    /// Removes an optional room id (`A–Z a–z 0–9 - _ .`, 1–128 characters).
    pub fn take_room_id(&mut self, name: &str) -> Result<Option<RoomId>, ApiError> {
        self.take(name).map(|v| room_id(name, v)).transpose()
    }

    /// Removes a field and its alias (`names[1]`), each parsed by `parse` when given: both given
    /// must mean the same thing, or the request is refused rather than one silently ignored.
    pub fn take_aliased<T: PartialEq>(
        &mut self,
        names: [&str; 2],
        mut parse: impl FnMut(&str, Value) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        let [name, alias] = names;
        let first = self.take(name).map(|v| parse(name, v)).transpose()?;
        let second = self.take(alias).map(|v| parse(alias, v)).transpose()?;
        match (first, second) {
            (Some(a), Some(b)) if a != b => {
                Err(ApiError::invalid(name, format!("{name} and its alias {alias} differ; give one of them.")))
            }
            (a, b) => Ok(a.or(b)),
        }
    }

    /// Removes a field that must be a JSON object.
    pub fn take_object(&mut self, name: &str) -> Result<Option<Fields>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields::from_map(map))),
            Some(_) => Err(ApiError::invalid(name, format!("\"{name}\" must be a JSON object."))),
        }
    }

    /// Drops fields that are accepted for compatibility and ignored.
    pub fn ignore(&mut self, names: &[&str]) {
        for name in names {
            self.map.remove(*name);
        }
    }

    /// Fails on the first field no one took.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.map.keys().next() {
            Some(name) => Err(ApiError::UnknownField(name.clone())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request {
        let mut req = Request::new(Body::Text(body.to_owned()));
        *req.method_mut() = Method::POST;
        req
    }

    #[test]
    fn every_error_has_a_client_or_server_status_as_the_contract_says() {
        let cases = [
            (ApiError::MalformedJson("Not JSON.".into()), 400, "malformed_json"),
            (ApiError::invalid("ttl", "ttl is wrong."), 400, "invalid_field"),
            (ApiError::UnknownField("x".into()), 400, "unknown_field"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (ApiError::Unauthenticated("Sign in.".into()), 401, "unauthenticated"),
            (ApiError::Forbidden("Not yours.".into()), 403, "forbidden"),
            (ApiError::UpstreamRejected("bad".into()), 422, "upstream_rejected"),
            (ApiError::RateLimited { retry_after: None }, 429, "rate_limited"),
            (ApiError::UpstreamAuth, 502, "upstream_auth"),
            (ApiError::UpstreamTimeout, 504, "upstream_timeout"),
            (ApiError::SecretUnavailable, 503, "secret_unavailable"),
            (ApiError::WebhookTooLarge, 413, "payload_too_large"),
            (ApiError::InvalidSignature, 401, "invalid_signature"),
            (ApiError::WebhookKeyUnavailable, 503, "webhook_key_unavailable"),
            (ApiError::EventBusUnavailable, 503, "event_bus_unavailable"),
        ];
        for (error, status, code) in cases {
            let response = error.clone().into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(response.headers()["content-type"], "application/json");
            let Body::Text(text) = response.body() else { panic!("text body") };
            let body: Value = serde_json::from_str(text).unwrap();
            assert_eq!(body["error"]["code"], code);
            assert!(!body["error"]["message"].as_str().unwrap().is_empty(), "{error:?}");
        }
    }

    #[test]
    fn rate_limited_passes_retry_after_on() {
        let response = ApiError::RateLimited { retry_after: Some("7".into()) }.into_response();
        assert_eq!(response.headers()["retry-after"], "7");
    }

    #[test]
    fn body_parsing_distinguishes_empty_malformed_and_oversized() {
        assert!(Fields::from_body(&post("")).unwrap().finish().is_ok());
        assert!(Fields::from_body(&post("  \n")).unwrap().finish().is_ok());
        assert_eq!(Fields::from_body(&post("{")).unwrap_err().code(), "malformed_json");
        assert_eq!(Fields::from_body(&post("[1]")).unwrap_err().code(), "malformed_json");
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(Fields::from_body(&post(&big)).unwrap_err(), ApiError::PayloadTooLarge);
    }

    #[test]
    fn leftover_fields_are_unknown() {
        let mut fields = Fields::from_body(&post(r#"{"roomId": "a", "extra": 1}"#)).unwrap();
        assert_eq!(fields.take_str("roomId").unwrap().as_deref(), Some("a"));
        assert_eq!(fields.finish().unwrap_err(), ApiError::UnknownField("extra".into()));
    }
}
