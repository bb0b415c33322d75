//! Test support (feature `testing`, dev-dependencies only): API Gateway HTTP API 2.0 events
//! built as JSON and parsed by `lambda_http` exactly as in production, response helpers, a real
//! `moto_server` for Secrets Manager, and log capture.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::{State, Uses};

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
    path_parameters: Map<String, Value>,
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
            path_parameters: Map::new(),
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

    /// A signed-in caller with `sub` and, optionally, a `cognito:groups` claim.
    pub fn user(self, sub: &str, groups: Option<&str>) -> Event {
        let mut claims = json!({"sub": sub, "iss": "https://issuer.example.com", "aud": "client-app"});
        if let Some(groups) = groups {
            claims["cognito:groups"] = json!(groups);
        }
        self.claims(claims)
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
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": {"host": "api-id.execute-api.us-east-1.amazonaws.com", "content-type": "application/json"},
            "requestContext": context,
            "isBase64Encoded": self.base64
        });
        if let Some(body) = &self.body {
            event["body"] = json!(body);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = Value::Object(self.path_parameters.clone());
        }
        event
    }

    pub fn request(&self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string()).expect("a valid API Gateway event")
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
        use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
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

/// Captures log lines (all levels) on the current thread; use with a current-thread runtime.
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}
