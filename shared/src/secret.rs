//! The VideoSDK API key and secret: where they come from (Secrets Manager or the environment),
//! when they are re-read (rotation, upstream 401), and a type that never prints the secret.
//!
//! A missing or unreadable secret never stops the function: callers get
//! [`SecretUnavailable`] (503) and the read is retried at most once per `retry_after`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use tokio::sync::Mutex;

use crate::config::{Config, SecretSource};

/// The project's API key and secret. `Debug` shows the API key (it travels inside every token)
/// but never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    api_key: String,
    secret: String,
}

impl Credentials {
    pub fn new(api_key: String, secret: String) -> Self {
        Credentials { api_key, secret }
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The signing key. Only for HMAC.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    /// Parses a Secrets Manager SecretString: `{"apiKey": "…", "secret": "…"}`.
    /// Error messages describe the shape only, never the content.
    pub fn from_secret_string(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("SecretString is not valid JSON (line {}, column {})", e.line(), e.column()))?;
        let obj = value.as_object().ok_or("SecretString is not a JSON object")?;
        let field = |name: &str| match obj.get(name) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(serde_json::Value::String(_)) => Err(format!("SecretString field \"{name}\" is empty")),
            Some(_) => Err(format!("SecretString field \"{name}\" is not a string")),
            None => {
                Err(format!("SecretString has no \"{name}\" field (expected {{\"apiKey\": \"…\", \"secret\": \"…\"}})"))
            }
        };
        let (api_key, secret) = (field("apiKey")?, field("secret")?);
        if api_key == PLACEHOLDER || secret == PLACEHOLDER {
            return Err(
                "SecretString still holds the REPLACE_ME placeholder; store your VideoSDK API key and secret in it"
                    .into(),
            );
        }
        Ok(Credentials::new(api_key, secret))
    }
}

/// What the SAM template's new secret holds until the operator stores real values.
const PLACEHOLDER: &str = "REPLACE_ME";

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("api_key", &self.api_key).field("secret", &"<redacted>").finish()
    }
}

/// The secret could not be had; the log says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the VideoSDK credentials are not available")]
pub struct SecretUnavailable;

enum Source {
    SecretsManager { client: aws_sdk_secretsmanager::Client, id: String },
    Direct(Arc<Credentials>),
    Missing(String),
}

#[derive(Default)]
struct Cached {
    credentials: Option<Arc<Credentials>>,
    read_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// Holds the current credentials and re-reads them when stale, forced, or missing.
pub struct SecretStore {
    source: Source,
    cached: Mutex<Cached>,
    refresh_after: Duration,
    retry_after: Duration,
}

/// How long a failed read blocks the next attempt: at most about one read a second.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

impl SecretStore {
    /// Builds the store from configuration and performs the first read (call during INIT).
    pub async fn load(config: &Config) -> SecretStore {
        let store = match &config.secret_source {
            SecretSource::SecretsManager(id) => {
                let client = aws_sdk_secretsmanager::Client::new(&crate::app::aws_sdk_config().await);
                SecretStore::secrets_manager(client, id.clone(), config.secret_refresh, DEFAULT_RETRY_AFTER)
            }
            SecretSource::Direct(credentials) => SecretStore::direct(credentials.clone()),
            SecretSource::Missing(why) => SecretStore::missing(why.clone()),
        };
        let _ = store.current().await;
        store
    }

    pub fn direct(credentials: Credentials) -> SecretStore {
        SecretStore::new(Source::Direct(Arc::new(credentials)), Duration::MAX, DEFAULT_RETRY_AFTER)
    }

    pub fn missing(why: String) -> SecretStore {
        SecretStore::new(Source::Missing(why), Duration::MAX, DEFAULT_RETRY_AFTER)
    }

    /// A store backed by Secrets Manager; nothing is read until the first [`Self::current`].
    pub fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        id: String,
        refresh_after: Duration,
        retry_after: Duration,
    ) -> SecretStore {
        SecretStore::new(Source::SecretsManager { client, id }, refresh_after, retry_after)
    }

    fn new(source: Source, refresh_after: Duration, retry_after: Duration) -> SecretStore {
        let cached = match &source {
            Source::Direct(c) => Cached { credentials: Some(c.clone()), ..Cached::default() },
            _ => Cached::default(),
        };
        SecretStore { source, cached: Mutex::new(cached), refresh_after, retry_after }
    }

    /// The credentials to sign with: cached, or read again when older than `refresh_after`.
    /// A stale value is kept when a re-read fails, so a Secrets Manager hiccup does not
    /// take the service down.
    pub async fn current(&self) -> Result<Arc<Credentials>, SecretUnavailable> {
        let mut cached = self.cached.lock().await;
        let fresh = cached.read_at.is_some_and(|t| t.elapsed() < self.refresh_after);
        if let (Some(c), true) = (&cached.credentials, fresh || matches!(self.source, Source::Direct(_))) {
            return Ok(c.clone());
        }
        self.read_if_due(&mut cached).await
    }

    /// Re-reads the secret now (upstream said the token was invalid: the secret may have been
    /// rotated). Still bounded by `retry_after`.
    pub async fn refresh(&self) -> Result<Arc<Credentials>, SecretUnavailable> {
        let mut cached = self.cached.lock().await;
        self.read_if_due(&mut cached).await
    }

    async fn read_if_due(&self, cached: &mut Cached) -> Result<Arc<Credentials>, SecretUnavailable> {
        if cached.last_attempt.is_some_and(|t| t.elapsed() < self.retry_after) {
            return cached.credentials.clone().ok_or(SecretUnavailable);
        }
        cached.last_attempt = Some(Instant::now());
        match self.read().await {
            Ok(credentials) => {
                let credentials = Arc::new(credentials);
                cached.credentials = Some(credentials.clone());
                cached.read_at = Some(Instant::now());
                Ok(credentials)
            }
            Err(cause) => {
                match &cached.credentials {
                    Some(_) => {
                        tracing::warn!(cause = %cause, "could not re-read the VideoSDK secret; keeping the previous value")
                    }
                    None => {
                        tracing::error!(cause = %cause, "VideoSDK credentials unavailable; answering 503 secret_unavailable")
                    }
                }
                cached.credentials.clone().ok_or(SecretUnavailable)
            }
        }
    }

    async fn read(&self) -> Result<Credentials, String> {
        match &self.source {
            Source::Direct(c) => Ok((**c).clone()),
            Source::Missing(why) => Err(why.clone()),
            Source::SecretsManager { client, id } => {
                let out = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
                    format!("reading secret {id:?} from Secrets Manager failed: {}", DisplayErrorContext(&e))
                })?;
                let text = out
                    .secret_string()
                    .ok_or_else(|| format!("secret {id:?} has no SecretString (binary secrets are not supported)"))?;
                Credentials::from_secret_string(text).map_err(|why| format!("secret {id:?}: {why}"))
            }
        }
    }
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::SecretsManager { id, .. } => format!("SecretsManager({id:?})"),
            Source::Direct(_) => "Direct".to_owned(),
            Source::Missing(_) => "Missing".to_owned(),
        };
        f.debug_struct("SecretStore").field("source", &source).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_parse_errors_never_quote_the_content() {
        let cases = [
            ("not json at all: hunter2", "not valid JSON"),
            ("[\"hunter2\"]", "not a JSON object"),
            ("{\"apiKey\": \"k\"}", "no \"secret\""),
            ("{\"apiKey\": \"k\", \"secret\": 1234567}", "\"secret\" is not a string"),
            ("{\"apiKey\": \"hunter2\", \"secret\": \"  \"}", "\"secret\" is empty"),
            ("{\"apiKey\": \"REPLACE_ME\", \"secret\": \"REPLACE_ME\"}", "placeholder"),
        ];
        for (text, expected) in cases {
            let err = Credentials::from_secret_string(text).unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("hunter2") && !err.contains("1234567"), "{err}");
        }
        let ok = Credentials::from_secret_string("{\"apiKey\": \"k\", \"secret\": \"s\"}").unwrap();
        assert_eq!((ok.api_key(), ok.secret_bytes()), ("k", &b"s"[..]));
    }

    #[test]
    fn debug_redacts_the_secret() {
        let c = Credentials::new("public-key".into(), "hunter2".into());
        let shown = format!("{c:?}");
        assert!(shown.contains("public-key") && !shown.contains("hunter2"));
    }

    #[tokio::test]
    async fn missing_source_answers_unavailable() {
        let store = SecretStore::missing("nothing configured".into());
        assert_eq!(store.current().await, Err(SecretUnavailable));
    }
}
