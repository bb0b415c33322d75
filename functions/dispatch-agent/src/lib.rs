//! `dispatch-agent`: brings one of the operator's AI agents into a room (contract:
//! "dispatch-agent"). Two faces on one binary:
//! - `POST /dispatch-agent` in this API's envelope, for teams' own apps (JWT callers);
//! - `POST /v2/agent/dispatch` and `GET /ai/v1/agents/{agentId}/versions` in VideoSDK's shapes,
//!   for VideoSDK's agent starter apps, authenticated by a participant token of this API.
//!
//! Only agents listed in `AGENTS` are dispatched (a pinned agent refuses any other version), for
//! at most `AGENT_SESSION_MAX_SECONDS`; `sipOptions` (a phone call), `roomOptions` and `wait` are
//! never taken from a client. Where tokens are minted for anonymous callers (`CALLER_AUTH=none`),
//! all three routes need `ANONYMOUS_AGENT_DISPATCH=allow`. Each dispatch counts against the
//! caller's `agent` limit and the account's `agent` budget.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

use shared::caller::Caller;
use shared::claims::Permission;
use shared::client_api::{self, ClientRoute};
use shared::config::{Action, AllowedAgent, CallerAuth, Config, OptIn};
use shared::http::{self, ApiError, Fields, ok, require_method, respond, respond_as_videosdk};
use shared::ids::RoomId;
use shared::videosdk::agents::{self, Dispatch, RoomOptions};
use shared::{State, caller};

/// Longest `metadata`, serialised.
pub const MAX_METADATA_BYTES: usize = 4096;

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    match ClientRoute::of(&req) {
        None => respond(dispatch_agent(state, &req).await),
        Some(route) => respond_as_videosdk(match route {
            Ok(ClientRoute::DispatchAgent) => dispatch_for_app(state, &req).await,
            Ok(ClientRoute::AgentVersions(agent)) => versions(state, &req, &agent).await,
            Ok(_) => Err(client_api::not_served()),
            Err(e) => Err(e),
        }),
    }
}

/// `POST /dispatch-agent`: signed-in callers; anonymous ones only with `ANONYMOUS_AGENT_DISPATCH=allow`.
async fn dispatch_agent(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::POST])?;
    let caller = caller::identify(req, &state.config)?;
    if caller == Caller::Anonymous {
        anonymous_dispatch_allowed(state.config.caller_auth, &state.config)?;
    }
    let (_, body) = parse(Fields::from_body(req)?, &state.config)?;
    let job_id = dispatch(state, &caller::rate_key(req), &body, caller.audit_name(), None).await?;
    Ok(ok(&json!({
        "roomId": body.room_id,
        "agentId": body.agent_id,
        "versionId": body.version_id,
        "dispatched": true,
        "jobId": job_id,
    })))
}

/// Where callers are anonymous (`auth` is `none`: this function's `CALLER_AUTH` for its own
/// route, `TOKEN_CALLER_AUTH` for the tokens the apps' routes take), agents are dispatched for
/// them only with the operator's `ANONYMOUS_AGENT_DISPATCH=allow`: 403 otherwise.
fn anonymous_dispatch_allowed(auth: CallerAuth, config: &Config) -> Result<(), ApiError> {
    if auth == CallerAuth::Jwt || config.anonymous.allows(OptIn::AgentDispatch) {
        return Ok(());
    }
    Err(ApiError::Forbidden(
        "Anonymous callers may not dispatch agents (each one costs agent and model minutes). Sign callers in \
         (CALLER_AUTH=jwt), or the operator can set ANONYMOUS_AGENT_DISPATCH=allow (template parameter \
         AnonymousAgentDispatch=allow)."
            .into(),
    ))
}

/// `POST /v2/agent/dispatch` with a participant token; a token bound to a room dispatches into
/// that room only, and a lobby token (`ask_join` only) not at all.
async fn dispatch_for_app(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::POST])?;
    let token = client_api::authenticate(req, &state.secrets).await?;
    anonymous_dispatch_allowed(state.config.token_caller_auth, &state.config)?;
    if !token.permissions.iter().any(|p| matches!(p, Permission::AllowJoin | Permission::AllowMod)) {
        return Err(ApiError::Forbidden(
            "This token may only ask to join (ask_join): it cannot dispatch agents. Wait to be admitted, with a \
             token that holds allow_join."
                .into(),
        ));
    }
    let (room, body) = parse(Fields::from_body(req)?, &state.config)?;
    client_api::require_room(&token, &room)?;
    let caller = token.participant_id.as_deref().unwrap_or("a participant token");
    let key = client_api::rate_key(req, &token, &state.config);
    let job_id = dispatch(state, &key, &body, caller, Some(&token.jti)).await?;
    Ok(ok(&json!({
        "message": "Agent dispatched",
        "data": {"success": true, "roomId": body.room_id, "agentId": body.agent_id, "jobId": job_id},
    })))
}

/// Counts the dispatch against `key`'s `agent` limit and the `agent` budget, then sends it (the
/// budget given back when VideoSDK refuses it).
async fn dispatch(
    state: &State,
    key: &str,
    body: &Dispatch,
    caller: &str,
    jti: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let send = agents::dispatch(state.videosdk()?, &state.secrets, body);
    let job_id = state.spend(key, Action::Agent, send).await?;
    shared::metrics::agent_dispatched();
    shared::tracing::info!(
        caller = ?caller,
        jti = jti.unwrap_or("none"),
        room_id = ?body.room_id,
        agent_id = ?body.agent_id,
        version = ?body.version_id.as_deref().or(body.version_tag.as_deref()).unwrap_or("latest"),
        job_id = ?job_id.as_deref().unwrap_or("none"),
        "dispatched an agent"
    );
    Ok(job_id)
}

/// One agent's version list as answered: (the state it was asked for, the agent), when, the list.
type CachedVersions = ((usize, String), Instant, Value);

/// How long an unpinned agent's version list is answered from this container's cache.
pub const VERSIONS_CACHE: Duration = Duration::from_secs(60);

/// `GET /ai/v1/agents/{agentId}/versions`: a pinned agent's one version without calling
/// VideoSDK; otherwise VideoSDK's list with three fields per version, asked at most once a
/// minute per agent and container.
async fn versions(state: &State, req: &Request, agent: &str) -> Result<Response<Body>, ApiError> {
    require_method(req, &[Method::GET])?;
    client_api::authenticate(req, &state.secrets).await?;
    anonymous_dispatch_allowed(state.config.token_caller_auth, &state.config)?;
    Fields::from_query(req)?.finish()?;
    let allowed = listed(&state.config, agent)?;
    if let Some(pinned) = &allowed.pinned_version {
        return Ok(ok(&json!({"versions": [{"versionId": pinned}]})));
    }
    // Keyed by the container's state (one per process; the tests build many) and the agent: one
    // entry per listed agent (AGENTS bounds it).
    static CACHE: Mutex<Vec<CachedVersions>> = Mutex::new(Vec::new());
    let key = (std::ptr::from_ref(state) as usize, allowed.id.clone());
    let hit = {
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        cache.iter().find(|(k, at, _)| *k == key && at.elapsed() < VERSIONS_CACHE).map(|e| e.2.clone())
    };
    if let Some(list) = hit {
        return Ok(ok(&list));
    }
    let list = agents::versions_of(&agents::versions(state.videosdk()?, &state.secrets, &allowed.id).await?);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|(k, _, _)| *k != key);
    cache.push((key, Instant::now(), list.clone()));
    Ok(ok(&list))
}

/// The agent, if the operator lists it in `AGENTS`.
fn listed<'a>(config: &'a Config, agent: &str) -> Result<&'a AllowedAgent, ApiError> {
    config.agents.find(agent).ok_or_else(|| {
        ApiError::AgentNotAllowed(format!(
            "Agent {:?} cannot be dispatched through this server; the operator lists the agents apps may use in \
             AGENTS.",
            agent.chars().take(128).collect::<String>()
        ))
    })
}

/// The room and the dispatch body: the caller's room, agent, version and metadata, within the
/// operator's `AGENTS` and session bound. Any other field (`sipOptions`, `roomOptions`, `wait`) is 400.
fn parse(mut fields: Fields, config: &Config) -> Result<(RoomId, Dispatch), ApiError> {
    let room = fields.take_aliased(["meetingId", "roomId"], http::room_id)?.ok_or_else(|| {
        ApiError::invalid("meetingId", "meetingId (the room to dispatch the agent into) is required.")
    })?;
    let agent_id = fields.take_str("agentId")?.ok_or_else(|| ApiError::invalid("agentId", "agentId is required."))?;
    let version_id = take_version(&mut fields, "versionId")?;
    let version_tag = take_version(&mut fields, "versionTag")?;
    let metadata = fields.take("metadata").map(metadata).transpose()?;
    fields.finish()?;

    let agent = listed(config, &agent_id)?;
    let (version_id, version_tag) = match &agent.pinned_version {
        None => (version_id, version_tag),
        Some(pinned) => {
            if let Some(other) = [&version_id, &version_tag].into_iter().flatten().find(|v| *v != pinned) {
                return Err(ApiError::AgentVersionNotAllowed(format!(
                    "Version {other:?} of agent {agent_id:?} cannot be dispatched: the operator pinned version \
                     {pinned:?}. Omit the version, or name that one."
                )));
            }
            (Some(pinned.clone()), None)
        }
    };
    let body = Dispatch {
        agent_id: agent.id.clone(),
        meeting_id: room.as_str().to_owned(),
        room_id: room.as_str().to_owned(),
        version_id,
        version_tag,
        metadata,
        room_options: RoomOptions { session_timeout_seconds: config.agents.session_max_seconds },
    };
    Ok((room, body))
}

/// `versionId` or `versionTag`: 1–128 characters from `A–Z a–z 0–9 - _ .`.
fn take_version(fields: &mut Fields, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = fields.take_str(name)? else { return Ok(None) };
    RoomId::parse(&value).map_err(|e| ApiError::invalid(name, format!("{name} {e}.")))?;
    Ok(Some(value))
}

/// `metadata`: a JSON object of at most [`MAX_METADATA_BYTES`] serialised, handed to the agent.
fn metadata(value: Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid("metadata", "metadata must be a JSON object."));
    };
    let size = serde_json::to_vec(&map).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(ApiError::invalid(
            "metadata",
            format!("metadata may hold at most {MAX_METADATA_BYTES} bytes of JSON ({size} given)."),
        ));
    }
    Ok(map)
}
