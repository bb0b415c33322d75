//! The VideoSDK REST calls that VideoSDK's official client apps make with their participant token
//! (`POST /v2/rooms`, `GET|POST /v2/rooms/validate/{roomId}`, `GET /v2/sessions`,
//! `GET /v2/hls/{roomId}/active`, and the agent starter apps' `POST /v2/agent/dispatch` and
//! `GET /ai/v1/agents/{agentId}/versions`), answered by this API so the apps can keep `rtc`
//! tokens: which of those routes a request is, and who may call it (the bearer of a token this
//! API issued).
//!
//! Not the upstream calls: those are `videosdk::*`, made with the server's own management token.
//! The client's token is verified here and never forwarded.

use lambda_http::Request;
use lambda_http::http::header;

use crate::claims::{self, Claims, VerifyError};
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::secret::SecretStore;

/// One of the client apps' REST routes. Room ids are as the path gave them (percent-decoded),
/// not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRoute {
    /// `POST /v2/rooms`
    CreateRoom,
    /// `GET /v2/rooms/validate/{roomId}`
    ValidateRoom(String),
    /// `GET /v2/sessions?roomId=…` (also `/v2/sessions/`, as the Android apps send it)
    Sessions,
    /// `GET /v2/hls/{roomId}/active`
    HlsActive(String),
    /// `POST /v2/agent/dispatch`
    DispatchAgent,
    /// `GET /ai/v1/agents/{agentId}/versions`
    AgentVersions(String),
}

/// Longest `Authorization` value looked at; our tokens are well under 1 KiB.
const MAX_TOKEN_BYTES: usize = 4096;

impl ClientRoute {
    /// The route `path` names, `None` for a path outside `/v2/` (the API's own routes), and a
    /// 404 for a `/v2/` path that is none of the client routes. Any prefix (a stage name,
    /// `/lambda-url/<name>`) before the last `/v2/` is ignored.
    pub fn of_path(path: &str) -> Option<Result<ClientRoute, ApiError>> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        // `/ai/v1/agents/{agentId}/versions`, after any prefix (the agent id may be anything).
        let ai = segments.windows(3).position(|w| w == ["ai", "v1", "agents"]);
        if let Some(at) = ai {
            return Some(match &segments[at + 3..] {
                [id, "versions"] => Ok(ClientRoute::AgentVersions(decode(id))),
                _ => Err(not_served()),
            });
        }
        let v2 = segments.iter().rposition(|s| *s == "v2")?;
        let rest = &segments[v2 + 1..];
        if !matches!(rest.first(), Some(&("rooms" | "sessions" | "hls" | "agent"))) {
            return None;
        }
        Some(match rest {
            ["rooms"] => Ok(ClientRoute::CreateRoom),
            ["rooms", "validate", id] => Ok(ClientRoute::ValidateRoom(decode(id))),
            ["sessions"] => Ok(ClientRoute::Sessions),
            ["hls", id, "active"] => Ok(ClientRoute::HlsActive(decode(id))),
            ["agent", "dispatch"] => Ok(ClientRoute::DispatchAgent),
            _ => Err(not_served()),
        })
    }

    /// The route of `req`, if it is one of the client routes.
    pub fn of(req: &Request) -> Option<Result<ClientRoute, ApiError>> {
        ClientRoute::of_path(req.uri().path())
    }
}

/// A `/v2/` path this API does not answer.
pub fn not_served() -> ApiError {
    ApiError::NotFound(
        "This API answers POST /v2/rooms, GET /v2/rooms/validate/{roomId}, GET /v2/sessions?roomId=, \
         GET /v2/hls/{roomId}/active, POST /v2/agent/dispatch and GET /ai/v1/agents/{agentId}/versions; other \
         VideoSDK REST calls are not served."
            .into(),
    )
}

/// The verified claims of the participant token the caller sent as `Authorization: <token>`
/// (a `Bearer ` prefix is tolerated). A token signed with a secret this container has not read
/// yet (rotation: issued after the secret in hand was read) triggers one bounded re-read of the
/// secret, at most once per [`crate::secret::TOKEN_REFRESH_INTERVAL`]; older or forged tokens
/// are refused at once.
pub async fn authenticate(req: &Request, secrets: &SecretStore) -> Result<Claims, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().map(str::trim));
    let token = match value {
        None | Some(Ok("")) => {
            return Err(ApiError::Unauthenticated(
                "Send the token from /get-token as the Authorization header (the raw token, as VideoSDK's REST API \
                 takes it)."
                    .into(),
            ));
        }
        Some(Err(_)) => return Err(refused(VerifyError::Malformed)),
        Some(Ok(v)) => strip_bearer(v),
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(refused(VerifyError::Malformed));
    }
    let credentials = secrets.current().await?;
    match claims::verify(token, &credentials) {
        Err(VerifyError::Signature) => {
            let newer = secrets.refresh_for_token(&credentials, claims::issued_at_unverified(token)).await?;
            if *newer == *credentials {
                return Err(refused(VerifyError::Signature));
            }
            claims::verify(token, &newer).map_err(refused)
        }
        other => other.map_err(refused),
    }
}

fn strip_bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

fn refused(why: VerifyError) -> ApiError {
    ApiError::Unauthenticated(format!(
        "The Authorization token was not accepted: {why}. Get a new one from /get-token."
    ))
}

/// A token bound to a room (`roomId` claim) acts on that room only.
pub fn require_room(claims: &Claims, room: &RoomId) -> Result<(), ApiError> {
    match claims.room_id.as_deref() {
        Some(bound) if bound != room.as_str() => Err(ApiError::Forbidden(format!(
            "This token is for room {bound} only; get a token without roomId (or for {}) from /get-token.",
            room.as_str()
        ))),
        _ => Ok(()),
    }
}

/// Who a `/v2/…` or `/ai/v1/…` call counts against: `sub:<participantId>` when tokens are
/// minted for signed-in callers (`TOKEN_CALLER_AUTH`, by default `CALLER_AUTH`, is `jwt`: the
/// token's `participantId` is the caller's `sub`, the key `/dispatch-agent` counts that caller
/// by), else the source IP (an anonymous caller chooses its `participantId`).
pub fn rate_key(req: &Request, token: &Claims, config: &crate::config::Config) -> String {
    match (config.token_caller_auth, token.participant_id.as_deref().map(str::trim)) {
        (crate::config::CallerAuth::Jwt, Some(id)) if !id.is_empty() => format!("sub:{id}"),
        _ => crate::caller::source_ip_key(req),
    }
}

/// Parses a room id from the path, naming the field `roomId`.
pub fn room_id(raw: &str) -> Result<RoomId, ApiError> {
    RoomId::parse(raw).map_err(|e| ApiError::invalid("roomId", format!("roomId {e}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_routes_are_found_after_any_prefix() {
        let cases: &[(&str, Option<ClientRoute>)] = &[
            ("/v2/rooms", Some(ClientRoute::CreateRoom)),
            ("/lambda-url/create-meeting/v2/rooms", Some(ClientRoute::CreateRoom)),
            ("/prod/v2/rooms/", Some(ClientRoute::CreateRoom)),
            ("/v2/rooms/validate/abcd-efgh-ijkl", Some(ClientRoute::ValidateRoom("abcd-efgh-ijkl".into()))),
            ("/v2/rooms/validate/a%2Fb", Some(ClientRoute::ValidateRoom("a/b".into()))),
            ("/v2/sessions", Some(ClientRoute::Sessions)),
            ("/v2/sessions/", Some(ClientRoute::Sessions)),
            ("/v2/hls/abcd-efgh-ijkl/active", Some(ClientRoute::HlsActive("abcd-efgh-ijkl".into()))),
            ("/v2/agent/dispatch", Some(ClientRoute::DispatchAgent)),
            ("/prod/v2/agent/dispatch/", Some(ClientRoute::DispatchAgent)),
            ("/ai/v1/agents/tutor/versions", Some(ClientRoute::AgentVersions("tutor".into()))),
            ("/lambda-url/dispatch-agent/ai/v1/agents/a%2Fb/versions", Some(ClientRoute::AgentVersions("a/b".into()))),
            ("/ai/v1/agents/v2/versions", Some(ClientRoute::AgentVersions("v2".into()))),
        ];
        for (path, expected) in cases {
            assert_eq!(ClientRoute::of_path(path).map(Result::unwrap), *expected, "{path}");
        }
    }

    #[test]
    fn the_api_s_own_routes_are_not_client_routes() {
        for path in ["/get-token", "/validate-meeting/abc", "/validate-meeting/v2", "/v2/validate-meeting/abc", "/"] {
            assert!(ClientRoute::of_path(path).is_none(), "{path}");
        }
    }

    #[test]
    fn other_videosdk_paths_are_not_served() {
        for path in [
            "/v2/rooms/validate",
            "/v2/rooms/validate/",
            "/v2/rooms/abc",
            "/v2/hls/abc",
            "/v2/hls/start",
            "/v2/agent/connect",
            "/v2/agent/general/dispatch",
            "/v2/agent/init-config",
            "/ai/v1/agents/tutor",
            "/ai/v1/agents/tutor/versions/v1",
        ] {
            let err = ClientRoute::of_path(path).unwrap().unwrap_err();
            assert_eq!(err.code(), "not_found", "{path}");
        }
    }

    #[test]
    fn bearer_prefix_is_tolerated() {
        assert_eq!(strip_bearer("Bearer abc.def.ghi"), "abc.def.ghi");
        assert_eq!(strip_bearer("bearer  abc"), "abc");
        assert_eq!(strip_bearer("abc.def.ghi"), "abc.def.ghi");
    }
}
