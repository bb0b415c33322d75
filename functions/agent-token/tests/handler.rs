//! `agent-token`: IAM principals only, the agent payload (no role, always `version: 2`),
//! and a lifetime of at most an hour.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use shared::Uses;
use testkit::{Event, SECRET, assert_logged, body_json, capture_logs, event_file, leak, state};

const ROLE: &str = "arn:aws:sts::123456789012:assumed-role/videosdk-agent/i-0abc123def4567890";

fn post(body: Value) -> Event {
    Event::post("/agent-token").json(body)
}

/// `event` with the IAM identity API Gateway adds for an `AWS_IAM` route.
fn signed_by(event: &Event, user_arn: Option<&str>, caller_id: Option<&str>) -> lambda_http::Request {
    let mut json = event.to_json();
    json["requestContext"]["authorizer"] =
        json!({"iam": {"accountId": "123456789012", "userArn": user_arn, "callerId": caller_id}});
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

fn payload(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims = ["exp", "iat"].into_iter().map(String::from).collect();
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(SECRET.as_bytes()), &validation).unwrap().claims
}

#[tokio::test]
async fn iam_callers_get_the_agent_payload() {
    for caller_auth in ["jwt", "none"] {
        let state = leak(state(Uses::TokensOnly, &[("CALLER_AUTH", caller_auth)]).await);
        let response = agent_token::handler(state, signed_by(&post(json!({})), Some(ROLE), None)).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{caller_auth}: {body}");
        let claims = payload(body["token"].as_str().unwrap());
        let keys: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["apikey", "exp", "iat", "jti", "permissions", "version"], "no roles, no roomId");
        assert_eq!(claims["version"], 2, "version 2 without a room too, as the agents SDK mints its own");
        assert_eq!(claims["permissions"], json!(["allow_join"]));
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600, "default: the maximum");
        assert_eq!(body["expiresIn"], 3600);

        let with_room = post(json!({"roomId": "abcd-efgh-ijkl", "permissions": "ask_join", "ttl": 120}));
        let response = agent_token::handler(state, signed_by(&with_room, None, Some("AROAEXAMPLE:agent"))).await;
        let claims = payload(body_json(&response)["token"].as_str().unwrap());
        assert_eq!(claims["version"], 2);
        assert_eq!(claims["roomId"], "abcd-efgh-ijkl");
        assert_eq!(claims["permissions"], json!(["ask_join"]));
        assert!(claims.get("roles").is_none());
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 120);
    }
}

#[tokio::test]
async fn the_stored_events_answer_as_the_contract_says() {
    let state = leak(state(Uses::TokensOnly, &[]).await);
    let response = agent_token::handler(state, event_file("agent-token.json")).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["expiresIn"], 1800);
    assert_eq!(payload(body["token"].as_str().unwrap())["roomId"], "abcd-efgh-ijkl");
    for file in ["agent-token-jwt-caller.json", "agent-token-no-identity.json"] {
        let response = agent_token::handler(state, event_file(file)).await;
        assert_eq!(response.status(), 401, "{file}");
        assert_eq!(body_json(&response)["error"]["code"], "unauthenticated");
    }
}

#[tokio::test]
async fn callers_without_an_iam_identity_are_refused() {
    let jwt = leak(state(Uses::TokensOnly, &[]).await);
    let none = leak(state(Uses::TokensOnly, &[("CALLER_AUTH", "none")]).await);
    let allowed = leak(state(Uses::TokensOnly, &[("CALLER_AUTH", "none"), ("ANONYMOUS_AGENT_TOKENS", "allow")]).await);
    let moderator = post(json!({})).user("mod-1", Some("[videosdk-moderators]"));
    for (name, state, event, status) in [
        ("jwt: no identity", jwt, post(json!({})).request(), 401),
        ("jwt: a JWT moderator is not an IAM principal", jwt, moderator.request(), 401),
        ("jwt: empty IAM context", jwt, signed_by(&post(json!({})), Some(" "), None), 401),
        ("none: no identity", none, post(json!({})).request(), 403),
        ("none: a JWT moderator", none, moderator.request(), 403),
        ("none + ANONYMOUS_AGENT_TOKENS=allow", allowed, post(json!({})).request(), 200),
    ] {
        let response = agent_token::handler(state, event).await;
        assert_eq!(response.status(), status, "{name}: {}", body_json(&response));
    }
}

#[tokio::test]
async fn bad_input_is_a_client_error() {
    let state = leak(state(Uses::TokensOnly, &[("AGENT_TOKEN_MAX_TTL_SECONDS", "600")]).await);
    for (name, event, status, code) in [
        ("ttl over the maximum", post(json!({"ttl": 601})), 400, "invalid_field"),
        ("ttl under a minute", post(json!({"ttl": 59})), 400, "invalid_field"),
        ("allow_mod", post(json!({"permissions": ["allow_mod"]})), 400, "invalid_field"),
        ("two permissions", post(json!({"permissions": ["allow_join", "ask_join"]})), 400, "invalid_field"),
        ("roomId a/b", post(json!({"roomId": "a/b"})), 400, "invalid_field"),
        ("participantId", post(json!({"participantId": "agent"})), 400, "unknown_field"),
        ("roles", post(json!({"roles": ["crawler"]})), 400, "unknown_field"),
        ("malformed", Event::post("/agent-token").body("{"), 400, "malformed_json"),
        ("GET", Event::get("/agent-token"), 405, "method_not_allowed"),
    ] {
        let response = agent_token::handler(state, signed_by(&event, Some(ROLE), None)).await;
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(body_json(&response)["error"]["code"], code, "{name}");
    }
    let response = agent_token::handler(state, signed_by(&post(json!({})), Some(ROLE), None)).await;
    assert_eq!(body_json(&response)["expiresIn"], 600, "the configured maximum is the default");
}

#[tokio::test]
async fn the_mint_log_names_the_iam_principal_never_the_token() {
    let (logs, _guard) = capture_logs();
    let state = leak(state(Uses::TokensOnly, &[]).await);
    let response = agent_token::handler(state, signed_by(&post(json!({"roomId": "room-5"})), Some(ROLE), None)).await;
    let token = body_json(&response)["token"].as_str().unwrap().to_owned();
    assert_logged(&logs, "issued an agent token", &[ROLE, "room_id=\"room-5\"", "jti="]);
    assert!(!logs.text().contains(&token));
}
