//! Configuration: every environment variable of the contract, read once at cold start into
//! [`Config`]. Handlers never read the environment.

use std::fmt;
use std::time::Duration;

use crate::claims::{MAX_TTL_SECONDS, ParticipantRole, Permission};
use crate::credentials::Credentials;
use crate::ids::{WEBHOOK_EVENT_TYPES, url_host};
use crate::signature::PublicKey;

/// How callers are identified (`CALLER_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerAuth {
    /// Identity comes from an API Gateway JWT authorizer.
    Jwt,
    /// Every caller is anonymous (explicit opt-in).
    None,
}

/// Where the VideoSDK API key and secret come from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `VIDEOSDK_SECRET_ID`: a Secrets Manager secret id or ARN.
    SecretsManager(String),
    /// `VIDEOSDK_API_KEY` + `VIDEOSDK_SECRET`.
    Direct(Credentials),
    /// Nothing usable is configured; the text says what is missing.
    Missing(String),
}

/// Every setting, grouped by concern: a setting lives where its concern does.
#[derive(Debug, Clone)]
pub struct Config {
    pub secret_source: SecretSource,
    /// VideoSDK REST base URL without `/v2` and without a trailing slash.
    pub api_endpoint: String,
    pub secret_refresh: Duration,
    pub upstream_connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub caller_auth: CallerAuth,
    /// `TOKEN_CALLER_AUTH`: how the callers whose participant tokens the apps' `/v2/…` and
    /// `/ai/v1/…` routes accept were identified when `get-token` minted them (`none`: anyone could
    /// get one). Unset: `CALLER_AUTH`. The template sets it to get-token's own `CALLER_AUTH`, since
    /// in `AuthMode=apps` a function behind the authorizer serves tokens minted for anonymous callers.
    pub token_caller_auth: CallerAuth,
    pub moderator_group: String,
    /// Participant and agent token lifetimes and the participant role.
    pub tokens: Tokens,
    /// What anonymous callers (`CALLER_AUTH=none`) may ask for and do.
    pub anonymous: Anonymous,
    /// Lowercase host names live streams may push to (`LIVESTREAM_ALLOWED_HOSTS`); empty means any host.
    pub livestream_allowed_hosts: Vec<String>,
    /// `RECORDING_DIR_PATH`: the storage directory of recordings (`{roomId}` replaced).
    pub recording_dir_path: Option<String>,
    pub webhooks: Webhooks,
    pub limits: RateLimiting,
    pub agents: Agents,
    /// `ALLOWED_ORIGINS`: the browser origins requests may come from (lowercase; `:*` ends an
    /// entry that allows any port). Empty: any origin, and requests without `Origin`, always.
    /// `make dev` sets it to this machine's origins when it runs on real credentials.
    pub allowed_origins: Vec<String>,
    /// `ALLOWED_HOSTS`: the host names (any port; lowercase, IPv6 in brackets) whose requests are
    /// served, checked on `Host`. Empty: any host. `make dev` sets the loopback names when it runs
    /// on real credentials (a page whose name was rebound to 127.0.0.1 sends its own name).
    pub allowed_hosts: Vec<String>,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the functions' EMF metrics; `None`
    /// (`off`): no metrics written.
    pub metrics_namespace: Option<String>,
    /// `DEV_REQUEST_SECRET`: set by `make dev` for one run; every event must then carry it in
    /// the `x-dev-request-secret` header, which only `make dev`'s front door adds (an event
    /// written straight to the emulator's own port is refused). Never set in a deployment.
    pub dev_request_secret: Option<WebhookKey>,
}

/// Token lifetimes and roles.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `TOKEN_DEFAULT_TTL_SECONDS`
    pub default_ttl: Duration,
    /// `TOKEN_MAX_TTL_SECONDS`
    pub max_ttl: Duration,
    /// `PARTICIPANT_TOKEN_ROLE`
    pub participant_role: ParticipantRole,
    /// `AGENT_TOKEN_MAX_TTL_SECONDS`: the longest (and default) agent-token lifetime.
    pub agent_max_ttl: Duration,
}

/// What anonymous callers may do beyond joining: each is off unless its variable says `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptIn {
    /// `ANONYMOUS_LIVESTREAMS`: RTMP to `LIVESTREAM_ALLOWED_HOSTS` (and only when that is set).
    Livestreams,
    /// `ANONYMOUS_HLS`: HLS start (a public playback URL).
    Hls,
    /// `ANONYMOUS_END_LIVESTREAMS`: ending any room's stream.
    EndLivestreams,
    /// `ANONYMOUS_CUSTOM_ROOM_IDS`: naming rooms (`customRoomId`).
    CustomRoomIds,
    /// `ANONYMOUS_ROOM_CONTROL`: recordings, transcription and ending meetings (local use).
    RoomControl,
    /// `ANONYMOUS_AGENT_TOKENS`: agent tokens without an IAM identity (local use).
    AgentTokens,
    /// `ANONYMOUS_AGENT_DISPATCH`: `/dispatch-agent` for anonymous callers (local use).
    AgentDispatch,
}

impl OptIn {
    pub const ALL: [OptIn; 7] = [
        OptIn::Livestreams,
        OptIn::Hls,
        OptIn::EndLivestreams,
        OptIn::CustomRoomIds,
        OptIn::RoomControl,
        OptIn::AgentTokens,
        OptIn::AgentDispatch,
    ];

    /// The variable that opts in (`allow`) or out (`deny`, the default).
    pub fn variable(self) -> &'static str {
        match self {
            OptIn::Livestreams => "ANONYMOUS_LIVESTREAMS",
            OptIn::Hls => "ANONYMOUS_HLS",
            OptIn::EndLivestreams => "ANONYMOUS_END_LIVESTREAMS",
            OptIn::CustomRoomIds => "ANONYMOUS_CUSTOM_ROOM_IDS",
            OptIn::RoomControl => "ANONYMOUS_ROOM_CONTROL",
            OptIn::AgentTokens => "ANONYMOUS_AGENT_TOKENS",
            OptIn::AgentDispatch => "ANONYMOUS_AGENT_DISPATCH",
        }
    }
}

/// Anonymous callers: the permissions they may ask for, what they get by default, their
/// longest token, and the opt-ins.
#[derive(Debug, Clone)]
pub struct Anonymous {
    /// `ANONYMOUS_PERMISSIONS`
    pub permissions: Vec<Permission>,
    /// `ANONYMOUS_DEFAULT_PERMISSIONS`: what an anonymous caller gets when it asks for none.
    pub default_permissions: Vec<Permission>,
    /// `ANONYMOUS_MAX_TTL_SECONDS`: the longest (and default cap of the) token lifetime.
    pub max_ttl: Duration,
    opt_ins: Vec<OptIn>,
}

impl Anonymous {
    /// Whether the operator opted anonymous callers in to `what`.
    pub fn allows(&self, what: OptIn) -> bool {
        self.opt_ins.contains(&what)
    }
}

/// Webhooks: where rooms report, what they subscribe to, how deliveries are verified and where
/// they are published. `Debug` shows neither the URL nor the key (the URL holds the key).
#[derive(Clone)]
pub struct Webhooks {
    /// `WEBHOOK_URL`: the operator's webhook endpoint rooms, recordings and transcriptions report
    /// to; a `{domainName}` host is the request's own API Gateway domain.
    pub url: Option<String>,
    /// `WEBHOOK_EVENTS`: what rooms subscribe the webhook to.
    pub events: Vec<String>,
    /// `VIDEOSDK_WEBHOOK_PUBLIC_KEY`: the pinned key webhooks are verified with.
    pub public_key: Option<PublicKey>,
    /// `EVENT_BUS_NAME`: where verified webhooks are published; unset = logged only.
    pub event_bus_name: Option<String>,
    /// `WEBHOOK_KEY`: the path segment deliveries must carry (`/videosdk-webhook/{key}`); unset
    /// (local use): `/videosdk-webhook`. `Debug` never shows it.
    pub key: Option<WebhookKey>,
    /// `WEBHOOK_DEDUPE_TABLE`: where published deliveries are remembered (publish at most once).
    pub dedupe_table: Option<String>,
    /// `WEBHOOK_DEDUPE_SECONDS`: how long a published delivery is remembered.
    pub dedupe_seconds: u64,
    /// `WEBHOOK_KEY_REFETCH_SECONDS`: a fetched VideoSDK key that fails a signature and is this
    /// old is fetched again (VideoSDK may have rotated it), at most once per this long.
    pub key_refetch_after: Duration,
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("url", &self.url.as_ref().map(|_| ".."))
            .field("events", &self.events)
            .field("public_key", &self.public_key.is_some())
            .field("event_bus_name", &self.event_bus_name)
            .field("key", &self.key)
            .field("dedupe_table", &self.dedupe_table)
            .field("dedupe_seconds", &self.dedupe_seconds)
            .field("key_refetch_after", &self.key_refetch_after)
            .finish()
    }
}

/// A shared secret compared in constant time and never shown: the per-deployment webhook key
/// (at least 32 characters from `A–Z a–z 0–9 - _`), and `make dev`'s per-run request secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookKey(String);

impl WebhookKey {
    /// Whether `given` is the key, in time independent of where they differ.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        let mut diff = a.len() ^ b.len();
        for (i, x) in a.iter().enumerate() {
            diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
        }
        diff == 0
    }
}

impl WebhookKey {
    /// The key itself, for what must hold it (the webhook URL) or redact it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookKey(..)")
    }
}

/// `WEBHOOK_DEDUPE_SECONDS` when unset: 7 days.
pub const DEFAULT_WEBHOOK_DEDUPE_SECONDS: u64 = 604_800;
/// `WEBHOOK_KEY_REFETCH_SECONDS` when unset: 10 minutes.
pub const DEFAULT_WEBHOOK_KEY_REFETCH_SECONDS: u64 = 600;

/// Per-caller rate limits.
#[derive(Debug, Clone)]
pub struct RateLimiting {
    /// `RATE_LIMIT_TABLE`: the DynamoDB table of per-caller counters; unset = no limits.
    pub table: Option<String>,
    /// `RATE_LIMITS`: per caller and action.
    pub per_action: Limits,
    /// `BUDGETS`: per action, across all callers (agent, transcription, recording, stream).
    pub budgets: Limits,
}

/// The AI agents an app may bring into a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agents {
    /// `AGENTS`: the only agents that may be dispatched; empty refuses every dispatch.
    pub allowed: Vec<AllowedAgent>,
    /// `AGENT_SESSION_MAX_SECONDS`: the longest agent session one dispatch may start.
    pub session_max_seconds: u64,
}

/// One entry of `AGENTS`: `agentId`, or `agentId=versionId` to pin the version dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedAgent {
    pub id: String,
    pub pinned_version: Option<String>,
}

impl Agents {
    /// The listed agent `id`, if the operator allows it.
    pub fn find(&self, id: &str) -> Option<&AllowedAgent> {
        self.allowed.iter().find(|a| a.id == id)
    }
}

/// The events rooms subscribe the operator's webhook to when `WEBHOOK_EVENTS` is unset.
pub const DEFAULT_WEBHOOK_EVENTS: &str = "session-started,session-ended,participant-joined,participant-left,recording-started,recording-stopped,recording-failed,hls-started,hls-stopped,livestream-started,livestream-stopped,agent-session-started,agent-session-stopped,agent-session-failed";
/// The longest an agent token may live: an hour.
pub const MAX_AGENT_TTL_SECONDS: u64 = 3600;
/// `AGENT_SESSION_MAX_SECONDS` when unset, and its bounds.
pub const DEFAULT_AGENT_SESSION_SECONDS: u64 = 1800;
const AGENT_SESSION_SECONDS: std::ops::RangeInclusive<u64> = 60..=86_400;

/// The placeholder host in `WEBHOOK_URL` that stands for the request's own domain.
pub const DOMAIN_PLACEHOLDER: &str = "{domainName}";

/// The smallest lifetime a caller may ask for.
pub const MIN_TTL_SECONDS: u64 = 60;
/// Longest upstream timeout: a Lambda invocation's own limit (15 minutes).
const MAX_TIMEOUT_MS: u64 = 900_000;
const MAX_SECRET_REFRESH_SECONDS: u64 = 86_400;

/// An https URL (http only to this machine) for `variable`.
fn check_https_or_loopback(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    let host = url_host(url, &["https", "http"]).map_err(|_| invalid(variable, "must be an https URL"))?;
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !url[..5].eq_ignore_ascii_case("https") && !loopback {
        return Err(invalid(variable, "must be https; http is allowed only for localhost, 127.0.0.0/8 and [::1]"));
    }
    if url.contains('#') {
        return Err(invalid(variable, "must not hold a fragment"));
    }
    Ok(())
}

/// `VIDEOSDK_API_ENDPOINT`: an https base URL (no query, no `/v2`); `http` only to this machine
/// (`localhost`, `127.0.0.0/8`, `[::1]`), since the management token would travel in clear.
fn check_endpoint(endpoint: &str) -> Result<(), ConfigError> {
    let wrong = |reason: &str| Err(invalid("VIDEOSDK_API_ENDPOINT", reason));
    let host = match url_host(endpoint, &["https", "http"]) {
        Ok(host) => host,
        Err(_) => return wrong("must be an https URL such as https://api.videosdk.live"),
    };
    if endpoint.contains(['?', '#']) {
        return wrong("must be a base URL, without a query or fragment");
    }
    if endpoint.ends_with("/v2") {
        return wrong("must not end with /v2; give the base URL only");
    }
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !endpoint[..5].eq_ignore_ascii_case("https") && !loopback {
        return wrong("must be https; http is allowed only for localhost, 127.0.0.0/8 and [::1]");
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
    /// A second setting the first is invalid together with.
    pub with: Option<&'static str>,
}

impl ConfigError {
    /// The settings to name in the 500 `configuration_error` answer (names only, never values).
    pub fn settings(&self) -> Vec<&'static str> {
        [Some(self.variable), self.with].into_iter().flatten().collect()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let secret_source = match (get("VIDEOSDK_SECRET_ID"), get("VIDEOSDK_API_KEY"), get("VIDEOSDK_SECRET")) {
            (Some(id), _, _) => SecretSource::SecretsManager(id),
            (None, Some(key), Some(secret)) => SecretSource::Direct(Credentials::new(key, secret)),
            (None, Some(_), None) => SecretSource::Missing("VIDEOSDK_API_KEY is set but VIDEOSDK_SECRET is not".into()),
            (None, None, Some(_)) => SecretSource::Missing("VIDEOSDK_SECRET is set but VIDEOSDK_API_KEY is not".into()),
            (None, None, None) => SecretSource::Missing(
                "neither VIDEOSDK_SECRET_ID nor VIDEOSDK_API_KEY and VIDEOSDK_SECRET is set".into(),
            ),
        };

        let api_endpoint = get("VIDEOSDK_API_ENDPOINT").unwrap_or_else(|| "https://api.videosdk.live".into());
        let api_endpoint = api_endpoint.trim_end_matches('/').to_owned();
        check_endpoint(&api_endpoint)?;

        let token_max = seconds(&get, "TOKEN_MAX_TTL_SECONDS", 86_400)?;
        if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&token_max) {
            return Err(invalid("TOKEN_MAX_TTL_SECONDS", "must be between 60 and 604800 (7 days)"));
        }
        let token_default = seconds(&get, "TOKEN_DEFAULT_TTL_SECONDS", 900)?;
        if !(MIN_TTL_SECONDS..=token_max).contains(&token_default) {
            return Err(invalid(
                "TOKEN_DEFAULT_TTL_SECONDS",
                &format!("must be between 60 and TOKEN_MAX_TTL_SECONDS ({token_max})"),
            ));
        }

        let participant_role = match get("PARTICIPANT_TOKEN_ROLE").as_deref() {
            None | Some("rtc") => ParticipantRole::Rtc,
            Some("none") => ParticipantRole::None,
            Some(_) => return Err(invalid("PARTICIPANT_TOKEN_ROLE", "must be rtc or none")),
        };
        let caller_auth = caller_auth_setting(&get, "CALLER_AUTH")?.unwrap_or(CallerAuth::Jwt);
        let token_caller_auth = caller_auth_setting(&get, "TOKEN_CALLER_AUTH")?.unwrap_or(caller_auth);

        // An explicitly empty ANONYMOUS_PERMISSIONS means "nothing", so read it untrimmed-of-unset.
        let anonymous_permissions = match lookup("ANONYMOUS_PERMISSIONS") {
            None => vec![Permission::AllowJoin, Permission::AskJoin],
            Some(list) => permission_list("ANONYMOUS_PERMISSIONS", &list)?,
        };
        let anonymous_default_permissions = match get("ANONYMOUS_DEFAULT_PERMISSIONS") {
            None => vec![Permission::AllowJoin],
            Some(list) => {
                let list = permission_list("ANONYMOUS_DEFAULT_PERMISSIONS", &list)?;
                if list.contains(&Permission::AskJoin) && list.len() > 1 {
                    return Err(invalid(
                        "ANONYMOUS_DEFAULT_PERMISSIONS",
                        "ask_join cannot be combined with allow_join or allow_mod",
                    ));
                }
                if let Some(p) = list.iter().find(|p| !anonymous_permissions.contains(p)) {
                    return Err(invalid(
                        "ANONYMOUS_DEFAULT_PERMISSIONS",
                        &format!("{p} is not in ANONYMOUS_PERMISSIONS; add it there too"),
                    ));
                }
                list
            }
        };
        let mut opt_ins = Vec::new();
        for opt_in in OptIn::ALL {
            if allow_or_deny(&get, opt_in.variable())? {
                opt_ins.push(opt_in);
            }
        }

        let moderator_group = get("MODERATOR_GROUP").unwrap_or_else(|| "videosdk-moderators".into());
        // API Gateway's `[a b]` form cannot tell the group `Trainee videosdk-moderators` from two.
        if moderator_group.chars().any(char::is_whitespace) || moderator_group.contains(['"', '[', ']']) {
            return Err(invalid(
                "MODERATOR_GROUP",
                "must hold no whitespace, quotes or brackets: API Gateway delivers groups as [a b], so such a name \
                 could be forged from two groups",
            ));
        }
        let livestream_allowed_hosts = get("LIVESTREAM_ALLOWED_HOSTS")
            .map(|v| split_list(&v).map(str::to_ascii_lowercase).collect())
            .unwrap_or_default();

        let secret_refresh = seconds(&get, "SECRET_REFRESH_SECONDS", 300)?;
        if secret_refresh > MAX_SECRET_REFRESH_SECONDS {
            return Err(invalid("SECRET_REFRESH_SECONDS", "must be at most 86400 (a day)"));
        }
        let upstream_connect_timeout = millis(&get, "VIDEOSDK_CONNECT_TIMEOUT_MS", 3_000)?;
        let upstream_timeout = millis(&get, "VIDEOSDK_TIMEOUT_MS", 10_000)?;
        // A connect timeout longer than the whole budget would never fire.
        let upstream_connect_timeout = upstream_connect_timeout.min(upstream_timeout);

        let webhook_url = get("WEBHOOK_URL");
        if let Some(url) = &webhook_url {
            let rest = url.strip_prefix("https://").unwrap_or(url);
            let concrete = match rest.strip_prefix(DOMAIN_PLACEHOLDER) {
                Some(path) if url.starts_with("https://") && (path.is_empty() || path.starts_with(['/', ':'])) => {
                    format!("https://api.example.com{path}")
                }
                _ if url.contains(DOMAIN_PLACEHOLDER) => {
                    return Err(invalid("WEBHOOK_URL", "{domainName} may only be the whole host of an https URL"));
                }
                _ => url.clone(),
            };
            check_https_or_loopback("WEBHOOK_URL", &concrete)?;
        }
        let webhook_events: Vec<String> =
            split_list(&get("WEBHOOK_EVENTS").unwrap_or_else(|| DEFAULT_WEBHOOK_EVENTS.into()))
                .map(str::to_owned)
                .collect();
        if let Some(e) = webhook_events.iter().find(|e| !WEBHOOK_EVENT_TYPES.contains(&e.as_str())) {
            return Err(invalid("WEBHOOK_EVENTS", &format!("{e:?} is not a VideoSDK webhook event")));
        }
        if webhook_events.is_empty() {
            return Err(invalid("WEBHOOK_EVENTS", "must name at least one event"));
        }
        // PEM in an environment variable often arrives with literal \n for line breaks.
        let webhook_public_key = get("VIDEOSDK_WEBHOOK_PUBLIC_KEY")
            .map(|pem| PublicKey::from_pem(&pem.replace("\\n", "\n")))
            .transpose()
            .map_err(|e| invalid("VIDEOSDK_WEBHOOK_PUBLIC_KEY", &e.to_string()))?;
        let event_bus_name = get("EVENT_BUS_NAME");
        if let Some(name) = &event_bus_name {
            let ok = name.len() <= 1600 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-:".contains(&b));
            if !ok {
                return Err(invalid("EVENT_BUS_NAME", "must be an EventBridge bus name or ARN"));
            }
        }
        let webhook_key = get("WEBHOOK_KEY")
            .map(|key| {
                let ok = key.len() >= 32
                    && key.len() <= 256
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                ok.then_some(WebhookKey(key))
                    .ok_or_else(|| invalid("WEBHOOK_KEY", "must be 32 to 256 characters from A-Z a-z 0-9 - _"))
            })
            .transpose()?;
        let dedupe_table = table_name(&get, "WEBHOOK_DEDUPE_TABLE")?;
        let dedupe_seconds = seconds(&get, "WEBHOOK_DEDUPE_SECONDS", DEFAULT_WEBHOOK_DEDUPE_SECONDS)?;
        if !(60..=31_536_000).contains(&dedupe_seconds) {
            return Err(invalid("WEBHOOK_DEDUPE_SECONDS", "must be between 60 and 31536000 (a year)"));
        }
        let key_refetch = seconds(&get, "WEBHOOK_KEY_REFETCH_SECONDS", DEFAULT_WEBHOOK_KEY_REFETCH_SECONDS)?;
        if !(1..=86_400).contains(&key_refetch) {
            return Err(invalid("WEBHOOK_KEY_REFETCH_SECONDS", "must be between 1 and 86400 (a day)"));
        }
        let recording_dir_path = get("RECORDING_DIR_PATH");
        if let Some(path) = &recording_dir_path {
            let ok = path.len() <= 512
                && path.replace("{roomId}", "r").bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
                && !path.split('/').any(|s| s == "..");
            if !ok {
                return Err(invalid("RECORDING_DIR_PATH", "must be a path of A-Z a-z 0-9 / . _ - and {roomId}"));
            }
        }
        let agent_max = seconds(&get, "AGENT_TOKEN_MAX_TTL_SECONDS", MAX_AGENT_TTL_SECONDS)?;
        if !(MIN_TTL_SECONDS..=MAX_AGENT_TTL_SECONDS).contains(&agent_max) {
            return Err(invalid("AGENT_TOKEN_MAX_TTL_SECONDS", "must be between 60 and 3600 (an hour)"));
        }

        let anonymous_max = seconds(&get, "ANONYMOUS_MAX_TTL_SECONDS", 3600)?;
        if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&anonymous_max) {
            return Err(invalid("ANONYMOUS_MAX_TTL_SECONDS", "must be between 60 and 604800 (7 days)"));
        }
        let rate_limit_table = table_name(&get, "RATE_LIMIT_TABLE")?;
        let rate_limits = match get("RATE_LIMITS") {
            None => Limits::defaults(),
            Some(v) => Limits::parse(&v).map_err(|why| invalid("RATE_LIMITS", &why))?,
        };
        let budgets = match get("BUDGETS") {
            None => Limits::default_budgets(),
            Some(v) => Limits::parse_budgets(&v).map_err(|why| invalid("BUDGETS", &why))?,
        };
        let metrics_namespace = match get("METRICS_NAMESPACE").as_deref() {
            None => Some(crate::metrics::DEFAULT_NAMESPACE.to_owned()),
            Some("off") => None,
            Some(ns) => {
                let ok = (1..=255).contains(&ns.len())
                    && ns.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/#: ".contains(&b))
                    && !ns.starts_with("AWS/")
                    && !ns.starts_with(':');
                if !ok {
                    return Err(invalid(
                        "METRICS_NAMESPACE",
                        "must be a CloudWatch namespace (A-Z a-z 0-9 . - _ / # : and space, not AWS/...), or off",
                    ));
                }
                Some(ns.to_owned())
            }
        };
        let allowed_origins = match get("ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(v) => origin_list(&v)?,
        };
        let allowed_hosts = match get("ALLOWED_HOSTS") {
            None => Vec::new(),
            Some(v) => host_list(&v)?,
        };
        let dev_request_secret = get("DEV_REQUEST_SECRET")
            .map(|secret| match secret.len() >= 32 && !secret.bytes().any(|b| b.is_ascii_control() || b == b' ') {
                true => Ok(WebhookKey(secret)),
                false => {
                    Err(invalid("DEV_REQUEST_SECRET", "must be 32 or more printable characters (make dev sets it)"))
                }
            })
            .transpose()?;
        if participant_role == ParticipantRole::None && caller_auth == CallerAuth::None {
            return Err(ConfigError {
                with: Some("CALLER_AUTH"),
                ..invalid(
                    "PARTICIPANT_TOKEN_ROLE",
                    "none (role-less tokens, which work on VideoSDK's REST API) is refused with CALLER_AUTH=none: \
                     any anonymous caller could call VideoSDK as this account; use rtc, or CALLER_AUTH=jwt",
                )
            });
        }

        let agents = Agents {
            allowed: agent_list(get("AGENTS").as_deref().unwrap_or(""))?,
            session_max_seconds: seconds(&get, "AGENT_SESSION_MAX_SECONDS", DEFAULT_AGENT_SESSION_SECONDS)?,
        };
        if !AGENT_SESSION_SECONDS.contains(&agents.session_max_seconds) {
            return Err(invalid("AGENT_SESSION_MAX_SECONDS", "must be between 60 and 86400 (a day)"));
        }

        Ok(Config {
            secret_source,
            api_endpoint,
            secret_refresh: Duration::from_secs(secret_refresh),
            upstream_connect_timeout,
            upstream_timeout,
            caller_auth,
            token_caller_auth,
            moderator_group,
            tokens: Tokens {
                default_ttl: Duration::from_secs(token_default),
                max_ttl: Duration::from_secs(token_max),
                participant_role,
                agent_max_ttl: Duration::from_secs(agent_max),
            },
            anonymous: Anonymous {
                permissions: anonymous_permissions,
                default_permissions: anonymous_default_permissions,
                max_ttl: Duration::from_secs(anonymous_max),
                opt_ins,
            },
            livestream_allowed_hosts,
            recording_dir_path,
            webhooks: Webhooks {
                url: webhook_url,
                events: webhook_events,
                public_key: webhook_public_key,
                event_bus_name,
                key: webhook_key,
                dedupe_table,
                dedupe_seconds,
                key_refetch_after: Duration::from_secs(key_refetch),
            },
            limits: RateLimiting { table: rate_limit_table, per_action: rate_limits, budgets },
            agents,
            allowed_origins,
            allowed_hosts,
            metrics_namespace,
            dev_request_secret,
        })
    }
}

impl Webhooks {
    /// What must never be passed on from VideoSDK or logged: `WEBHOOK_KEY`, and the key in
    /// `WEBHOOK_URL`'s last path segment (the functions that send the URL upstream get the URL
    /// only, not `WEBHOOK_KEY`).
    pub fn secret_parts(&self) -> Vec<String> {
        let in_url = self.url.as_deref().and_then(|url| url.trim_end_matches('/').rsplit('/').next()).filter(|last| {
            last.len() >= 32 && last.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let mut parts: Vec<String> = self.key.iter().map(|k| k.expose().to_owned()).collect();
        parts.extend(in_url.map(str::to_owned).filter(|last| !parts.contains(last)));
        parts
    }

    /// The webhook URL for a request that arrived at `domain` (API Gateway's
    /// `requestContext.domainName`), or `None` when none is configured. A `{domainName}` URL
    /// without a usable domain is a configuration error.
    pub fn url_for(&self, domain: Option<&str>) -> Result<Option<String>, ConfigError> {
        let Some(url) = &self.url else { return Ok(None) };
        if !url.contains(DOMAIN_PLACEHOLDER) {
            return Ok(Some(url.clone()));
        }
        let domain = domain.filter(|d| {
            (1..=253).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        });
        match domain {
            Some(d) => Ok(Some(url.replace(DOMAIN_PLACEHOLDER, d))),
            None => Err(invalid("WEBHOOK_URL", "holds {domainName}, but the request names no API Gateway domain")),
        }
    }
}

/// What a limit counts (`RATE_LIMITS`' action names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// get-token, agent-token.
    Token,
    /// create-meeting and `POST /v2/rooms`.
    Room,
    /// Starting a live stream.
    Stream,
    /// Starting a recording.
    Recording,
    /// Dispatching an AI agent.
    Agent,
    /// Starting a realtime transcription.
    Transcription,
}

impl Action {
    pub const ALL: [Action; 6] =
        [Action::Token, Action::Room, Action::Stream, Action::Recording, Action::Agent, Action::Transcription];

    pub fn name(self) -> &'static str {
        match self {
            Action::Token => "token",
            Action::Room => "room",
            Action::Stream => "stream",
            Action::Recording => "recording",
            Action::Agent => "agent",
            Action::Transcription => "transcription",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// At most `count` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub window_seconds: u64,
}

/// One limit per action; `None` = that action is not limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits([Option<Limit>; Action::ALL.len()]);

/// `RATE_LIMITS` when unset.
pub const DEFAULT_RATE_LIMITS: &str =
    "token=30/60,room=10/60,stream=5/60,recording=5/60,agent=5/600,transcription=5/60";
/// `BUDGETS` when unset: generous, but finite.
pub const DEFAULT_BUDGETS: &str = "agent=200/86400,transcription=100/86400,recording=100/86400,stream=50/86400";
/// The actions that cost the operator money, which `BUDGETS` bounds.
pub const BUDGETED: [Action; 4] = [Action::Agent, Action::Transcription, Action::Recording, Action::Stream];
/// Longest window of a limit, and of a budget (31 days).
const MAX_LIMIT_WINDOW: u64 = 86_400;
const MAX_BUDGET_WINDOW: u64 = 2_678_400;

impl Limits {
    /// Parses `RATE_LIMITS`' `action=count/seconds` entries (comma-separated; `action=off` lifts
    /// one limit). Actions not named keep their default.
    pub fn parse(value: &str) -> Result<Limits, String> {
        Limits::parse_onto(Limits::defaults(), value, &Action::ALL, MAX_LIMIT_WINDOW)
    }

    /// Parses `BUDGETS` (the same syntax, for the [`BUDGETED`] actions, windows up to 31 days).
    pub fn parse_budgets(value: &str) -> Result<Limits, String> {
        Limits::parse_onto(Limits::default_budgets(), value, &BUDGETED, MAX_BUDGET_WINDOW)
    }

    fn parse_onto(mut limits: Limits, value: &str, actions: &[Action], max_window: u64) -> Result<Limits, String> {
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, rule) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not action=count/seconds"))?;
            let action = actions.iter().copied().find(|a| a.name() == name.trim()).ok_or_else(|| {
                let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
                format!("unknown action {:?}; use {}", name.trim(), names.join(", "))
            })?;
            limits.0[action as usize] = match rule.trim() {
                "off" => None,
                rule => Some(parse_limit(rule, max_window).ok_or_else(|| {
                    format!("{entry:?}: must be count/seconds (count 1 to 1000000, seconds 1 to {max_window}) or off")
                })?),
            };
        }
        Ok(limits)
    }

    fn from_text(text: &str, max_window: u64) -> Limits {
        let mut limits = [None; Action::ALL.len()];
        for (name, rule) in text.split(',').filter_map(|e| e.split_once('=')) {
            if let Some(action) = Action::ALL.into_iter().find(|a| a.name() == name) {
                limits[action as usize] = parse_limit(rule, max_window);
            }
        }
        Limits(limits)
    }

    pub fn defaults() -> Limits {
        Limits::from_text(DEFAULT_RATE_LIMITS, MAX_LIMIT_WINDOW)
    }

    pub fn default_budgets() -> Limits {
        Limits::from_text(DEFAULT_BUDGETS, MAX_BUDGET_WINDOW)
    }

    /// No limit on any action.
    pub fn none() -> Limits {
        Limits([None; Action::ALL.len()])
    }

    pub fn get(&self, action: Action) -> Option<Limit> {
        self.0[action as usize]
    }

    /// Whether any of `actions` is limited.
    pub fn any(&self, actions: &[Action]) -> bool {
        actions.iter().any(|&a| self.get(a).is_some())
    }
}

fn parse_limit(rule: &str, max_window: u64) -> Option<Limit> {
    let (count, seconds) = rule.split_once('/')?;
    let count: u32 = count.trim().parse().ok().filter(|c| (1..=1_000_000).contains(c))?;
    let window_seconds: u64 = seconds.trim().parse().ok().filter(|s| (1..=max_window).contains(s))?;
    Some(Limit { count, window_seconds })
}

fn invalid(variable: &'static str, reason: &str) -> ConfigError {
    ConfigError { variable, reason: reason.to_owned(), with: None }
}

/// `jwt` or `none` in `variable`, when set.
fn caller_auth_setting(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<CallerAuth>, ConfigError> {
    match get(variable).as_deref() {
        None => Ok(None),
        Some("jwt") => Ok(Some(CallerAuth::Jwt)),
        Some("none") => Ok(Some(CallerAuth::None)),
        Some(_) => Err(invalid(variable, "must be jwt or none")),
    }
}

fn allow_or_deny(get: &impl Fn(&str) -> Option<String>, variable: &'static str) -> Result<bool, ConfigError> {
    match get(variable).as_deref() {
        None | Some("deny") => Ok(false),
        Some("allow") => Ok(true),
        Some(_) => Err(invalid(variable, "must be deny or allow")),
    }
}

/// `AGENTS`: `agentId` or `agentId=versionId` entries, comma-separated, each id 1–128 characters
/// from `A–Z a–z 0–9 - _ .`, no agent twice.
fn agent_list(value: &str) -> Result<Vec<AllowedAgent>, ConfigError> {
    let mut agents: Vec<AllowedAgent> = Vec::new();
    for entry in split_list(value) {
        let (id, pinned) = match entry.split_once('=') {
            Some((id, version)) => (id.trim(), Some(version.trim())),
            None => (entry, None),
        };
        let bad = |what: &str| {
            invalid("AGENTS", &format!("{entry:?}: {what} must be 1-128 characters from A-Z a-z 0-9 - _ ."))
        };
        if crate::ids::RoomId::parse(id).is_err() {
            return Err(bad("the agent id"));
        }
        if pinned.is_some_and(|v| crate::ids::RoomId::parse(v).is_err()) {
            return Err(bad("the version id"));
        }
        if agents.iter().any(|a| a.id == id) {
            return Err(invalid("AGENTS", &format!("{id:?} is listed twice")));
        }
        agents.push(AllowedAgent { id: id.to_owned(), pinned_version: pinned.map(str::to_owned) });
    }
    Ok(agents)
}

fn permission_list(variable: &'static str, value: &str) -> Result<Vec<Permission>, ConfigError> {
    let mut list = Vec::new();
    for name in split_list(value) {
        let p = Permission::parse(name).ok_or_else(|| {
            invalid(variable, &format!("unknown permission {name:?}; use allow_join, ask_join, allow_mod"))
        })?;
        if !list.contains(&p) {
            list.push(p);
        }
    }
    Ok(list)
}

/// `ALLOWED_ORIGINS`: `http(s)://host[:port]` each, or `http(s)://host:*` for any port.
fn origin_list(value: &str) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = split_list(value).map(str::to_ascii_lowercase).collect();
    for origin in &origins {
        let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            let host = r.strip_suffix(":*").unwrap_or(r);
            !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
        if !ok {
            return Err(invalid(
                "ALLOWED_ORIGINS",
                &format!("{origin:?} is not an origin such as https://app.example.com or http://localhost:*"),
            ));
        }
    }
    if origins.is_empty() {
        return Err(invalid("ALLOWED_ORIGINS", "must name at least one origin when set"));
    }
    Ok(origins)
}

/// `ALLOWED_HOSTS`: host names or IP addresses (IPv6 in brackets), without ports or wildcards.
fn host_list(value: &str) -> Result<Vec<String>, ConfigError> {
    let hosts: Vec<String> = split_list(value).map(str::to_ascii_lowercase).collect();
    for host in &hosts {
        let name = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let ok = match name {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => host.len() <= 253 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b)),
        };
        if !ok || host.is_empty() {
            return Err(invalid(
                "ALLOWED_HOSTS",
                &format!("{host:?} is not a host name such as localhost, 127.0.0.1 or [::1] (no port, no wildcard)"),
            ));
        }
    }
    if hosts.is_empty() {
        return Err(invalid("ALLOWED_HOSTS", "must name at least one host when set"));
    }
    Ok(hosts)
}

/// A DynamoDB table name or ARN in `variable`, when set.
fn table_name(get: &impl Fn(&str) -> Option<String>, variable: &'static str) -> Result<Option<String>, ConfigError> {
    let name = get(variable);
    if let Some(name) = &name {
        let ok = (3..=1024).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-:".contains(&b));
        if !ok {
            return Err(invalid(variable, "must be a DynamoDB table name or ARN"));
        }
    }
    Ok(name)
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn seconds(get: &impl Fn(&str) -> Option<String>, variable: &'static str, default: u64) -> Result<u64, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().map_err(|_| invalid(variable, &format!("{v:?} is not a whole number of seconds"))),
    }
}

fn millis(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    match get(variable) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => match v.parse::<u64>() {
            Ok(0) | Err(_) => Err(invalid(variable, &format!("{v:?} is not a positive whole number of milliseconds"))),
            Ok(ms) if ms > MAX_TIMEOUT_MS => Err(invalid(variable, "must be at most 900000 (15 minutes)")),
            Ok(ms) => Ok(Duration::from_millis(ms)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_with_defaults_for_what_is_not_named() {
        let d = Limits::defaults();
        assert_eq!(d.get(Action::Token), Some(Limit { count: 30, window_seconds: 60 }));
        assert_eq!(d.get(Action::Recording), Some(Limit { count: 5, window_seconds: 60 }));
        let b = Limits::parse_budgets("agent=off, stream=10/604800").unwrap();
        assert_eq!(b.get(Action::Agent), None, "action=off lifts one budget");
        assert_eq!(b.get(Action::Stream), Some(Limit { count: 10, window_seconds: 604_800 }));
        assert_eq!(b.get(Action::Recording), Limits::default_budgets().get(Action::Recording));
        let l = Limits::parse("token=3/2, room=off").unwrap();
        assert_eq!(l.get(Action::Token), Some(Limit { count: 3, window_seconds: 2 }));
        assert_eq!(l.get(Action::Room), None);
        assert_eq!(l.get(Action::Stream), d.get(Action::Stream));
        for bad in
            ["token", "token=3", "token=0/60", "token=3/0", "token=3/86401", "tokens=3/60", "token=-1/60", "token=x/y"]
        {
            assert!(Limits::parse(bad).is_err(), "{bad}");
        }
    }

    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = config(&[]).unwrap();
        assert!(matches!(c.secret_source, SecretSource::Missing(_)));
        assert_eq!(c.api_endpoint, "https://api.videosdk.live");
        assert_eq!(c.tokens.default_ttl, Duration::from_secs(900));
        assert_eq!(c.tokens.max_ttl, Duration::from_secs(86_400));
        assert_eq!(c.tokens.participant_role, ParticipantRole::Rtc);
        assert_eq!(c.caller_auth, CallerAuth::Jwt);
        assert_eq!(c.token_caller_auth, CallerAuth::Jwt, "tokens minted as CALLER_AUTH says unless told");
        let apps = config(&[("CALLER_AUTH", "jwt"), ("TOKEN_CALLER_AUTH", "none")]).unwrap();
        assert_eq!((apps.caller_auth, apps.token_caller_auth), (CallerAuth::Jwt, CallerAuth::None));
        assert_eq!(c.anonymous.permissions, vec![Permission::AllowJoin, Permission::AskJoin]);
        assert_eq!(c.anonymous.default_permissions, vec![Permission::AllowJoin]);
        assert!(!c.anonymous.allows(OptIn::Livestreams));
        assert_eq!(c.moderator_group, "videosdk-moderators");
        assert!(c.livestream_allowed_hosts.is_empty());
        assert_eq!(c.secret_refresh, Duration::from_secs(300));
        assert_eq!(c.upstream_connect_timeout, Duration::from_secs(3));
        assert_eq!(c.upstream_timeout, Duration::from_secs(10));
    }

    #[test]
    fn secret_id_wins_over_direct_credentials() {
        let c =
            config(&[("VIDEOSDK_SECRET_ID", "videosdk"), ("VIDEOSDK_API_KEY", "k"), ("VIDEOSDK_SECRET", "s")]).unwrap();
        assert!(matches!(c.secret_source, SecretSource::SecretsManager(ref id) if id == "videosdk"));
        let c = config(&[("VIDEOSDK_API_KEY", "k"), ("VIDEOSDK_SECRET", "s")]).unwrap();
        assert!(matches!(c.secret_source, SecretSource::Direct(ref cr) if cr.api_key() == "k"));
        let c = config(&[("VIDEOSDK_API_KEY", "k")]).unwrap();
        assert!(matches!(c.secret_source, SecretSource::Missing(ref why) if why.contains("VIDEOSDK_SECRET")));
    }

    #[test]
    fn role_less_tokens_only_for_signed_in_callers() {
        let e = config(&[("PARTICIPANT_TOKEN_ROLE", "none"), ("CALLER_AUTH", "none")]).unwrap_err();
        assert_eq!(e.settings(), vec!["PARTICIPANT_TOKEN_ROLE", "CALLER_AUTH"]);
        assert!(config(&[("PARTICIPANT_TOKEN_ROLE", "none")]).is_ok(), "with CALLER_AUTH=jwt it stays possible");
    }

    #[test]
    fn rate_limits_and_anonymous_caps() {
        let c = config(&[]).unwrap();
        assert_eq!((c.limits.table, c.limits.per_action), (None, Limits::defaults()));
        assert_eq!(c.limits.budgets.get(Action::Agent), Some(Limit { count: 200, window_seconds: 86_400 }));
        assert_eq!(c.limits.budgets.get(Action::Stream), Some(Limit { count: 50, window_seconds: 86_400 }));
        assert_eq!(c.limits.budgets.get(Action::Token), None, "tokens cost nothing: no budget");
        assert!(BUDGETED.iter().all(|&a| c.limits.budgets.get(a).is_some()), "every spending action is bounded");
        assert_eq!(c.anonymous.max_ttl, Duration::from_secs(3600));
        assert!(
            !c.anonymous.allows(OptIn::CustomRoomIds)
                && !c.anonymous.allows(OptIn::Hls)
                && !c.anonymous.allows(OptIn::EndLivestreams)
        );
        let c = config(&[("RATE_LIMIT_TABLE", "videosdk-limits"), ("RATE_LIMITS", "room=2/10")]).unwrap();
        assert_eq!(c.limits.table.as_deref(), Some("videosdk-limits"));
        assert_eq!(c.limits.per_action.get(Action::Room), Some(Limit { count: 2, window_seconds: 10 }));
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("TOKEN_DEFAULT_TTL_SECONDS", "ten")], "TOKEN_DEFAULT_TTL_SECONDS"),
            (&[("TOKEN_DEFAULT_TTL_SECONDS", "30")], "TOKEN_DEFAULT_TTL_SECONDS"),
            (&[("TOKEN_DEFAULT_TTL_SECONDS", "7200"), ("TOKEN_MAX_TTL_SECONDS", "3600")], "TOKEN_DEFAULT_TTL_SECONDS"),
            (&[("TOKEN_MAX_TTL_SECONDS", "-1")], "TOKEN_MAX_TTL_SECONDS"),
            (&[("PARTICIPANT_TOKEN_ROLE", "crawler")], "PARTICIPANT_TOKEN_ROLE"),
            (&[("CALLER_AUTH", "cognito")], "CALLER_AUTH"),
            (&[("TOKEN_CALLER_AUTH", "apps")], "TOKEN_CALLER_AUTH"),
            (&[("ALLOWED_ORIGINS", "*")], "ALLOWED_ORIGINS"),
            (&[("ALLOWED_HOSTS", "*")], "ALLOWED_HOSTS"),
            (&[("ALLOWED_HOSTS", "localhost:9000")], "ALLOWED_HOSTS"),
            (&[("ALLOWED_HOSTS", "[::1")], "ALLOWED_HOSTS"),
            (&[("ALLOWED_HOSTS", " , ")], "ALLOWED_HOSTS"),
            (&[("METRICS_NAMESPACE", "AWS/Lambda")], "METRICS_NAMESPACE"),
            (&[("METRICS_NAMESPACE", "a\"b")], "METRICS_NAMESPACE"),
            (&[("ALLOWED_ORIGINS", "https://app.example.com/path")], "ALLOWED_ORIGINS"),
            (&[("ALLOWED_ORIGINS", "app.example.com")], "ALLOWED_ORIGINS"),
            (&[("ALLOWED_ORIGINS", "https://*.example.com")], "ALLOWED_ORIGINS"),
            (&[("ALLOWED_ORIGINS", " , ")], "ALLOWED_ORIGINS"),
            (&[("ANONYMOUS_PERMISSIONS", "allow_join,admin")], "ANONYMOUS_PERMISSIONS"),
            (&[("VIDEOSDK_API_ENDPOINT", "api.videosdk.live")], "VIDEOSDK_API_ENDPOINT"),
            (&[("VIDEOSDK_API_ENDPOINT", "https://api.videosdk.live/v2")], "VIDEOSDK_API_ENDPOINT"),
            (&[("SECRET_REFRESH_SECONDS", "5m")], "SECRET_REFRESH_SECONDS"),
            (&[("ANONYMOUS_DEFAULT_PERMISSIONS", "allow_mod")], "ANONYMOUS_DEFAULT_PERMISSIONS"),
            (&[("ANONYMOUS_DEFAULT_PERMISSIONS", "allow_join,ask_join")], "ANONYMOUS_DEFAULT_PERMISSIONS"),
            (&[("ANONYMOUS_DEFAULT_PERMISSIONS", "join")], "ANONYMOUS_DEFAULT_PERMISSIONS"),
            (&[("ANONYMOUS_LIVESTREAMS", "yes")], "ANONYMOUS_LIVESTREAMS"),
            (&[("ANONYMOUS_HLS", "1")], "ANONYMOUS_HLS"),
            (&[("MODERATOR_GROUP", "Trainee videosdk-moderators")], "MODERATOR_GROUP"),
            (&[("MODERATOR_GROUP", "a\tb")], "MODERATOR_GROUP"),
            (&[("ANONYMOUS_END_LIVESTREAMS", "true")], "ANONYMOUS_END_LIVESTREAMS"),
            (&[("ANONYMOUS_CUSTOM_ROOM_IDS", "on")], "ANONYMOUS_CUSTOM_ROOM_IDS"),
            (&[("ANONYMOUS_MAX_TTL_SECONDS", "59")], "ANONYMOUS_MAX_TTL_SECONDS"),
            (&[("RATE_LIMITS", "tokens=1/60")], "RATE_LIMITS"),
            (&[("RATE_LIMITS", "token=0/60")], "RATE_LIMITS"),
            (&[("RATE_LIMIT_TABLE", "a b")], "RATE_LIMIT_TABLE"),
            (&[("BUDGETS", "token=10/60")], "BUDGETS"),
            (&[("BUDGETS", "agent=0/86400")], "BUDGETS"),
            (&[("BUDGETS", "agent=10/2678401")], "BUDGETS"),
            (&[("BUDGETS", "agent")], "BUDGETS"),
            // Role-less tokens (REST-capable) for anyone who asks: refused, naming both settings.
            (&[("PARTICIPANT_TOKEN_ROLE", "none"), ("CALLER_AUTH", "none")], "PARTICIPANT_TOKEN_ROLE"),
            (&[("VIDEOSDK_TIMEOUT_MS", "0")], "VIDEOSDK_TIMEOUT_MS"),
            // Bounds: a week of token life; waits that fit a Lambda invocation.
            (&[("TOKEN_MAX_TTL_SECONDS", "604801")], "TOKEN_MAX_TTL_SECONDS"),
            (&[("TOKEN_MAX_TTL_SECONDS", "18446744073709551615")], "TOKEN_MAX_TTL_SECONDS"),
            (&[("VIDEOSDK_TIMEOUT_MS", "18446744073709551615")], "VIDEOSDK_TIMEOUT_MS"),
            (&[("VIDEOSDK_CONNECT_TIMEOUT_MS", "900001")], "VIDEOSDK_CONNECT_TIMEOUT_MS"),
            (&[("SECRET_REFRESH_SECONDS", "18446744073709551615")], "SECRET_REFRESH_SECONDS"),
            // The management token never travels in clear except to this machine.
            (&[("VIDEOSDK_API_ENDPOINT", "http://api.videosdk.live")], "VIDEOSDK_API_ENDPOINT"),
            (&[("VIDEOSDK_API_ENDPOINT", "http://127.0.0.1.example.com")], "VIDEOSDK_API_ENDPOINT"),
            (&[("VIDEOSDK_API_ENDPOINT", "http://localhost@evil.example.com")], "VIDEOSDK_API_ENDPOINT"),
            (&[("VIDEOSDK_API_ENDPOINT", "http://10.0.0.1:8080")], "VIDEOSDK_API_ENDPOINT"),
            (&[("VIDEOSDK_API_ENDPOINT", "https://")], "VIDEOSDK_API_ENDPOINT"),
            (&[("VIDEOSDK_API_ENDPOINT", "https://api.videosdk.live/?x")], "VIDEOSDK_API_ENDPOINT"),
            // After the join.
            (&[("WEBHOOK_URL", "http://hooks.example.com/h")], "WEBHOOK_URL"),
            (&[("WEBHOOK_URL", "hooks.example.com/h")], "WEBHOOK_URL"),
            (&[("WEBHOOK_URL", "https://{domainName}.evil.example.com/h")], "WEBHOOK_URL"),
            (&[("WEBHOOK_URL", "http://{domainName}/h")], "WEBHOOK_URL"),
            (&[("WEBHOOK_EVENTS", "recording-stopped,everything")], "WEBHOOK_EVENTS"),
            (&[("WEBHOOK_EVENTS", ",")], "WEBHOOK_EVENTS"),
            (&[("VIDEOSDK_WEBHOOK_PUBLIC_KEY", "not a key")], "VIDEOSDK_WEBHOOK_PUBLIC_KEY"),
            (&[("EVENT_BUS_NAME", "bus name with spaces")], "EVENT_BUS_NAME"),
            (&[("RECORDING_DIR_PATH", "../elsewhere")], "RECORDING_DIR_PATH"),
            (&[("RECORDING_DIR_PATH", "a b")], "RECORDING_DIR_PATH"),
            (&[("ANONYMOUS_ROOM_CONTROL", "yes")], "ANONYMOUS_ROOM_CONTROL"),
            (&[("ANONYMOUS_AGENT_TOKENS", "1")], "ANONYMOUS_AGENT_TOKENS"),
            (&[("AGENT_TOKEN_MAX_TTL_SECONDS", "3601")], "AGENT_TOKEN_MAX_TTL_SECONDS"),
            (&[("AGENT_TOKEN_MAX_TTL_SECONDS", "59")], "AGENT_TOKEN_MAX_TTL_SECONDS"),
        ];
        for (vars, variable) in cases {
            let err = config(vars).unwrap_err();
            assert_eq!(err.variable, *variable, "{vars:?}");
            assert!(err.to_string().contains(variable));
        }
    }

    #[test]
    fn lists_are_trimmed_and_lowercased() {
        let c = config(&[
            ("ANONYMOUS_PERMISSIONS", " ask_join "),
            ("LIVESTREAM_ALLOWED_HOSTS", "a.rtmp.youtube.com, Live.Twitch.tv ,"),
            ("VIDEOSDK_API_ENDPOINT", "http://127.0.0.1:8080/"),
        ])
        .unwrap();
        assert_eq!(c.anonymous.permissions, vec![Permission::AskJoin]);
        assert_eq!(c.livestream_allowed_hosts, vec!["a.rtmp.youtube.com", "live.twitch.tv"]);
        assert_eq!(c.api_endpoint, "http://127.0.0.1:8080");
        for local in ["http://localhost:3000", "http://127.0.0.2", "http://[::1]:9000", "HTTP://LOCALHOST"] {
            assert!(config(&[("VIDEOSDK_API_ENDPOINT", local)]).is_ok(), "{local}");
        }
        let week = config(&[("TOKEN_MAX_TTL_SECONDS", "604800")]).unwrap();
        assert_eq!(week.tokens.max_ttl, Duration::from_secs(604_800));
        let none = config(&[("ANONYMOUS_PERMISSIONS", "")]).unwrap();
        assert!(none.anonymous.permissions.is_empty());
    }

    #[test]
    fn the_anonymous_default_can_grant_allow_mod_when_allowed() {
        let c = config(&[
            ("ANONYMOUS_PERMISSIONS", "allow_join,allow_mod"),
            ("ANONYMOUS_DEFAULT_PERMISSIONS", "allow_join, allow_mod"),
            ("ANONYMOUS_LIVESTREAMS", "allow"),
        ])
        .unwrap();
        assert_eq!(c.anonymous.default_permissions, vec![Permission::AllowJoin, Permission::AllowMod]);
        assert!(c.anonymous.allows(OptIn::Livestreams));
    }

    #[test]
    fn webhook_settings_are_read_and_the_domain_is_filled_in() {
        let pem = crate::signature::Signer::generate().public_key_pem();
        let escaped = pem.replace('\n', "\\n");
        let c = config(&[
            ("WEBHOOK_URL", "https://{domainName}/videosdk-webhook"),
            ("VIDEOSDK_WEBHOOK_PUBLIC_KEY", &escaped),
            ("EVENT_BUS_NAME", "arn:aws:events:us-east-1:123456789012:event-bus/videosdk"),
            ("RECORDING_DIR_PATH", "videosdk/{roomId}/"),
        ])
        .unwrap();
        assert!(c.webhooks.public_key.is_some(), "a PEM with literal \\n line breaks");
        assert_eq!(
            c.webhooks.url_for(Some("abc.execute-api.eu-west-1.amazonaws.com")).unwrap().as_deref(),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/videosdk-webhook")
        );
        for bad in [None, Some(""), Some("evil.com/x"), Some("a b")] {
            assert_eq!(c.webhooks.url_for(bad).unwrap_err().variable, "WEBHOOK_URL", "{bad:?}");
        }
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.webhooks.url_for(Some("x")).unwrap(), None);
        assert_eq!(defaults.webhooks.events.len(), 14);
        for agent_event in ["agent-session-started", "agent-session-stopped", "agent-session-failed"] {
            assert!(defaults.webhooks.events.iter().any(|e| e == agent_event), "{agent_event} subscribed by default");
        }
        assert_eq!(defaults.tokens.agent_max_ttl, Duration::from_secs(3600));
        assert!(!defaults.anonymous.allows(OptIn::RoomControl) && !defaults.anonymous.allows(OptIn::AgentTokens));
        let local = config(&[("WEBHOOK_URL", "http://127.0.0.1:9000/videosdk-webhook")]).unwrap();
        assert_eq!(local.webhooks.url_for(None).unwrap().as_deref(), Some("http://127.0.0.1:9000/videosdk-webhook"));
    }

    #[test]
    fn agents_are_listed_pinned_and_capped() {
        let defaults = config(&[]).unwrap();
        assert!(defaults.agents.allowed.is_empty(), "no AGENTS: every dispatch refused");
        assert_eq!(defaults.agents.session_max_seconds, 1800);
        assert_eq!(defaults.limits.per_action.get(Action::Agent), Some(Limit { count: 5, window_seconds: 600 }));
        assert_eq!(defaults.limits.per_action.get(Action::Transcription), Some(Limit { count: 5, window_seconds: 60 }));
        let c = config(&[("AGENTS", " support-bot , tutor=v-3.1 ,"), ("AGENT_SESSION_MAX_SECONDS", "600")]).unwrap();
        assert_eq!(
            c.agents.allowed,
            vec![
                AllowedAgent { id: "support-bot".into(), pinned_version: None },
                AllowedAgent { id: "tutor".into(), pinned_version: Some("v-3.1".into()) },
            ]
        );
        assert_eq!(c.agents.find("tutor").and_then(|a| a.pinned_version.as_deref()), Some("v-3.1"));
        assert!(c.agents.find("Tutor").is_none() && c.agents.find("tut").is_none(), "ids compared whole and exactly");
        assert_eq!(c.agents.session_max_seconds, 600);
        for bad in ["a b", "a/b", "..", "a=", "=v1", "a=v 1", "a,a", "a=v1,a"] {
            assert_eq!(config(&[("AGENTS", bad)]).unwrap_err().variable, "AGENTS", "{bad}");
        }
        for bad in ["59", "86401", "ten"] {
            let e = config(&[("AGENT_SESSION_MAX_SECONDS", bad)]).unwrap_err();
            assert_eq!(e.variable, "AGENT_SESSION_MAX_SECONDS", "{bad}");
        }
    }

    #[test]
    fn each_anonymous_opt_in_is_its_own_variable() {
        let none = config(&[]).unwrap();
        assert!(OptIn::ALL.iter().all(|&o| !none.anonymous.allows(o)), "every opt-in is off by default");
        for opt_in in OptIn::ALL {
            let c = config(&[(opt_in.variable(), "allow")]).unwrap();
            for other in OptIn::ALL {
                assert_eq!(
                    c.anonymous.allows(other),
                    other == opt_in,
                    "{} set, {} read",
                    opt_in.variable(),
                    other.variable()
                );
            }
            assert!(!config(&[(opt_in.variable(), "deny")]).unwrap().anonymous.allows(opt_in));
            assert_eq!(config(&[(opt_in.variable(), "yes")]).unwrap_err().variable, opt_in.variable());
        }
    }

    #[test]
    fn the_webhook_key_is_long_compared_whole_and_never_shown() {
        let key = "k3y-0123456789abcdefghijklmnopqrstuvwxyz";
        let c = config(&[("WEBHOOK_KEY", key), ("WEBHOOK_DEDUPE_TABLE", "videosdk-limits")]).unwrap();
        let held = c.webhooks.key.clone().unwrap();
        assert!(held.matches(key));
        let last_differs = format!("{}X", &key[..key.len() - 1]);
        let longer = format!("{key}x");
        for wrong in ["", &key[..key.len() - 1], &longer, &last_differs, "K3Y-0123456789abcdefghijklmnopqrstuvwxyz"] {
            assert!(!held.matches(wrong), "{wrong}");
        }
        assert!(!format!("{c:?}").contains(key), "Debug shows the key");
        let url = format!("https://hooks.example.com/videosdk-webhook/{key}");
        let with_url = config(&[("WEBHOOK_KEY", key), ("WEBHOOK_URL", &url)]).unwrap();
        assert!(!format!("{with_url:?}").contains(key), "Debug shows the key inside WEBHOOK_URL");
        assert_eq!(with_url.webhooks.url.as_deref(), Some(url.as_str()));
        assert_eq!(c.webhooks.dedupe_seconds, 604_800);
        assert_eq!(c.webhooks.dedupe_table.as_deref(), Some("videosdk-limits"));
        for bad in ["short".to_owned(), format!("{key}/x"), format!("{key} x")] {
            assert_eq!(config(&[("WEBHOOK_KEY", &bad)]).unwrap_err().variable, "WEBHOOK_KEY", "{bad}");
        }
        assert_eq!(config(&[("WEBHOOK_DEDUPE_SECONDS", "10")]).unwrap_err().variable, "WEBHOOK_DEDUPE_SECONDS");
        assert!(config(&[]).unwrap().webhooks.key.is_none());
        assert_eq!(c.webhooks.key_refetch_after, Duration::from_secs(600), "10 minutes unless set");
        let quick = config(&[("WEBHOOK_KEY_REFETCH_SECONDS", "2")]).unwrap();
        assert_eq!(quick.webhooks.key_refetch_after, Duration::from_secs(2));
        for bad in ["0", "86401", "ten"] {
            let err = config(&[("WEBHOOK_KEY_REFETCH_SECONDS", bad)]).unwrap_err();
            assert_eq!(err.variable, "WEBHOOK_KEY_REFETCH_SECONDS", "{bad}");
        }
    }

    #[test]
    fn the_dev_request_secret_is_long_and_hidden() {
        assert!(config(&[]).unwrap().dev_request_secret.is_none(), "unset unless make dev sets it");
        let secret = "fake-dev-request-secret-for-this-test-only";
        let c = config(&[("DEV_REQUEST_SECRET", secret)]).unwrap();
        assert!(c.dev_request_secret.as_ref().unwrap().matches(secret));
        assert!(!format!("{c:?}").contains(secret));
        assert_eq!(config(&[("DEV_REQUEST_SECRET", "short")]).unwrap_err().variable, "DEV_REQUEST_SECRET");
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let c = config(&[("VIDEOSDK_API_KEY", "k"), ("VIDEOSDK_SECRET", "very-secret-value")]).unwrap();
        assert!(!format!("{c:?}").contains("very-secret-value"));
    }
}
