//! The VideoSDK API key and secret: where they come from (Secrets Manager or the environment),
//! when they are re-read (rotation, upstream 401), and a type that never prints the secret.
//!
//! A missing or unreadable secret never stops the function: callers get
//! [`SecretUnavailable`] (503) and the read is retried at most once per `retry_after`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::{Config, SecretSource};
pub use crate::credentials::{Credentials, SecretUnavailable};

enum Source {
    SecretsManager { client: aws_sdk_secretsmanager::Client, id: String },
    Direct(Arc<Credentials>),
    Missing(String),
}

#[derive(Default)]
struct Cached {
    credentials: Option<Arc<Credentials>>,
    read_at: Option<Instant>,
    /// When the value in hand was read, as Unix seconds (compared with tokens' `iat`).
    read_at_unix: Option<u64>,
    /// The last read of any kind but one for a client token.
    last_attempt: Option<Instant>,
    /// The last read for a client token that did not verify: its own window, so forged tokens
    /// never use up the one an upstream 401 needs.
    last_token_attempt: Option<Instant>,
}

/// Why a read is made: each has its own window of at most one read per `retry_after`
/// ([`TOKEN_REFRESH_INTERVAL`] for client tokens).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// No value yet, or VideoSDK refused the one in hand.
    Needed,
    /// A client token did not verify with the value in hand but was issued after it was read.
    ClientToken,
}

/// At most one read per this long for client tokens that do not verify: a rotation reaches a
/// container's `/v2` routes within it, and forged tokens cost at most one read per interval.
pub const TOKEN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// A token issued this far in the future is not believed to be newer than anything.
const MAX_CLOCK_SKEW_SECONDS: u64 = 60;

/// Holds the current credentials and re-reads them when stale, forced, or missing.
///
/// No request waits on a refresh it does not need: a stale value is served while one
/// background read runs. A request that has no value yet, or whose value VideoSDK refused,
/// waits for one read, bounded by [`READ_TIMEOUT`] and by the request's deadline.
pub struct SecretStore {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    cached: std::sync::Mutex<Cached>,
    /// Held by the one read in flight.
    reader: Arc<tokio::sync::Mutex<()>>,
    refresh_after: Duration,
    retry_after: Duration,
}

/// Loads the AWS SDK configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL` for a local Secrets Manager), on the process's HTTPS stack
/// ([`crate::net`]), with timeouts that keep INIT short.
pub async fn aws_sdk_config() -> Result<aws_config::SdkConfig, crate::net::NetError> {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(6))
        .build();
    let http = crate::net::aws_http_client(CONNECT_TIMEOUT)?;
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http).timeout_config(timeouts);
    // On Lambda the region and the role's credentials are environment variables, which the
    // default chains would pick first anyway. Handed over directly, INIT does not build the
    // chains' other providers (an STS client and an instance-metadata client among them).
    let (region, credentials) = from_environment().await;
    if let Some(region) = region {
        loader = loader.region(region);
    }
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    Ok(loader.load().await)
}

/// The region and credentials the default chains would take from the environment, when it
/// holds them (the chains look there first).
async fn from_environment() -> (Option<aws_config::Region>, Option<EnvironmentVariableCredentialsProvider>) {
    use aws_config::meta::region::ProvideRegion;
    use aws_sdk_secretsmanager::config::ProvideCredentials;
    let region = EnvironmentVariableRegionProvider::new().region().await;
    let credentials = EnvironmentVariableCredentialsProvider::new();
    let usable = credentials.provide_credentials().await.is_ok();
    (region, usable.then_some(credentials))
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a failed read blocks the next attempt: at most about one read a second.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Longest one read of the secret may take, whatever the SDK's own retries.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

impl SecretStore {
    /// Builds the store from configuration and performs the first read (call during INIT).
    pub async fn load(config: &Config) -> SecretStore {
        let store = match &config.secret_source {
            SecretSource::SecretsManager(id) => match aws_sdk_config().await {
                Ok(sdk) => SecretStore::secrets_manager(
                    aws_sdk_secretsmanager::Client::new(&sdk),
                    id.clone(),
                    config.secret_refresh,
                    DEFAULT_RETRY_AFTER,
                ),
                Err(e) => SecretStore::missing(format!("could not build the Secrets Manager client: {e}")),
            },
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
        let inner = Inner {
            source,
            cached: std::sync::Mutex::new(cached),
            reader: Arc::new(tokio::sync::Mutex::new(())),
            refresh_after,
            retry_after,
        };
        SecretStore { inner: Arc::new(inner) }
    }

    /// The credentials to sign with. A value older than `refresh_after` is still served while
    /// one background read replaces it; with no value yet, one read is awaited (bounded).
    pub async fn current(&self) -> Result<Arc<Credentials>, SecretUnavailable> {
        let inner = &self.inner;
        let (credentials, stale) = {
            let cached = inner.lock();
            let stale = !matches!(inner.source, Source::Direct(_))
                && cached.read_at.is_none_or(|t| t.elapsed() >= inner.refresh_after);
            (cached.credentials.clone(), stale)
        };
        match credentials {
            Some(c) if stale => {
                self.refresh_in_background();
                Ok(c)
            }
            Some(c) => Ok(c),
            None => self.read_now(None, Reason::Needed).await,
        }
    }

    /// Re-reads the secret because `rejected` was refused (VideoSDK's 401, or a client token
    /// signed with a newer secret): the secret may have been rotated. Answers at once with a
    /// value another request has read meanwhile; otherwise waits for one read, bounded by
    /// [`READ_TIMEOUT`], half the time the request has left, and `retry_after`.
    pub async fn refresh(&self, rejected: &Credentials) -> Result<Arc<Credentials>, SecretUnavailable> {
        self.read_now(Some(rejected), Reason::Needed).await
    }

    /// Re-reads the secret for a client token that did not verify with `rejected`, only when
    /// the token may come from a rotation this container has not seen: it was issued
    /// (`issued_at`, its `iat`, not yet verified) no earlier than the value in hand was read,
    /// and not in the future. At most one such read per [`TOKEN_REFRESH_INTERVAL`], in a window
    /// of its own. Otherwise answers the value in hand at once (the caller then refuses the token).
    pub async fn refresh_for_token(
        &self,
        rejected: &Credentials,
        issued_at: Option<u64>,
    ) -> Result<Arc<Credentials>, SecretUnavailable> {
        let now = unix_now();
        let newer = {
            let cached = self.inner.lock();
            match (issued_at, cached.read_at_unix) {
                (Some(iat), Some(read)) => iat >= read && iat <= now + MAX_CLOCK_SKEW_SECONDS,
                _ => false,
            }
        };
        if !newer {
            return self.inner.cached_or_unavailable();
        }
        self.read_now(Some(rejected), Reason::ClientToken).await
    }

    fn refresh_in_background(&self) {
        let Ok(guard) = self.inner.reader.clone().try_lock_owned() else { return };
        if !self.inner.due(Reason::Needed) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let _reading = guard;
            let _ = inner.read_and_store(Instant::now() + READ_TIMEOUT).await;
        });
    }

    async fn read_now(
        &self,
        rejected: Option<&Credentials>,
        reason: Reason,
    ) -> Result<Arc<Credentials>, SecretUnavailable> {
        let inner = &self.inner;
        let mut until = crate::deadline::within(READ_TIMEOUT);
        if rejected.is_some() {
            // A re-read leaves the request half its time to use what it reads.
            let now = Instant::now();
            until = now + until.saturating_duration_since(now) / 2;
        }
        let Ok(_reading) = tokio::time::timeout_at(until.into(), inner.reader.lock()).await else {
            return inner.cached_or_unavailable();
        };
        // Another request may have read while this one waited.
        if let Some(current) = inner.lock().credentials.clone()
            && rejected.is_none_or(|r| *r != *current)
        {
            return Ok(current);
        }
        if !inner.due(reason) {
            return inner.cached_or_unavailable();
        }
        inner.read_and_store(until).await
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the window of `reason` has passed since its last attempt (which this then records).
    fn due(&self, reason: Reason) -> bool {
        let mut cached = self.lock();
        let (last, window) = match reason {
            Reason::Needed => (&mut cached.last_attempt, self.retry_after),
            Reason::ClientToken => (&mut cached.last_token_attempt, TOKEN_REFRESH_INTERVAL.max(self.retry_after)),
        };
        if last.is_some_and(|t| t.elapsed() < window) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    fn cached_or_unavailable(&self) -> Result<Arc<Credentials>, SecretUnavailable> {
        self.lock().credentials.clone().ok_or(SecretUnavailable)
    }

    /// One read, given up at `until`; the caller holds `reader`.
    async fn read_and_store(&self, until: Instant) -> Result<Arc<Credentials>, SecretUnavailable> {
        let outcome = match tokio::time::timeout_at(until.into(), self.read()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(self.timed_out()),
        };
        let mut cached = self.lock();
        match outcome {
            Ok(credentials) => {
                let credentials = Arc::new(credentials);
                cached.credentials = Some(credentials.clone());
                cached.read_at = Some(Instant::now());
                cached.read_at_unix = Some(unix_now());
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

    fn timed_out(&self) -> String {
        match &self.source {
            Source::SecretsManager { id, .. } => {
                format!("reading secret {id:?} from Secrets Manager did not finish in time (gave up to answer in time)")
            }
            _ => "reading the secret did not finish in time".into(),
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

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.inner.source {
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
