//! The VideoSDK v2 REST client: base URL, the server's own management token, timeouts, bounded
//! retries, and the mapping of VideoSDK's answers (in all their body shapes) to [`ApiError`].
//!
//! One module per resource (`rooms`, `livestreams`, `hls`) holds the typed requests and answers.
//! A token sent by a client app never reaches this module.

pub mod agents;
pub mod hls;
pub mod livestreams;
pub mod recordings;
pub mod rooms;
pub mod sessions;
pub mod transcriptions;
pub mod webhooks;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::claims::{SignedToken, TokenBuilder};
use crate::config::Config;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::secret::SecretStore;

/// Lifetime of the management token; it is re-minted this long before it expires.
const MANAGEMENT_TTL: Duration = Duration::from_secs(600);
const REMINT_BEFORE_EXPIRY: u64 = 60;
/// Extra attempts for idempotent (GET) calls on 5xx, timeouts and connection errors.
const GET_RETRIES: u32 = 2;
/// Longest upstream message passed on to the caller.
const MAX_MESSAGE_CHARS: usize = 300;

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub struct VideoSdk {
    base: String,
    http: reqwest::Client,
    total_timeout: Duration,
    token: Mutex<Option<CachedToken>>,
    /// Redacted from every message passed on from VideoSDK: the webhook key (rooms' and
    /// recordings' webhook URLs hold it, and VideoSDK may echo them).
    always_scrub: Vec<String>,
}

struct CachedToken {
    minted_for: Arc<Credentials>,
    token: SignedToken,
}

impl std::fmt::Debug for VideoSdk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSdk").field("base", &self.base).finish_non_exhaustive()
    }
}

/// A short string field of a VideoSDK answer (an id, a tag, a time): `None` when missing, not a
/// string, empty or over 256 bytes.
pub fn short_text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 256).map(str::to_owned)
}

/// A path under the API: fixed parts as given, ids percent-encoded; `Query` pairs (last) make
/// the query string, percent-encoded.
pub enum Segment<'a> {
    Fixed(&'a str),
    Id(&'a str),
    Query(&'a str, &'a str),
}

impl VideoSdk {
    /// Builds the HTTP client (do this during INIT: the TLS setup is the slow part).
    pub fn new(config: &Config) -> Result<VideoSdk, crate::net::NetError> {
        let http = crate::net::http_client(
            reqwest::Client::builder()
                .connect_timeout(config.upstream_connect_timeout)
                .timeout(config.upstream_timeout)
                .user_agent(concat!("videosdk-lambda/", env!("CARGO_PKG_VERSION"))),
        )?;
        Ok(VideoSdk {
            base: config.api_endpoint.clone(),
            http,
            total_timeout: config.upstream_timeout,
            token: Mutex::new(None),
            always_scrub: config.webhooks.secret_parts(),
        })
    }

    pub fn url(&self, path: &[Segment<'_>]) -> String {
        let mut url = self.base.clone();
        let mut query = false;
        for segment in path {
            match segment {
                Segment::Fixed(s) => {
                    url.push('/');
                    url.push_str(s);
                }
                Segment::Id(s) => {
                    url.push('/');
                    url.extend(utf8_percent_encode(s, SEGMENT));
                }
                Segment::Query(name, value) => {
                    url.push(if query { '&' } else { '?' });
                    query = true;
                    url.extend(utf8_percent_encode(name, SEGMENT));
                    url.push('=');
                    url.extend(utf8_percent_encode(value, SEGMENT));
                }
            }
        }
        url
    }

    /// Calls VideoSDK and decodes its JSON answer. `scrub` lists values (stream keys) that must
    /// not appear in any message passed on from VideoSDK.
    pub async fn call<T: DeserializeOwned>(
        &self,
        secrets: &SecretStore,
        method: Method,
        path: &[Segment<'_>],
        body: Option<&impl Serialize>,
        scrub: &[&str],
    ) -> Result<T, ApiError> {
        self.call_remapped(secrets, method, path, body, scrub, |_, _| None).await
    }

    /// [`Self::call`], with `remap` given the first say on a refusal's status and message
    /// (for resources whose refusals mean something more specific than the general table).
    pub async fn call_remapped<T: DeserializeOwned>(
        &self,
        secrets: &SecretStore,
        method: Method,
        path: &[Segment<'_>],
        body: Option<&impl Serialize>,
        scrub: &[&str],
        remap: fn(u16, &str) -> Option<ApiError>,
    ) -> Result<T, ApiError> {
        let body = body.map(serde_json::to_vec).transpose().map_err(|_| ApiError::Internal)?;
        let reply = self.exchange(secrets, method, path, body).await?;
        let mut scrubbed: Vec<&str> = scrub.to_vec();
        scrubbed.extend(self.always_scrub.iter().map(String::as_str));
        let value = reply.into_result(&scrubbed, remap)?;
        serde_json::from_value(value).map_err(|e| {
            tracing::warn!(cause = %e, "VideoSDK answered with an unexpected shape");
            ApiError::UpstreamError("VideoSDK answered with an unexpected body.".into())
        })
    }

    /// A GET whose successful answer is returned as the raw body (JSON or not); refusals map as
    /// for [`Self::call`].
    pub async fn get_raw(&self, secrets: &SecretStore, path: &[Segment<'_>]) -> Result<Vec<u8>, ApiError> {
        let reply = self.exchange(secrets, Method::GET, path, None).await?;
        if reply.status.is_success() {
            return Ok(reply.body);
        }
        let scrubbed: Vec<&str> = self.always_scrub.iter().map(String::as_str).collect();
        reply.into_result(&scrubbed, |_, _| None).map(|_| Vec::new())
    }

    /// Sends one call with the management token, within the call's budget (cut short by the
    /// request's own deadline; secret reads count too), re-reading the secret once when
    /// VideoSDK refuses the token.
    async fn exchange(
        &self,
        secrets: &SecretStore,
        method: Method,
        path: &[Segment<'_>],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ApiError> {
        let url = self.url(path);
        let deadline = crate::deadline::within(self.total_timeout);
        crate::deadline::scope(deadline, async {
            let credentials = secrets.current().await?;
            let token = self.management_token(&credentials, false).await?;
            let mut reply = self.send(&method, &url, body.as_deref(), &token, deadline).await?;
            if reply.refuses_the_token() {
                // The secret may have been rotated: read it again, mint anew, try once more.
                tracing::warn!(
                    status = reply.status.as_u16(),
                    "VideoSDK refused the management token; re-reading the secret and retrying once"
                );
                let credentials = secrets.refresh(&credentials).await?;
                let token = self.management_token(&credentials, true).await?;
                reply = self.send(&method, &url, body.as_deref(), &token, deadline).await?;
            }
            Ok(reply)
        })
        .await
    }

    async fn management_token(&self, credentials: &Arc<Credentials>, force: bool) -> Result<String, ApiError> {
        let mut cached = self.token.lock().await;
        let now = SystemTime::now();
        let now_secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if let Some(c) = cached.as_ref() {
            let same_secret = Arc::ptr_eq(&c.minted_for, credentials) || *c.minted_for == **credentials;
            if !force && same_secret && still_fresh(c.token.exp, now_secs) {
                return Ok(c.token.expose().to_owned());
            }
        }
        let token =
            TokenBuilder::management().ttl(MANAGEMENT_TTL).sign(credentials, now).map_err(|_| ApiError::Internal)?;
        tracing::debug!(jti = %token.jti, "minted a management token");
        let exposed = token.expose().to_owned();
        *cached = Some(CachedToken { minted_for: credentials.clone(), token });
        Ok(exposed)
    }

    /// One logical request: GETs are retried on 5xx, timeouts and connection errors while the
    /// deadline allows; other methods are sent once.
    async fn send(
        &self,
        method: &Method,
        url: &str,
        body: Option<&[u8]>,
        token: &str,
        deadline: Instant,
    ) -> Result<Reply, ApiError> {
        let retries = if method == Method::GET { GET_RETRIES } else { 0 };
        let mut attempt = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ApiError::UpstreamTimeout);
            }
            let mut request = self
                .http
                .request(method.clone(), url)
                .timeout(remaining)
                .header(header::AUTHORIZATION, token)
                .header(header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.header(header::CONTENT_TYPE, "application/json").body(body.to_vec());
            }
            let started = Instant::now();
            let outcome = match request.send().await {
                Ok(response) => Reply::read(response).await,
                Err(e) => Err(e),
            };
            crate::metrics::upstream_call(started.elapsed());
            let outcome = match outcome {
                Ok(None) => {
                    tracing::warn!(url = %url, limit = MAX_UPSTREAM_BODY, "VideoSDK answered with a body over the limit; not read");
                    return Err(ApiError::UpstreamError(
                        "VideoSDK answered with more than this server reads; retry later.".into(),
                    ));
                }
                Ok(Some(reply)) => Ok(reply),
                Err(e) => Err(e),
            };
            let retryable = match &outcome {
                Ok(reply) => reply.status.is_server_error(),
                Err(e) => e.is_timeout() || e.is_connect() || e.is_request(),
            };
            let backoff = backoff(attempt);
            if retryable && attempt < retries && Instant::now() + backoff < deadline {
                attempt += 1;
                tokio::time::sleep(backoff).await;
                continue;
            }
            return outcome.map_err(|e| {
                if e.is_timeout() {
                    tracing::warn!(url = %url, "VideoSDK did not answer within the timeout");
                    ApiError::UpstreamTimeout
                } else {
                    tracing::warn!(url = %url, cause = %error_chain(&e), "VideoSDK could not be reached");
                    ApiError::UpstreamError("VideoSDK could not be reached; retry later.".into())
                }
            });
        }
    }
}

/// A cached management token is used until 60 s before it expires.
fn still_fresh(exp: u64, now: u64) -> bool {
    now + REMINT_BEFORE_EXPIRY < exp
}

/// Exponential backoff with full jitter: 0–100 ms, then 0–200 ms, …
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 100u64 << attempt.min(4);
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    Duration::from_millis(random % (cap_ms + 1))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: Vec<u8>,
}

impl Reply {
    /// 401, or a 403 whose message says the token is invalid or expired: the secret may have
    /// been rotated. Any other 403 (a wrong role) is not cured by reading the secret again.
    fn refuses_the_token(&self) -> bool {
        match self.status {
            StatusCode::UNAUTHORIZED => true,
            StatusCode::FORBIDDEN => {
                let message = upstream_message(&self.body).to_ascii_lowercase();
                message.contains("token") && (message.contains("invalid") || message.contains("expired"))
            }
            _ => false,
        }
    }

    /// The answer, its body read up to [`MAX_UPSTREAM_BODY`]; `None` past it (nothing more is read).
    async fn read(mut response: reqwest::Response) -> Result<Option<Reply>, reqwest::Error> {
        let status = response.status();
        let retry_after = response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if response.content_length().is_some_and(|n| n > MAX_UPSTREAM_BODY as u64) {
            return Ok(None);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(Reply { status, retry_after, body }))
    }

    fn into_result(self, scrub: &[&str], remap: fn(u16, &str) -> Option<ApiError>) -> Result<Value, ApiError> {
        let status = self.status;
        if status.is_success() {
            if self.body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            let value: Value = serde_json::from_slice(&self.body).map_err(|_| {
                tracing::warn!(status = status.as_u16(), "VideoSDK answered with a body that is not JSON");
                ApiError::UpstreamError("VideoSDK answered with a body that could not be read.".into())
            })?;
            if reports_failure(&value) {
                let message = upstream_message_redacted(&self.body, scrub);
                tracing::warn!(status = status.as_u16(), upstream_message = %message, "VideoSDK answered 2xx but reported a failure");
                let message = if message.is_empty() { "the request failed".to_owned() } else { message };
                return Err(ApiError::UpstreamError(format!("VideoSDK reported a failure: {message}")));
            }
            return Ok(value);
        }
        let message = upstream_message_redacted(&self.body, scrub);
        if status == StatusCode::PAYMENT_REQUIRED {
            // Also what VideoSDK may answer for an unknown room, but it can mean the account is
            // out of credit or its plan lacks the feature: operators must see it.
            tracing::error!(
                status = 402,
                upstream_message = %message,
                "VideoSDK answered 402 Payment Required (check the account's billing and plan); answered 404"
            );
        } else {
            tracing::info!(status = status.as_u16(), upstream_message = %message, "VideoSDK refused the request");
        }
        if let Some(error) = remap(status.as_u16(), &message) {
            return Err(error);
        }
        let or = |fallback: &str| if message.is_empty() { fallback.to_owned() } else { message.clone() };
        Err(match status.as_u16() {
            400 | 422 => ApiError::UpstreamRejected(or("the request was invalid")),
            401 | 403 => ApiError::UpstreamAuth,
            402 | 404 => ApiError::NotFound(format!("VideoSDK: {}", or("not found"))),
            409 => ApiError::Conflict(format!("VideoSDK: {}", or("conflict"))),
            429 => ApiError::RateLimited { retry_after: self.retry_after },
            s if s >= 500 => ApiError::UpstreamError(format!("VideoSDK failed ({s}); retry later.")),
            s => ApiError::UpstreamError(format!("VideoSDK answered {s} unexpectedly.")),
        })
    }
}

/// The most of an answer's body this server reads; past it the call is 502 `upstream_error`.
pub const MAX_UPSTREAM_BODY: usize = 1024 * 1024;

/// Whether `error` is VideoSDK refusing a call (its 4xx answers): nothing was started, so what
/// the call was counted against is given back.
pub fn nothing_started(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::UpstreamRejected(_)
            | ApiError::NotFound(_)
            | ApiError::Conflict(_)
            | ApiError::RateLimited { .. }
            | ApiError::UpstreamAuth
    )
}

/// Whether a 2xx answer says it failed: `"success": false` (at the top or in `data`, where the
/// agent dispatch answer keeps it), or an `error` that is not null and not empty.
pub fn reports_failure(answer: &Value) -> bool {
    let unsuccessful = |v: Option<&Value>| v == Some(&Value::Bool(false));
    let error = match answer.get("error") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    unsuccessful(answer.get("success")) || unsuccessful(answer.pointer("/data/success")) || error
}

/// VideoSDK's message from any of its body shapes: `message`, `error`, `msg`, `statusMessage`
/// (also nested under `error`), a bare JSON string, or plain text; whitespace collapsed and cut
/// to 300 characters.
pub fn upstream_message(body: &[u8]) -> String {
    upstream_message_redacted(body, &[])
}

/// [`upstream_message`] with every value in `secrets` replaced by `<redacted>`, in the raw body
/// (also percent-encoded, in any hex case) and again in the extracted message (JSON escapes
/// undone), before anything is collapsed or cut: a cut can never leave part of a secret behind.
fn upstream_message_redacted(body: &[u8], secrets: &[&str]) -> String {
    let text = redact(&String::from_utf8_lossy(body), secrets);
    let message = match serde_json::from_str::<Value>(&text) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(obj)) => ["message", "error", "msg", "statusMessage"]
            .iter()
            .find_map(|k| match obj.get(*k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(Value::Object(inner)) => inner.get("message").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .unwrap_or_default(),
        Ok(_) => String::new(),
        Err(_) => text,
    };
    let message = redact(&message, secrets);
    let message: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.chars().count() > MAX_MESSAGE_CHARS {
        let cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{cut}…")
    } else {
        message
    }
}

/// Replaces each secret in `text`, where each of its bytes may appear as itself or
/// percent-encoded (`%2D`, `%2d`), with `<redacted>`. Linear in the text: the text is decoded
/// once (every `%XX` to its byte, remembering where each decoded byte came from), and each
/// secret is found in it by Knuth–Morris–Pratt. A secret that itself holds `%` is also found
/// as it is spelled.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = redact_one(&text, secret.as_bytes());
    }
    text
}

fn redact_one(text: &str, secret: &[u8]) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    // decoded[k] came from bytes[spans[k]..spans[k + 1]].
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut spans = Vec::with_capacity(bytes.len() + 1);
    let mut i = 0;
    while i < bytes.len() {
        spans.push(i);
        match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
            (b'%', Some(hi), Some(lo)) => {
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    spans.push(bytes.len());
    let mut cuts: Vec<(usize, usize)> =
        kmp_matches(&decoded, secret).into_iter().map(|k| (spans[k], spans[k + secret.len()])).collect();
    if secret.contains(&b'%') {
        cuts.extend(kmp_matches(bytes, secret).into_iter().map(|k| (k, k + secret.len())));
        cuts.sort_unstable();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in cuts {
        if start < at || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str("<redacted>");
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where `needle` starts in `haystack`, left to right and not overlapping (Knuth–Morris–Pratt:
/// O(haystack + needle)).
fn kmp_matches(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut fail = vec![0usize; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        while k > 0 && needle[i] != needle[k] {
            k = fail[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut found = Vec::new();
    let mut k = 0;
    for (i, &b) in haystack.iter().enumerate() {
        while k > 0 && b != needle[k] {
            k = fail[k - 1];
        }
        if b == needle[k] {
            k += 1;
        }
        if k == needle.len() {
            found.push(i + 1 - k);
            k = 0;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn messages_come_from_every_body_shape() {
        let cases: &[(&str, &str)] = &[
            (r#"{"message":"Room not found"}"#, "Room not found"),
            (r#"{"error":"Invalid roomId"}"#, "Invalid roomId"),
            (r#"{"msg":"Bad request"}"#, "Bad request"),
            (r#"{"statusMessage":"Not Found","statusCode":404}"#, "Not Found"),
            (r#"{"error":{"message":"nested"}}"#, "nested"),
            (r#""Livestream not running""#, "Livestream not running"),
            ("Invalid meeting id\n", "Invalid meeting id"),
            (r#"{"code":4004}"#, ""),
            ("", ""),
        ];
        for (body, expected) in cases {
            assert_eq!(upstream_message(body.as_bytes()), *expected, "{body}");
        }
        assert_eq!(upstream_message("x".repeat(1000).as_bytes()).chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn management_tokens_are_reminted_a_minute_before_expiry() {
        assert!(still_fresh(1_000, 900));
        assert!(still_fresh(1_000, 939));
        assert!(!still_fresh(1_000, 940));
        assert!(!still_fresh(1_000, 1_200));
    }

    #[test]
    fn backoff_is_jittered_and_bounded() {
        for attempt in 0..6 {
            let cap = Duration::from_millis(100 << attempt.min(4));
            assert!((0..20).map(|_| backoff(attempt)).all(|d| d <= cap));
        }
    }

    #[test]
    fn secrets_are_redacted_plain_and_percent_encoded() {
        assert_eq!(redact("bad key sk-123 given", &["sk-123"]), "bad key <redacted> given");
        assert_eq!(redact("sk%2D123/sk%2d123/s%6B-123.", &["sk-123"]), "<redacted>/<redacted>/<redacted>.");
        assert_eq!(redact("Zoë sk-12 %2", &["sk-123", "ë"]), "Zo<redacted> sk-12 %2");
        assert_eq!(redact("no secrets", &[""]), "no secrets");
    }

    #[test]
    fn redaction_is_linear_in_the_body() {
        // The worst case of a naive search: a long run of the key's prefix, never the key.
        let key = format!("{}b", "a".repeat(300));
        let body = "a".repeat(MAX_UPSTREAM_BODY);
        let started = std::time::Instant::now();
        assert_eq!(redact(&body, &[&key]).len(), body.len());
        let naive_steps = (body.len() * key.len()) as f64;
        println!(
            "redacting a 1 MiB worst case took {:?} ({naive_steps:e} steps for a naive search)",
            started.elapsed()
        );
        // And it still finds every spelling, next to each other and mixed.
        let key = "sk-a%b";
        assert_eq!(
            redact("x sk-a%b sk%2Da%25b sk-a%25bsk-a%b y", &[key]),
            "x <redacted> <redacted> <redacted><redacted> y"
        );
        assert_eq!(redact("aab aaab", &["aab"]), "<redacted> a<redacted>");
    }

    #[test]
    fn secrets_are_redacted_before_the_message_is_cut() {
        let key = "k".repeat(100);
        let body = serde_json::to_vec(&json!({"message": format!("{} {key}", "x".repeat(250))})).unwrap();
        let message = upstream_message_redacted(&body, &[&key]);
        assert!(message.ends_with(" <redacted>"), "{message}");
        let escaped = br#"{"message":"key \u0073k-1 refused"}"#;
        assert_eq!(upstream_message_redacted(escaped, &["sk-1"]), "key <redacted> refused");
    }

    #[test]
    fn ids_are_percent_encoded_in_paths() {
        let config =
            Config::from_lookup(|k| (k == "VIDEOSDK_API_ENDPOINT").then(|| "http://127.0.0.1:1".into())).unwrap();
        let client = VideoSdk::new(&config).unwrap();
        let url = client.url(&[Segment::Fixed("v2/rooms/validate"), Segment::Id("a/b c?")]);
        assert_eq!(url, "http://127.0.0.1:1/v2/rooms/validate/a%2Fb%20c%3F");
        let url =
            client.url(&[Segment::Fixed("v2/sessions/"), Segment::Query("roomId", "a&b"), Segment::Query("page", "2")]);
        assert_eq!(url, "http://127.0.0.1:1/v2/sessions/?roomId=a%26b&page=2");
    }
}
