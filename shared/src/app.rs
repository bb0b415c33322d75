//! Process lifecycle shared by every function: INIT (logging, configuration, the secret,
//! the VideoSDK client) and then the Lambda runtime loop around a handler.

use std::future::Future;

use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};

use crate::claims::{ParticipantRole, Permission};
use crate::config::Action;
use crate::config::{CallerAuth, Config, OptIn};
use crate::error::ApiError;
use crate::events::EventBus;
use crate::ratelimit::{Admission, RateLimiter};
use crate::secret::SecretStore;
use crate::videosdk::VideoSdk;
use crate::webhook::{KeyStore, Published};

/// Everything a handler needs, built once per container.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub secrets: SecretStore,
    /// Present for functions that call the VideoSDK REST API.
    pub videosdk: Option<VideoSdk>,
    /// The webhook receiver's key and bus (`Uses::Webhooks` only).
    pub webhooks: Option<Webhooks>,
    /// Per-caller limits, when `RATE_LIMIT_TABLE` is set and an action this function performs
    /// is limited; otherwise no DynamoDB client exists.
    pub limiter: Option<RateLimiter>,
}

/// What `videosdk-webhook` needs beyond the secret.
#[derive(Debug)]
pub struct Webhooks {
    pub keys: KeyStore,
    /// `None` when `EVENT_BUS_NAME` is unset (events are logged), or when its client could not
    /// be built (every verified delivery then answers 503).
    pub bus: Option<EventBus>,
    /// The bus is configured but its client could not be built.
    pub bus_broken: bool,
    /// `WEBHOOK_DEDUPE_TABLE`: deliveries published at most once; `None`: every verified
    /// delivery is published (and when its client could not be built, counted as unchecked).
    pub published: Option<Published>,
}

/// What a function talks to, so INIT builds only what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uses {
    /// Mints tokens only.
    TokensOnly,
    /// Calls the VideoSDK REST API.
    VideoSdkApi,
    /// Receives webhooks: a pinned or fetched key, and the event bus.
    Webhooks,
}

impl State {
    /// Reads the secret and builds clients. Never fails: a missing secret is answered with 503.
    pub async fn init(config: Config, uses: Uses) -> State {
        State::init_limited(config, uses, &[]).await
    }

    /// [`Self::init`] for a function that performs `actions`: their per-caller limits apply.
    pub async fn init_limited(config: Config, uses: Uses, actions: &[Action]) -> State {
        warn_about_risky_settings(&config);
        let needs_api = match uses {
            Uses::TokensOnly => false,
            Uses::VideoSdkApi => true,
            // The key is fetched from VideoSDK only when it is not pinned.
            Uses::Webhooks => config.webhooks.public_key.is_none(),
        };
        // With the key pinned, the webhook receiver signs nothing: it reads no secret (no
        // Secrets Manager round trip at INIT, and a broken secret cannot stop deliveries).
        let secrets = match uses == Uses::Webhooks && !needs_api {
            true => SecretStore::missing("not read: VIDEOSDK_WEBHOOK_PUBLIC_KEY is pinned".into()),
            false => SecretStore::load(&config).await,
        };
        let videosdk = match needs_api {
            false => None,
            true => match VideoSdk::new(&config) {
                Ok(client) => Some(client),
                Err(e) => {
                    tracing::error!(cause = %e, "could not build the VideoSDK HTTP client");
                    None
                }
            },
        };
        let webhooks = match uses {
            Uses::Webhooks => Some(Webhooks::init(&config).await),
            _ => None,
        };
        let limiter = limiter(&config, actions).await;
        State { config, secrets, videosdk, webhooks, limiter }
    }

    /// Counts one `action` by the caller of `req` ([`crate::caller::rate_key`]): see [`Self::admit_as`].
    pub async fn admit(&self, req: &Request, action: Action) -> Result<Admission, ApiError> {
        self.admit_as(&crate::caller::rate_key(req), action).await
    }

    /// Counts one `action` by `caller` against its limit and the action's budget: 429
    /// `rate_limited` over its limit (or its share of the budget), 429 `budget_exhausted` past
    /// the budget; `Ok` when nothing applies or the table cannot be reached (logged and counted).
    pub async fn admit_as(&self, caller: &str, action: Action) -> Result<Admission, ApiError> {
        match &self.limiter {
            None => Ok(Admission::default()),
            // Boxed: the counters' futures are deep types, and handlers nest them further.
            Some(limiter) => Box::pin(limiter.admit(caller, action, std::time::SystemTime::now())).await,
        }
    }

    /// Counts one `action` by `caller` ([`Self::admit_as`]), then makes `call` (the upstream
    /// call that spends): when VideoSDK refuses it (a 4xx: nothing started), the budget is given
    /// back. Boxed: nested in a handler, the counters' futures make its type too deep to lay out.
    pub fn spend<'a, T: Send + 'a>(
        &'a self,
        caller: &'a str,
        action: Action,
        call: impl Future<Output = Result<T, ApiError>> + Send + 'a,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            let admission = self.admit_as(caller, action).await?;
            let result = call.await;
            if let (Err(e), Some(limiter)) = (&result, &self.limiter)
                && crate::videosdk::nothing_started(e)
            {
                limiter.give_back(admission).await;
            }
            result
        })
    }

    /// The VideoSDK client, or 500 when INIT could not build it (logged then).
    pub fn videosdk(&self) -> Result<&VideoSdk, ApiError> {
        self.videosdk.as_ref().ok_or(ApiError::Misconfigured)
    }
}

/// The limiter for `actions`, or `None` when no table is set or none of them is limited or budgeted.
async fn limiter(config: &Config, actions: &[Action]) -> Option<RateLimiter> {
    let table = config.limits.table.clone()?;
    let (limits, budgets) = (&config.limits.per_action, &config.limits.budgets);
    if !limits.any(actions) && !budgets.any(actions) {
        return None;
    }
    let describe = |set: &crate::config::Limits| {
        let named: Vec<String> = actions
            .iter()
            .filter_map(|&a| set.get(a).map(|l| format!("{a}={}/{}", l.count, l.window_seconds)))
            .collect();
        if named.is_empty() { "none".to_owned() } else { named.join(",") }
    };
    match RateLimiter::new(table.clone(), *limits, *budgets).await {
        Ok(limiter) => {
            tracing::info!(table = %table, limits = %describe(limits), budgets = %describe(budgets), "per-caller rate limits and budgets on");
            Some(limiter)
        }
        Err(e) => {
            tracing::error!(cause = %e, "could not build the DynamoDB client; requests go on without rate limits");
            None
        }
    }
}

impl Webhooks {
    async fn init(config: &Config) -> Webhooks {
        let keys = KeyStore::new(config.webhooks.public_key.clone(), config.webhooks.key_refetch_after);
        let (bus, bus_broken) = match &config.webhooks.event_bus_name {
            None => {
                tracing::warn!("EVENT_BUS_NAME is unset: verified webhooks are logged, not published");
                (None, false)
            }
            Some(name) => match EventBus::new(name.clone()).await {
                Ok(bus) => (Some(bus), false),
                Err(e) => {
                    tracing::error!(cause = %e, "could not build the EventBridge client; verified webhooks answer 503");
                    (None, true)
                }
            },
        };
        let published = match &config.webhooks.dedupe_table {
            None => None,
            Some(table) => match Published::new(table.clone(), config.webhooks.dedupe_seconds).await {
                Ok(published) => Some(published),
                Err(e) => {
                    tracing::error!(cause = %e, "could not build the DynamoDB client; webhooks are published unchecked");
                    None
                }
            },
        };
        Webhooks { keys, bus, bus_broken, published }
    }
}

/// Says at cold start, in the log, what a risky setting hands out.
fn warn_about_risky_settings(config: &Config) {
    if config.caller_auth == CallerAuth::None {
        tracing::warn!(
            "CALLER_AUTH=none: every caller is anonymous; use this only for local development, for apps whose users do not sign in (throttle the API), or behind your own authentication"
        );
        if config.anonymous.default_permissions.contains(&Permission::AllowMod) {
            tracing::warn!(
                "ANONYMOUS_DEFAULT_PERMISSIONS includes allow_mod: every anonymous caller may mute and remove other participants"
            );
        }
    }
    if config.tokens.participant_role == ParticipantRole::None {
        tracing::warn!(
            "PARTICIPANT_TOKEN_ROLE=none: participant tokens carry no role, so whoever holds one can call VideoSDK's REST API for this account until it expires (create and list rooms, read sessions, start recordings and RTMP restreams to any host); prefer rtc tokens and this API's /v2 routes"
        );
    }
    if config.caller_auth == CallerAuth::None && config.anonymous.allows(OptIn::RoomControl) {
        tracing::warn!(
            "ANONYMOUS_ROOM_CONTROL=allow: every anonymous caller may start and stop recordings, list them and end any meeting; use it for local development only"
        );
    }
    if config.anonymous.allows(OptIn::AgentTokens) {
        tracing::warn!(
            "ANONYMOUS_AGENT_TOKENS=allow: agent tokens (no role: they can call VideoSDK's REST API) are issued without an IAM identity; use it for local development only"
        );
    }
    if config.anonymous.allows(OptIn::Livestreams) && config.livestream_allowed_hosts.is_empty() {
        tracing::warn!(
            "ANONYMOUS_LIVESTREAMS=allow has no effect until LIVESTREAM_ALLOWED_HOSTS names the RTMP hosts streams may go to"
        );
    }
}

/// One invocation: `handler` on `req`, within the deadline of the invocation's Lambda context
/// (less [`deadline::MARGIN`](crate::deadline::MARGIN)), so every wait inside ends in time to
/// answer with the envelope.
pub fn serve<H, F>(state: &'static State, req: Request, handler: &H) -> impl Future<Output = Response<Body>> + use<H, F>
where
    H: Fn(&'static State, Request) -> F,
    F: Future<Output = Response<Body>>,
{
    serve_emitting(state, req, handler, crate::metrics::write_stdout)
}

/// [`serve`], handing the invocation's EMF record (if any) to `emit` rather than stdout.
pub fn serve_emitting<H, F>(
    state: &'static State,
    req: Request,
    handler: &H,
    emit: fn(&str),
) -> impl Future<Output = Response<Body>> + use<H, F>
where
    H: Fn(&'static State, Request) -> F,
    F: Future<Output = Response<Body>>,
{
    let deadline = req.lambda_context_ref().and_then(|ctx| crate::deadline::from_epoch_millis(ctx.deadline));
    let header =
        |name| req.headers().get(name).map(|v: &lambda_http::http::HeaderValue| v.to_str().unwrap_or("\u{fffd}"));
    let (origin, host) = (header(lambda_http::http::header::ORIGIN), header(lambda_http::http::header::HOST));
    // `make dev`: only what its front door forwarded (stamped with the run's secret) is served;
    // an event written straight to the emulator's own port is refused before anything else.
    let unstamped = state.config.dev_request_secret.as_ref().is_some_and(|secret| {
        !header(lambda_http::http::HeaderName::from_static(crate::policy::DEV_REQUEST_SECRET_HEADER))
            .is_some_and(|given| secret.matches(given))
    });
    // A request to a host name outside ALLOWED_HOSTS (DNS rebinding), or from a browser page of
    // an origin outside ALLOWED_ORIGINS: refused before the handler runs, so nothing is minted,
    // created or sent upstream.
    let wrong_host = !crate::policy::host_allowed(&state.config.allowed_hosts, host);
    let refused = unstamped || wrong_host || !crate::policy::origin_allowed(&state.config.allowed_origins, origin);
    // Boxed: the wrappers below (deadline, metrics) then move a pointer, not the handler's whole
    // future; in a debug build that future alone can be large enough to overflow a 2 MiB stack.
    let response = (!refused).then(|| Box::pin(handler(state, req)));
    let answered = async move {
        let Some(response) = response else {
            if unstamped {
                tracing::warn!("an event that did not come through make dev's front door refused (DEV_REQUEST_SECRET)");
                return ApiError::Forbidden(
                    "This event did not come through make dev's own port; send requests to it (cargo lambda invoke \
                     and the API's routes), not to the Lambda emulator's."
                        .into(),
                )
                .into_response();
            }
            if wrong_host {
                tracing::warn!("request to a host name outside ALLOWED_HOSTS refused");
                return ApiError::Forbidden(
                    "This API does not answer requests to this host name (ALLOWED_HOSTS).".into(),
                )
                .into_response();
            }
            tracing::warn!("request from a browser origin outside ALLOWED_ORIGINS refused");
            return ApiError::Forbidden("This API does not answer pages from this origin (ALLOWED_ORIGINS).".into())
                .into_response();
        };
        match deadline {
            Some(deadline) => crate::deadline::scope(deadline, response).await,
            None => response.await,
        }
    };
    async move {
        // METRICS_NAMESPACE=off: nothing is counted at all.
        let Some(namespace) = &state.config.metrics_namespace else { return answered.await };
        let (response, record) = crate::metrics::scope(answered).await;
        let code = response.extensions().get::<crate::http::AnsweredCode>().map(|c| c.0);
        let answer = crate::metrics::Answer { status: response.status().as_u16(), code };
        if let Some(line) = record.line(namespace, function_name(), answer, std::time::SystemTime::now()) {
            emit(&line);
        }
        response
    }
}

/// The function's name in its metrics (the `Function` dimension), set once by [`run`].
static FUNCTION: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Names this process's function in its metrics (the first name given stays).
pub fn set_function_name(name: &'static str) {
    let _ = FUNCTION.set(name);
}

fn function_name() -> &'static str {
    FUNCTION.get().copied().unwrap_or("unnamed")
}

/// INIT, then the runtime loop. A function's `main` is one call to this (or to [`run_limited`]);
/// `name` (its package name) is the `Function` dimension of its metrics.
pub async fn run<H, F>(name: &'static str, uses: Uses, handler: H) -> Result<(), Error>
where
    H: Fn(&'static State, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    run_limited(name, uses, &[], handler).await
}

/// [`run`] for a function that performs `actions` (per-caller rate limits).
pub async fn run_limited<H, F>(name: &'static str, uses: Uses, actions: &[Action], handler: H) -> Result<(), Error>
where
    H: Fn(&'static State, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    set_function_name(name);
    lambda_http::tracing::init_default_subscriber();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    if level.to_ascii_lowercase().contains("trace") {
        // lambda_runtime logs raw events at TRACE: headers and bodies, whole.
        tracing::warn!(
            "TRACE logging is on: the Lambda runtime logs raw request events, with their Authorization headers (users' identity-provider tokens and participant tokens) and bodies (stream keys); use it only locally"
        );
    }
    match Config::from_env() {
        Ok(config) => {
            // The state lives as long as the process; leaking it lets handlers borrow it.
            let state: &'static State = Box::leak(Box::new(State::init_limited(config, uses, actions).await));
            run_guarded(service_fn(|req| {
                let response = serve(state, req, &handler);
                async move { Ok::<_, Error>(response.await) }
            }))
            .await
        }
        Err(e) => {
            tracing::error!(variable = e.variable, cause = %e, "invalid configuration; answering 500 configuration_error");
            let settings = e.settings();
            run_guarded(service_fn(move |_req: Request| {
                let answer = ApiError::InvalidSetting { settings: settings.clone() }.into_response();
                async move { Ok::<_, Error>(answer) }
            }))
            .await
        }
    }
}

/// `lambda_http::run` with [`crate::guard::make_safe`] applied to every event before
/// `lambda_http` converts it (a conversion that would otherwise panic on some events).
async fn run_guarded<'a, S>(service: S) -> Result<(), Error>
where
    S: lambda_http::Service<Request, Response = Response<Body>, Error = Error>,
    S::Future: Send + 'a,
{
    lambda_http::lambda_runtime::run(crate::guard::Guard(lambda_http::Adapter::from(service))).await
}
