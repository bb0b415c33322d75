//! The functions' test kit (a dev-dependency only: no bootstrap links it): API Gateway HTTP API
//! 2.0 events built as JSON and parsed by `lambda_http` exactly as in production, response
//! helpers, a real `moto_server` for Secrets Manager and EventBridge, a fake VideoSDK that
//! answers as the real one does (odd error bodies included), a fault proxy, log capture, and
//! property-based fuzzing of every function ([`fuzz`]).

pub mod fuzz;

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

use shared::config::Config;
use shared::{State, Uses};

/// The repository root (for `events/` and `.venv/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A stored event from `events/`, parsed by `lambda_http`.
pub fn event_file(name: &str) -> Request {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An API Gateway HTTP API (payload 2.0) event under construction.
#[derive(Debug, Clone)]
pub struct Event {
    method: String,
    path: String,
    query: String,
    body: Option<String>,
    base64: bool,
    claims: Option<Map<String, Value>>,
    iam: Option<String>,
    path_parameters: Map<String, Value>,
    headers: Map<String, Value>,
}

impl Event {
    pub fn new(method: &str, path: &str) -> Event {
        Event {
            method: method.to_owned(),
            path: path.to_owned(),
            query: String::new(),
            body: None,
            base64: false,
            claims: None,
            iam: None,
            path_parameters: Map::new(),
            headers: Map::new(),
        }
    }

    pub fn get(path: &str) -> Event {
        Event::new("GET", path)
    }

    pub fn post(path: &str) -> Event {
        Event::new("POST", path)
    }

    /// The raw query string, already URL-encoded, without `?`.
    pub fn query(mut self, raw: &str) -> Event {
        self.query = raw.to_owned();
        self
    }

    pub fn body(mut self, text: &str) -> Event {
        self.body = Some(text.to_owned());
        self
    }

    pub fn json(self, value: Value) -> Event {
        self.body(&value.to_string())
    }

    /// A body delivered base64-encoded, as API Gateway does for binary content types.
    pub fn base64_body(mut self, encoded: &str) -> Event {
        self.body = Some(encoded.to_owned());
        self.base64 = true;
        self
    }

    /// JWT authorizer claims (every value a string, as API Gateway delivers them).
    pub fn claims(mut self, claims: Value) -> Event {
        self.claims = claims.as_object().cloned();
        self
    }

    /// An IAM principal, as API Gateway delivers it for a route authorized with `AWS_IAM`.
    pub fn iam(mut self, user_arn: &str) -> Event {
        self.iam = Some(user_arn.to_owned());
        self
    }

    /// A signed-in caller with `sub` and, optionally, a `cognito:groups` claim.
    pub fn user(self, sub: &str, groups: Option<&str>) -> Event {
        let mut claims = json!({"sub": sub, "iss": "https://issuer.example.com", "aud": "client-app"});
        if let Some(groups) = groups {
            claims["cognito:groups"] = json!(groups);
        }
        self.claims(claims)
    }

    /// A request header (names are lowercased, as API Gateway delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Event {
        self.headers.insert(name.to_ascii_lowercase(), json!(value));
        self
    }

    pub fn path_parameter(mut self, name: &str, value: &str) -> Event {
        self.path_parameters.insert(name.to_owned(), json!(value));
        self
    }

    pub fn to_json(&self) -> Value {
        let mut context = json!({
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "api-id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "api-id",
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "test"
            },
            "requestId": "request-id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:11:00:00 +0000",
            "timeEpoch": 1795345200000u64
        });
        if let Some(claims) = &self.claims {
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        if let Some(arn) = &self.iam {
            context["authorizer"] = json!({"iam": {"accountId": "123456789012", "userArn": arn,
                                                   "callerId": "AROAEXAMPLE:session"}});
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": {"host": "api-id.execute-api.us-east-1.amazonaws.com", "content-type": "application/json"},
            "requestContext": context,
            "isBase64Encoded": self.base64
        });
        for (name, value) in &self.headers {
            event["headers"][name] = value.clone();
        }
        if let Some(body) = &self.body {
            event["body"] = json!(body);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = Value::Object(self.path_parameters.clone());
        }
        event
    }

    /// The request the runtime loop hands a handler: the event through [`shared::guard`], then
    /// `lambda_http`'s conversion.
    pub fn request(&self) -> Request {
        let mut payload: lambda_http::request::LambdaRequest =
            serde_json::from_value(self.to_json()).expect("a valid API Gateway event");
        shared::guard::make_safe(&mut payload);
        payload.into()
    }
}

/// A response's JSON body.
pub fn body_json(response: &Response<Body>) -> Value {
    let bytes: &[u8] = match response.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("response body is not JSON ({e}): {bytes:?}"))
}

/// Configuration from a list of variables (nothing else from the environment).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| map.get(name).cloned()).expect("valid test configuration")
}

/// Test credentials given directly.
pub const API_KEY: &str = "test-api-key";
pub const SECRET: &str = "test-secret-0123456789";

/// State with the test credentials, built like INIT builds it.
pub async fn state(uses: Uses, vars: &[(&str, &str)]) -> State {
    let mut all = vec![("VIDEOSDK_API_KEY", API_KEY), ("VIDEOSDK_SECRET", SECRET)];
    all.extend_from_slice(vars);
    State::init(config(&all), uses).await
}

/// A participant token as `get-token` issues it (rtc, `allow_join`), signed with the test
/// credentials; `edit` changes its claims before signing.
pub fn participant_token(edit: impl FnOnce(&mut Value)) -> String {
    participant_token_signed(SECRET, edit)
}

/// [`participant_token`] signed with another secret.
pub fn participant_token_signed(secret: &str, edit: impl FnOnce(&mut Value)) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut claims = json!({
        "apikey": API_KEY, "permissions": ["allow_join"], "version": 2, "roles": ["rtc"],
        "iat": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string(),
    });
    edit(&mut claims);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

/// Every way a client's `Authorization` token can be wrong, by name; `None` sends no header.
pub fn bad_tokens() -> Vec<(&'static str, Option<String>)> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let valid_payload = json!({"apikey": API_KEY, "permissions": ["allow_join"], "version": 2, "roles": ["rtc"],
                               "iat": now, "exp": now + 600, "jti": "j"});
    let none_alg = format!(
        "{}.{}.",
        base64_url(br#"{"alg":"none","typ":"JWT"}"#),
        base64_url(valid_payload.to_string().as_bytes())
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &valid_payload,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    vec![
        ("missing", None),
        ("empty", Some(String::new())),
        (
            "expired",
            Some(participant_token(|c| {
                c["iat"] = json!(now - 700);
                c["exp"] = json!(now - 1);
            })),
        ),
        (
            "no exp",
            Some(participant_token(|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
        ),
        ("foreign API key", Some(participant_token(|c| c["apikey"] = json!("someone-else")))),
        ("wrong signature", Some(participant_token_signed("not-our-secret-000000", |_| {}))),
        ("alg none", Some(none_alg)),
        ("HS512", Some(hs512)),
        ("malformed", Some("not.a-token".into())),
        ("garbage", Some("Basic dXNlcjpwYXNz".into())),
        ("oversized", Some("a".repeat(5000))),
    ]
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A running `moto_server`: a real Secrets Manager endpoint on a free loopback port.
/// Stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server` from `MOTO_SERVER` or the project venv (`make venv` installs it).
    pub fn start() -> Moto {
        let binary = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv/bin/moto_server"));
        assert!(binary.exists(), "{} not found: run `make venv` (the test command does)", binary.display());
        let port = free_port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// A Secrets Manager client for this server.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        secrets_manager_client(&self.endpoint)
    }

    pub async fn put_secret(&self, id: &str, text: &str) {
        let client = self.client();
        let created = client.create_secret().name(id).secret_string(text).send().await;
        if created.is_err() {
            client.put_secret_value().secret_id(id).secret_string(text).send().await.expect("put_secret_value");
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Everything logged on this thread while the guard lives.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The one log line that says `message`, asserted to name each of `fields` (audit trail).
pub fn assert_logged(logs: &Logs, message: &str, fields: &[&str]) {
    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(message)).collect();
    assert_eq!(lines.len(), 1, "one line saying {message:?}: {text}");
    for field in fields {
        assert!(lines[0].contains(field), "{message:?} lacks {field}: {}", lines[0]);
    }
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Stops capturing on its thread when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

/// Writes to the capturing thread's buffer, if any.
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(logs) = c.borrow_mut().as_mut() {
                logs.write_all(buf)?;
            }
            Ok(buf.len())
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures log lines (all levels) on the current thread; use with a current-thread runtime.
///
/// One process-wide subscriber routes each thread's lines to that thread's capture. (A scoped
/// subscriber per test lost events: tracing caches per-callsite interest across threads, and
/// tests running in parallel raced on it.)
pub fn capture_logs() -> (Logs, CaptureGuard) {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        use tracing_subscriber::Layer;
        use tracing_subscriber::layer::SubscriberExt;
        // Decided per event (a plain `filter_fn` is cached per callsite).
        let capturing = tracing_subscriber::filter::dynamic_filter_fn(|_, _| CAPTURE.with(|c| c.borrow().is_some()));
        let layer =
            tracing_subscriber::fmt::layer().with_ansi(false).with_writer(|| ThreadWriter).with_filter(capturing);
        // A global subscriber a test binary set itself keeps precedence.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    });
    let logs = Logs::default();
    CAPTURE.with(|c| *c.borrow_mut() = Some(logs.clone()));
    (logs, CaptureGuard(()))
}

/// A fake VideoSDK REST API (wiremock) that records what it receives.
pub struct FakeVideoSdk {
    pub server: wiremock::MockServer,
}

/// How the fake upstream answers one test case.
pub enum Upstream {
    Reply(wiremock::ResponseTemplate),
    /// Nothing listens at the configured endpoint.
    Refused,
}

/// One upstream failure class and the answer the contract requires for it.
pub struct UpstreamCase {
    pub name: &'static str,
    pub upstream: Upstream,
    pub status: u16,
    pub code: &'static str,
    /// Text VideoSDK sent that the answer's message must carry on.
    pub message: Option<&'static str>,
}

/// Anonymous callers allowed to run live streams, as an operator opts in
/// (`ANONYMOUS_LIVESTREAMS=allow` with `LIVESTREAM_ALLOWED_HOSTS`, `ANONYMOUS_HLS=allow`,
/// `ANONYMOUS_END_LIVESTREAMS=allow`), to record, transcribe and end meetings
/// (`ANONYMOUS_ROOM_CONTROL=allow`) and to dispatch the agents `tutor` (any version) and `support`
/// (pinned to `sup-v7`).
pub const ANONYMOUS_OPTED_IN: &[(&str, &str)] = &[
    ("CALLER_AUTH", "none"),
    ("AGENTS", "tutor,support=sup-v7"),
    ("ANONYMOUS_AGENT_DISPATCH", "allow"),
    ("ANONYMOUS_LIVESTREAMS", "allow"),
    ("ANONYMOUS_HLS", "allow"),
    ("ANONYMOUS_END_LIVESTREAMS", "allow"),
    ("ANONYMOUS_ROOM_CONTROL", "allow"),
    ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com,live-api-s.facebook.com,h.example.com"),
];

/// Timeouts used by upstream tests: short, so the slow case stays fast.
pub const TEST_TIMEOUT_MS: u64 = 1_000;

impl FakeVideoSdk {
    pub async fn start() -> FakeVideoSdk {
        FakeVideoSdk { server: wiremock::MockServer::start().await }
    }

    /// Answers `method path` with `template`.
    pub async fn on(&self, method: &str, path: &str, template: wiremock::ResponseTemplate) {
        wiremock::Mock::given(wiremock::matchers::method(method))
            .and(wiremock::matchers::path(path))
            .respond_with(template)
            .mount(&self.server)
            .await;
    }

    /// State whose VideoSDK client points at this fake, with short timeouts.
    pub async fn state(&self, vars: &[(&str, &str)]) -> &'static State {
        let endpoint = self.server.uri();
        let timeout = TEST_TIMEOUT_MS.to_string();
        let mut all: Vec<(&str, &str)> = vec![
            ("VIDEOSDK_API_ENDPOINT", &endpoint),
            ("VIDEOSDK_TIMEOUT_MS", &timeout),
            ("VIDEOSDK_CONNECT_TIMEOUT_MS", "500"),
        ];
        all.extend_from_slice(vars);
        leak(state(Uses::VideoSdkApi, &all).await)
    }

    pub async fn requests(&self) -> Vec<wiremock::Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// The one request received, after checking its `Authorization` header is our own
    /// crawler token, raw (no `Bearer`).
    pub async fn only_request(&self) -> wiremock::Request {
        let requests = self.requests().await;
        assert_eq!(requests.len(), 1, "exactly one upstream request: {requests:?}");
        let request = requests.into_iter().next().unwrap();
        assert_crawler_token(&request, SECRET);
        request
    }
}

/// The state of a function that calls VideoSDK, with `secrets` read as the test arranged (no
/// webhooks, no rate limits), for the process's lifetime.
pub fn api_state(config: Config, secrets: shared::secret::SecretStore) -> &'static State {
    leak(State {
        videosdk: Some(shared::videosdk::VideoSdk::new(&config).expect("VideoSDK client")),
        webhooks: None,
        limiter: None,
        config,
        secrets,
    })
}

/// Keeps a test's state alive for the rest of the test process (handlers borrow it `'static`).
pub fn leak(state: State) -> &'static State {
    Box::leak(Box::new(state))
}

/// Asserts the request carries a valid HS256 management token: `crawler`, version 2,
/// `allow_join` + `allow_mod`, our API key, signed with `secret`.
pub fn assert_crawler_token(request: &wiremock::Request, secret: &str) -> shared::claims::Claims {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = request.headers.get("authorization").expect("an Authorization header").to_str().unwrap();
    assert!(!header.starts_with("Bearer"), "VideoSDK wants the raw token");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims = ["exp", "iat"].into_iter().map(String::from).collect();
    let claims = jsonwebtoken::decode::<shared::claims::Claims>(
        header,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .expect("the management token verifies with the secret")
    .claims;
    assert_eq!(claims.roles, Some(vec![shared::claims::Role::Crawler]));
    assert_eq!(claims.version, Some(2));
    assert_eq!(claims.apikey, API_KEY);
    assert_eq!(claims.permissions, vec![shared::claims::Permission::AllowJoin, shared::claims::Permission::AllowMod]);
    claims
}

/// The request's JSON body.
pub fn request_json(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON request body")
}

/// Every upstream failure class and its answer under the contract's table.
pub fn upstream_cases() -> Vec<UpstreamCase> {
    use wiremock::ResponseTemplate as R;
    let case = |name, upstream, status, code, message| UpstreamCase { name, upstream, status, code, message };
    vec![
        case(
            "400 plain text",
            Upstream::Reply(R::new(400).set_body_string("Invalid request body")),
            422,
            "upstream_rejected",
            Some("Invalid request body"),
        ),
        case(
            "401",
            Upstream::Reply(R::new(401).set_body_json(json!({"message": "Token is invalid or expired"}))),
            502,
            "upstream_auth",
            None,
        ),
        case(
            "403 wrong role",
            Upstream::Reply(R::new(403).set_body_json(json!({"error": "forbidden role"}))),
            502,
            "upstream_auth",
            None,
        ),
        case(
            "403 token invalid",
            Upstream::Reply(R::new(403).set_body_json(json!({"message": "Token is invalid or expired"}))),
            502,
            "upstream_auth",
            None,
        ),
        case(
            "402",
            Upstream::Reply(R::new(402).set_body_json(json!({"statusMessage": "Payment Required"}))),
            404,
            "not_found",
            None,
        ),
        case(
            "404",
            Upstream::Reply(R::new(404).set_body_json(json!({"msg": "Room not found"}))),
            404,
            "not_found",
            Some("Room not found"),
        ),
        case(
            "409",
            Upstream::Reply(R::new(409).set_body_json(json!({"message": "Livestream already running"}))),
            409,
            "conflict",
            Some("Livestream already running"),
        ),
        case(
            "422 message",
            Upstream::Reply(R::new(422).set_body_json(json!({"message": "Please provide streamKey"}))),
            422,
            "upstream_rejected",
            Some("Please provide streamKey"),
        ),
        case(
            "429 Retry-After",
            Upstream::Reply(R::new(429).insert_header("Retry-After", "7").set_body_string("slow down")),
            429,
            "rate_limited",
            None,
        ),
        case(
            "500",
            Upstream::Reply(R::new(500).set_body_string("<html>Internal Server Error</html>")),
            502,
            "upstream_error",
            None,
        ),
        case(
            "503",
            Upstream::Reply(R::new(503).set_body_json(json!("Service Unavailable"))),
            502,
            "upstream_error",
            None,
        ),
        case(
            "200 not JSON",
            Upstream::Reply(R::new(200).set_body_string("<html>ok</html>")),
            502,
            "upstream_error",
            None,
        ),
        // VideoSDK's 2xx answers that say they failed (videosdk.md): never "done".
        case(
            "200 success false",
            Upstream::Reply(R::new(200).set_body_json(json!({"success": false, "message": "No worker is available"}))),
            502,
            "upstream_error",
            Some("No worker is available"),
        ),
        case(
            "201 data.success false",
            Upstream::Reply(
                R::new(201).set_body_json(json!({"message": "Agent not dispatched", "data": {"success": false}})),
            ),
            502,
            "upstream_error",
            Some("Agent not dispatched"),
        ),
        case(
            "200 error",
            Upstream::Reply(R::new(200).set_body_json(json!({"error": "Session not found"}))),
            502,
            "upstream_error",
            Some("Session not found"),
        ),
        case(
            "slower than the timeout",
            Upstream::Reply(R::new(200).set_body_json(json!({})).set_delay(Duration::from_millis(TEST_TIMEOUT_MS * 3))),
            504,
            "upstream_timeout",
            None,
        ),
        case("connection refused", Upstream::Refused, 502, "upstream_error", None),
    ]
}

/// Runs every upstream failure class against one function and asserts the contract's answer,
/// that it came within the timeout, and the retry rules (401, and a 403 that says the token is
/// invalid, retried once after a secret refresh; GET retried on 5xx; POST never retried
/// otherwise); a 402 (billing) is logged at ERROR. `adjust` lets a function
/// override the expected answer for a class (e.g. `validate-meeting`'s 400 is 404).
pub async fn check_upstream_failures<H, F>(
    handler: H,
    request: impl Fn() -> Request,
    method: &str,
    path: &str,
    adjust: impl Fn(&mut UpstreamCase),
) where
    H: Fn(&'static State, Request) -> F,
    F: std::future::Future<Output = Response<Body>>,
{
    for mut case in upstream_cases() {
        adjust(&mut case);
        let fake = FakeVideoSdk::start().await;
        let state = match &case.upstream {
            Upstream::Reply(template) => {
                fake.on(method, path, template.clone()).await;
                fake.state(ANONYMOUS_OPTED_IN).await
            }
            Upstream::Refused => {
                let endpoint = format!("http://127.0.0.1:{}", free_port());
                let timeout = TEST_TIMEOUT_MS.to_string();
                let mut vars = vec![("VIDEOSDK_API_ENDPOINT", endpoint.as_str()), ("VIDEOSDK_TIMEOUT_MS", &timeout)];
                vars.extend_from_slice(ANONYMOUS_OPTED_IN);
                leak(state(Uses::VideoSdkApi, &vars).await)
            }
        };
        let (logs, guard) = capture_logs();
        let started = Instant::now();
        let response = handler(state, request()).await;
        let elapsed = started.elapsed();
        drop(guard);
        let name = case.name;
        if name == "402" {
            let line = logs.text().lines().find(|l| l.contains("status=402")).map(str::to_owned).unwrap_or_default();
            assert!(line.contains("ERROR") && line.contains("Payment Required"), "{name}: {}", logs.text());
        }
        let body = body_json(&response);
        assert_eq!(response.status().as_u16(), case.status, "{name}: {body}");
        assert_eq!(body["error"]["code"], case.code, "{name}: {body}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
        assert!(elapsed < Duration::from_millis(TEST_TIMEOUT_MS + 500), "{name}: answered after {elapsed:?}");
        if let Some(text) = case.message {
            assert!(body["error"]["message"].as_str().unwrap().contains(text), "{name}: {body}");
        }
        if case.code == "rate_limited" {
            assert_eq!(response.headers()["retry-after"], "7", "{name}");
        }
        if let Upstream::Reply(_) = case.upstream {
            let requests = fake.requests().await;
            let expected = match (case.code, method) {
                ("upstream_auth", _) if name == "403 wrong role" => 1..=1,
                ("upstream_auth", _) => 2..=2,
                ("upstream_error", "GET") if !name.starts_with("20") => 1..=3,
                ("upstream_timeout", _) => 1..=1,
                _ => 1..=1,
            };
            assert!(expected.contains(&requests.len()), "{name}: {} upstream requests", requests.len());
            for request in &requests {
                assert_crawler_token(request, SECRET);
            }
        }
    }
}

/// Matches requests whose `Authorization` header verifies with this secret.
pub struct SignedWith(pub &'static str);

impl wiremock::Match for SignedWith {
    fn matches(&self, request: &wiremock::Request) -> bool {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation};
        let Some(token) = request.headers.get("authorization").and_then(|v| v.to_str().ok()) else { return false };
        let validation = Validation::new(Algorithm::HS256);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(self.0.as_bytes()), &validation).is_ok()
    }
}

/// Sends one bad request to a function whose VideoSDK is a fresh fake, and asserts the refusal:
/// `status`, `error.code`, a non-empty message, and that VideoSDK received nothing.
/// Returns the answer's body for further checks.
pub async fn assert_refused_before_upstream<H, F>(
    handler: H,
    vars: &[(&str, &str)],
    name: &str,
    event: &Event,
    status: u16,
    code: &str,
) -> Value
where
    H: Fn(&'static State, Request) -> F,
    F: std::future::Future<Output = Response<Body>>,
{
    // VideoSDK is a listener nobody accepts on: any connection attempt waits in its backlog.
    // (No wiremock server here: many of them in one current-thread test can deadlock.)
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
    let timeout = TEST_TIMEOUT_MS.to_string();
    let mut all: Vec<(&str, &str)> = vec![("VIDEOSDK_API_ENDPOINT", &endpoint), ("VIDEOSDK_TIMEOUT_MS", &timeout)];
    all.extend_from_slice(vars);
    let state = leak(state(Uses::VideoSdkApi, &all).await);
    let response = handler(state, event.request()).await;
    let body = body_json(&response);
    assert_eq!(response.status().as_u16(), status, "{name}: {body}");
    assert_eq!(body["error"]["code"], code, "{name}: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}: {body}");
    assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
    let called = listener.accept();
    assert!(
        matches!(&called, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{name}: VideoSDK was called: {called:?}"
    );
    body
}

/// What [`FaultProxy`] does with the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// Forwards to the real endpoint (moto) and relays its answer.
    Pass = 0,
    /// Reads the request and never answers.
    Hang = 1,
    /// Closes the connection (the service is down).
    Close = 2,
    /// Answers Secrets Manager's throttling error.
    Throttle = 3,
    /// Forwards after [`SLOW`]: the caller has given up by then, but the request still lands.
    Slow = 4,
}

/// How long [`Fault::Slow`] holds a request before forwarding it.
pub const SLOW: Duration = Duration::from_millis(800);

/// A proxy in front of a real endpoint that injects faults, request by request (pooled
/// connections included): the real Secrets Manager of `moto_server`, hanging, down or throttling
/// on demand.
pub struct FaultProxy {
    pub endpoint: String,
    fault: Arc<std::sync::atomic::AtomicU8>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let fault = Arc::new(std::sync::atomic::AtomicU8::new(Fault::Pass as u8));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (f, r) = (fault.clone(), requests.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (f, r, upstream) = (f.clone(), r.clone(), upstream.clone());
                std::thread::spawn(move || relay(client, &upstream, &f, &r));
            }
        });
        FaultProxy { endpoint, fault, requests }
    }

    pub fn set(&self, fault: Fault) {
        self.fault.store(fault as u8, std::sync::atomic::Ordering::SeqCst);
    }

    /// Requests received so far, whatever was done with them.
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A Secrets Manager client whose calls go through this proxy.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        secrets_manager_client(&self.endpoint)
    }
}

/// A Secrets Manager client for a local endpoint, with test credentials.
pub fn secrets_manager_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .http_client(shared::net::aws_http_client(Duration::from_secs(2)).expect("HTTP client"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// One HTTP/1.1 request from `reader`: its head lines (without `Connection`) and body.
fn read_request(reader: &mut impl std::io::BufRead) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
            if name.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        head.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn relay(
    client: TcpStream,
    upstream: &str,
    fault: &std::sync::atomic::AtomicU8,
    requests: &std::sync::atomic::AtomicUsize,
) {
    use std::io::{BufReader, Read};
    use std::sync::atomic::Ordering;
    let mut writer = client.try_clone().expect("a second handle");
    let mut reader = BufReader::new(client);
    while let Some((head, body)) = read_request(&mut reader) {
        requests.fetch_add(1, Ordering::SeqCst);
        match fault.load(Ordering::SeqCst) {
            mode @ (0 | 4) => {
                if mode == Fault::Slow as u8 {
                    std::thread::sleep(SLOW);
                }
                let Ok(mut up) = TcpStream::connect(upstream) else { return };
                let mut request = head.join("\r\n").into_bytes();
                request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
                request.extend_from_slice(&body);
                let mut answer = Vec::new();
                if up.write_all(&request).is_err() || up.read_to_end(&mut answer).is_err() {
                    return;
                }
                // moto closes after answering, so this connection closes too.
                let _ = writer.write_all(&answer);
                return;
            }
            1 => {
                let started = Instant::now();
                while fault.load(Ordering::SeqCst) == Fault::Hang as u8 && started.elapsed() < Duration::from_secs(30) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            2 => return,
            _ => {
                let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                let answer = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                     x-amzn-ErrorType: ThrottlingException\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// `event` as the runtime hands it over: with a Lambda context whose deadline is `left` away.
pub fn with_deadline(event: &Event, left: Duration) -> Request {
    use lambda_http::RequestExt;
    let mut context = lambda_http::Context::default();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    context.deadline = (now + left).as_millis() as u64;
    event.request().with_lambda_context(context)
}

/// Serves `event` as the runtime loop does, with `left` until the invocation's deadline:
/// the status, the body, and how long the answer took.
pub async fn serve_within<H, F>(
    state: &'static State,
    handler: H,
    event: &Event,
    left: Duration,
) -> (u16, Value, Duration)
where
    H: Fn(&'static State, Request) -> F,
    F: std::future::Future<Output = Response<Body>>,
{
    let started = Instant::now();
    let response = shared::app::serve(state, with_deadline(event, left), &handler).await;
    (response.status().as_u16(), body_json(&response), started.elapsed())
}

/// An EventBridge client for a local endpoint (moto, or a [`FaultProxy`] in front of it).
pub fn eventbridge_client(endpoint: &str) -> aws_sdk_eventbridge::Client {
    use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .http_client(shared::net::aws_http_client(Duration::from_secs(2)).expect("HTTP client"))
        .timeout_config(
            aws_sdk_eventbridge::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(2))
                .build(),
        )
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

/// A DynamoDB client for a local endpoint (moto, or a [`FaultProxy`] in front of it).
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .http_client(shared::net::aws_http_client(Duration::from_secs(2)).expect("HTTP client"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A table with the rate-limit table's schema (`pk` String, TTL `expiresAt`) in moto.
pub async fn create_limits_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await
        .expect("a table in moto");
}

/// The state `videosdk-webhook` builds at INIT, for `vars`, with `bus` as its event bus (an
/// EventBridge client for a local endpoint) instead of the one `EVENT_BUS_NAME` would build.
pub async fn webhook_state(vars: &[(&str, &str)], bus: Option<shared::events::EventBus>) -> &'static State {
    let mut state = state(Uses::Webhooks, vars).await;
    if let (Some(hooks), Some(bus)) = (state.webhooks.as_mut(), bus) {
        hooks.bus = Some(bus);
        hooks.bus_broken = false;
    }
    leak(state)
}

/// A webhook delivery event: `body` as sent, with `signature` as its `videosdk-signature`.
pub fn webhook_event(body: &str, signature: Option<&str>) -> Event {
    let event = Event::post("/videosdk-webhook").body(body);
    match signature {
        Some(s) => event.header("videosdk-signature", s),
        None => event,
    }
}

/// One refusal case: name, configuration, the event, and the expected status and `error.code`.
pub type Refusal<'a> = (&'a str, &'a [(&'a str, &'a str)], Event, u16, &'a str);

/// [`assert_refused_before_upstream`] for each case.
pub async fn assert_all_refused<H, F>(handler: H, cases: Vec<Refusal<'_>>)
where
    H: Fn(&'static State, Request) -> F + Copy,
    F: std::future::Future<Output = Response<Body>>,
{
    for (name, vars, event, status, code) in cases {
        assert_refused_before_upstream(handler, vars, name, &event, status, code).await;
    }
}
