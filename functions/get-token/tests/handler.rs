//! `get-token` through real API Gateway events parsed by `lambda_http`: every bad input gets
//! its 4xx envelope, and good requests get tokens whose decoded claims are asserted.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use shared::claims::Claims;
use shared::{State, Uses};
use testkit::{API_KEY, Event, SECRET, assert_logged, body_json, capture_logs, event_file, state};

/// Environment variables for one case.
type Vars = &'static [(&'static str, &'static str)];

const NONE: Vars = &[("CALLER_AUTH", "none")];
const JWT: Vars = &[];

async fn call(
    vars: &[(&str, &str)],
    event: lambda_http::Request,
) -> (u16, Value, lambda_http::Response<lambda_http::Body>) {
    let state: State = state(Uses::TokensOnly, vars).await;
    let response = get_token::handler(&state, event).await;
    (response.status().as_u16(), body_json(&response), response)
}

fn decode(token: &str) -> Claims {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims = ["exp", "iat"].into_iter().map(String::from).collect();
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(SECRET.as_bytes()), &validation)
        .expect("token verifies with the secret")
        .claims
}

fn get(query: &str) -> Event {
    Event::get("/get-token").query(query)
}

fn post(body: &str) -> Event {
    Event::post("/get-token").body(body)
}

#[tokio::test]
async fn bad_inputs_get_their_4xx_envelope() {
    let long = "a".repeat(129);
    let big_body = format!("{{\"roomId\": \"{}\"}}", "a".repeat(17 * 1024));
    let cases: Vec<(&str, Vars, Event, u16, &str)> = vec![
        ("malformed json", NONE, post("{\"roomId\": "), 400, "malformed_json"),
        ("json array body", NONE, post("[\"allow_join\"]"), 400, "malformed_json"),
        ("json string body", NONE, post("\"hello\""), 400, "malformed_json"),
        ("roomId a number", NONE, post(r#"{"roomId": 42}"#), 400, "invalid_field"),
        ("roomId an object", NONE, post(r#"{"roomId": {"id": "a"}}"#), 400, "invalid_field"),
        ("participantId a number", NONE, post(r#"{"participantId": 7}"#), 400, "invalid_field"),
        ("permissions a number", NONE, post(r#"{"permissions": 1}"#), 400, "invalid_field"),
        ("permissions holding a number", NONE, post(r#"{"permissions": [1]}"#), 400, "invalid_field"),
        ("unknown permission", NONE, post(r#"{"permissions": ["allow_everything"]}"#), 400, "invalid_field"),
        ("unknown permission in query", NONE, get("permissions=allow_join,superuser"), 400, "invalid_field"),
        ("uppercase permission", NONE, post(r#"{"permissions": ["ALLOW_JOIN"]}"#), 400, "invalid_field"),
        ("empty permissions", NONE, post(r#"{"permissions": []}"#), 400, "invalid_field"),
        ("ask_join + allow_join", NONE, post(r#"{"permissions": ["ask_join", "allow_join"]}"#), 400, "invalid_field"),
        ("ask_join + allow_join in query", NONE, get("permissions=ask_join,allow_join"), 400, "invalid_field"),
        ("ttl 0", NONE, post(r#"{"ttl": 0}"#), 400, "invalid_field"),
        ("ttl 59", NONE, post(r#"{"ttl": 59}"#), 400, "invalid_field"),
        ("ttl 59 in query", NONE, get("ttl=59"), 400, "invalid_field"),
        ("ttl over max", NONE, post(r#"{"ttl": 86401}"#), 400, "invalid_field"),
        (
            "ttl over a lowered max",
            &[("CALLER_AUTH", "none"), ("TOKEN_MAX_TTL_SECONDS", "3600")],
            get("ttl=3601"),
            400,
            "invalid_field",
        ),
        ("ttl not a number", NONE, post(r#"{"ttl": "ten"}"#), 400, "invalid_field"),
        ("ttl not a number in query", NONE, get("ttl=ten"), 400, "invalid_field"),
        ("ttl negative", NONE, post(r#"{"ttl": -60}"#), 400, "invalid_field"),
        ("ttl fractional", NONE, post(r#"{"ttl": 60.5}"#), 400, "invalid_field"),
        ("roomId with slash", NONE, get("roomId=a%2Fb"), 400, "invalid_field"),
        ("roomId with dot-dot slash", NONE, post(r#"{"roomId": "../x"}"#), 400, "invalid_field"),
        ("roomId with space", NONE, get("roomId=a%20b"), 400, "invalid_field"),
        ("roomId 129 chars", NONE, post(&format!("{{\"roomId\": \"{long}\"}}")), 400, "invalid_field"),
        ("roomId empty", NONE, post(r#"{"roomId": ""}"#), 400, "invalid_field"),
        ("participantId with whitespace", NONE, post(r#"{"participantId": "a b"}"#), 400, "invalid_field"),
        ("participantId with tab", NONE, post(r#"{"participantId": "a\tb"}"#), 400, "invalid_field"),
        ("peerId with newline", NONE, post(r#"{"peerId": "a\nb"}"#), 400, "invalid_field"),
        ("participantId 129 chars", NONE, get(&format!("participantId={long}")), 400, "invalid_field"),
        (
            "participantId and peerId differ",
            NONE,
            post(r#"{"participantId": "a", "peerId": "b"}"#),
            400,
            "invalid_field",
        ),
        ("unknown body field", NONE, post(r#"{"room": "abc"}"#), 400, "unknown_field"),
        ("unknown query parameter", NONE, get("roomid=abc"), 400, "unknown_field"),
        ("repeated query parameter", NONE, get("roomId=a&roomId=b"), 400, "invalid_field"),
        ("body over 16 KiB", NONE, post(&big_body), 413, "payload_too_large"),
        ("PUT", NONE, Event::new("PUT", "/get-token"), 405, "method_not_allowed"),
        ("DELETE", NONE, Event::new("DELETE", "/get-token"), 405, "method_not_allowed"),
        ("no authorizer under jwt", JWT, get(""), 401, "unauthenticated"),
        (
            "claims without sub under jwt",
            JWT,
            get("").claims(json!({"iss": "x", "cognito:groups": "[videosdk-moderators]"})),
            401,
            "unauthenticated",
        ),
        ("empty sub under jwt", JWT, get("").claims(json!({"sub": " "})), 401, "unauthenticated"),
        ("someone else's participantId", JWT, get("participantId=user-2").user("user-1", None), 403, "forbidden"),
        ("someone else's peerId", JWT, post(r#"{"peerId": "user-2"}"#).user("user-1", None), 403, "forbidden"),
        (
            "allow_mod for a non-moderator",
            JWT,
            post(r#"{"permissions": ["allow_join", "allow_mod"]}"#).user("user-1", Some("[staff]")),
            403,
            "forbidden",
        ),
        (
            "allow_mod for a substring group",
            JWT,
            get("permissions=allow_mod").user("user-1", Some("[videosdk-moderators-trainee]")),
            403,
            "forbidden",
        ),
        ("allow_mod for an anonymous caller", NONE, get("permissions=allow_mod"), 403, "forbidden"),
        (
            "ask_join when anonymous may only allow_join",
            &[("CALLER_AUTH", "none"), ("ANONYMOUS_PERMISSIONS", "allow_join")],
            get("permissions=ask_join"),
            403,
            "forbidden",
        ),
    ];
    assert!(cases.len() >= 30);
    for (name, vars, event, status, code) in cases {
        let (got_status, body, response) = call(vars, event.request()).await;
        assert_eq!(got_status, status, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
        assert!(body.get("token").is_none(), "{name}");
    }
}

#[tokio::test]
async fn wrong_method_names_the_allowed_ones() {
    let (_, body, response) = call(NONE, Event::new("PATCH", "/get-token").request()).await;
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert_eq!(body["error"]["details"]["allowed"], json!(["GET", "POST"]));
}

#[tokio::test]
async fn anonymous_get_with_nothing_gets_a_default_token() {
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (status, body, response) = call(NONE, get("").request()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let claims = decode(body["token"].as_str().unwrap());
    assert_eq!(claims.apikey, API_KEY);
    assert_eq!(claims.permissions, vec![shared::claims::Permission::AllowJoin]);
    assert_eq!(claims.version, Some(2));
    assert_eq!(claims.roles, Some(vec![shared::claims::Role::Rtc]));
    assert_eq!(claims.room_id, None);
    assert_eq!(claims.participant_id, None);
    assert_eq!(claims.exp - claims.iat, 900);
    assert!(claims.iat >= before);
    assert!(uuid_like(&claims.jti));
    assert_eq!(body["expiresIn"], 900);
    assert_eq!(body["expiresAt"], shared::claims::rfc3339_utc(claims.exp));
}

#[tokio::test]
async fn post_body_sets_room_participant_permissions_and_ttl() {
    let event = post(r#"{"roomId": "abcd-efgh-ijkl", "peerId": "guest-42", "permissions": ["ask_join"], "ttl": 120}"#);
    let (status, body, _) = call(NONE, event.request()).await;
    assert_eq!(status, 200, "{body}");
    let claims = decode(body["token"].as_str().unwrap());
    assert_eq!(claims.room_id.as_deref(), Some("abcd-efgh-ijkl"));
    assert_eq!(claims.participant_id.as_deref(), Some("guest-42"));
    assert_eq!(claims.permissions, vec![shared::claims::Permission::AskJoin]);
    assert_eq!(claims.exp - claims.iat, 120);
    assert_eq!(body["expiresIn"], 120);
}

#[tokio::test]
async fn query_accepts_comma_separated_and_json_array_permissions() {
    for query in ["permissions=ask_join", "permissions=%5B%22ask_join%22%5D", "permissions=ask_join,ask_join"] {
        let (status, body, _) = call(NONE, get(query).request()).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(decode(body["token"].as_str().unwrap()).permissions, vec![shared::claims::Permission::AskJoin]);
    }
}

#[tokio::test]
async fn ttl_bounds_are_inclusive() {
    for ttl in [60, 86_400] {
        let (status, body, _) = call(JWT, get(&format!("ttl={ttl}")).user("user-1", None).request()).await;
        assert_eq!(status, 200, "{body}");
        let claims = decode(body["token"].as_str().unwrap());
        assert_eq!(claims.exp - claims.iat, ttl);
    }
}

#[tokio::test]
async fn anonymous_callers_get_at_most_an_hour() {
    for ttl in [60, 3600] {
        let (status, body, _) = call(NONE, get(&format!("ttl={ttl}")).request()).await;
        assert_eq!(status, 200, "{body}");
        let claims = decode(body["token"].as_str().unwrap());
        assert_eq!(claims.exp - claims.iat, ttl);
    }
    let (status, body, _) = call(NONE, get("ttl=3601").request()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_field")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("3600 seconds for anonymous callers"), "{body}");
    // The cap also bounds the default, and the operator may set it.
    let long_default = &[("CALLER_AUTH", "none"), ("TOKEN_DEFAULT_TTL_SECONDS", "7200")];
    let (_, body, _) = call(long_default, get("").request()).await;
    assert_eq!(body["expiresIn"], 3600);
    let (_, body, _) = call(JWT, get("").user("user-1", None).request()).await;
    assert_eq!(body["expiresIn"], 900);
    let two_hours = &[("CALLER_AUTH", "none"), ("ANONYMOUS_MAX_TTL_SECONDS", "7200")];
    let (status, body, _) = call(two_hours, get("ttl=7200").request()).await;
    assert_eq!((status, body["expiresIn"].as_u64()), (200, Some(7200)), "{body}");
}

#[tokio::test]
async fn signed_in_user_is_bound_to_its_sub() {
    let (status, body, _) = call(JWT, get("roomId=room-1").user("user-1", Some("[staff]")).request()).await;
    assert_eq!(status, 200, "{body}");
    let claims = decode(body["token"].as_str().unwrap());
    assert_eq!(claims.participant_id.as_deref(), Some("user-1"));
    assert_eq!(claims.permissions, vec![shared::claims::Permission::AllowJoin]);
    // Naming one's own id explicitly is fine.
    let (status, _, _) = call(JWT, get("participantId=user-1").user("user-1", None).request()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn moderators_get_allow_mod_in_api_gateway_s_group_claim_shape() {
    for groups in ["[staff videosdk-moderators]", "[videosdk-moderators]", "videosdk-moderators"] {
        for claim in ["cognito:groups", "groups"] {
            let event =
                post(r#"{"permissions": "allow_join,allow_mod"}"#).claims(json!({"sub": "mod-1", claim: groups}));
            let (status, body, _) = call(JWT, event.request()).await;
            assert_eq!(status, 200, "{claim}={groups}: {body}");
            let claims = decode(body["token"].as_str().unwrap());
            assert!(claims.permissions.contains(&shared::claims::Permission::AllowMod));
        }
    }
}

#[tokio::test]
async fn members_of_look_alike_groups_are_not_moderators() {
    // A JSON array names groups exactly (`["staff","videosdk-moderators"]` is a moderator, per the
    // contract); these only look like the group.
    for groups in ["[ops,videosdk-moderators]", r#"["staff,videosdk-moderators"]"#, "['videosdk-moderators']"] {
        let event =
            post(r#"{"permissions": "allow_join,allow_mod"}"#).claims(json!({"sub": "u-1", "cognito:groups": groups}));
        let (status, body, _) = call(JWT, event.request()).await;
        assert_eq!(status, 403, "{groups}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
}

#[tokio::test]
async fn custom_moderator_group_is_honoured() {
    let vars = &[("MODERATOR_GROUP", "hosts")];
    let ask = r#"{"permissions": ["allow_join", "allow_mod"]}"#;
    let (status, _, _) = call(vars, post(ask).user("u", Some("[hosts]")).request()).await;
    assert_eq!(status, 200);
    let (status, _, _) = call(vars, post(ask).user("u", Some("[videosdk-moderators]")).request()).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn role_less_mode_issues_tokens_without_roles() {
    let vars = &[("PARTICIPANT_TOKEN_ROLE", "none")];
    let (status, body, _) = call(vars, get("").user("user-1", None).request()).await;
    assert_eq!(status, 200);
    let claims = decode(body["token"].as_str().unwrap());
    assert_eq!(claims.roles, None);
    assert_eq!(claims.version, Some(2));
}

#[tokio::test]
async fn configured_default_ttl_is_used() {
    let vars = &[("CALLER_AUTH", "none"), ("TOKEN_DEFAULT_TTL_SECONDS", "300")];
    let (_, body, _) = call(vars, get("").request()).await;
    assert_eq!(body["expiresIn"], 300);
}

#[tokio::test]
async fn base64_encoded_body_is_read() {
    // {"ttl":120}
    let (status, body, _) = call(NONE, Event::post("/get-token").base64_body("eyJ0dGwiOjEyMH0=").request()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expiresIn"], 120);
}

#[tokio::test]
async fn missing_credentials_answer_503_not_a_crash() {
    let state = State::init(testkit::config(&[("CALLER_AUTH", "none")]), Uses::TokensOnly).await;
    let response = get_token::handler(&state, get("").request()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(body_json(&response)["error"]["code"], "secret_unavailable");
}

#[tokio::test]
async fn stored_events_get_their_expected_answers() {
    let cases: &[(&str, Vars, u16, Option<&str>)] = &[
        ("get-token-anonymous.json", NONE, 200, None),
        ("get-token-anonymous.json", JWT, 401, Some("unauthenticated")),
        ("get-token-query.json", NONE, 200, None),
        ("get-token-post.json", NONE, 200, None),
        ("get-token-user.json", JWT, 200, None),
        ("get-token-moderator.json", JWT, 200, None),
        ("get-token-user-asks-allow-mod.json", JWT, 403, Some("forbidden")),
        ("get-token-missing-identity.json", JWT, 401, Some("unauthenticated")),
    ];
    for (file, vars, status, code) in cases {
        let (got, body, _) = call(vars, event_file(file)).await;
        assert_eq!(got, *status, "{file}: {body}");
        match code {
            Some(code) => assert_eq!(body["error"]["code"], *code, "{file}"),
            None => {
                let claims = decode(body["token"].as_str().unwrap());
                assert_eq!(claims.apikey, API_KEY, "{file}");
            }
        }
    }
    let (_, body, _) = call(JWT, event_file("get-token-moderator.json")).await;
    let claims = decode(body["token"].as_str().unwrap());
    assert_eq!(claims.participant_id.as_deref(), Some("0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"));
    assert_eq!(claims.room_id.as_deref(), Some("abcd-efgh-ijkl"));
    assert!(claims.permissions.contains(&shared::claims::Permission::AllowMod));
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn the_log_names_who_minted_which_token_for_which_room() {
    let (logs, _guard) = capture_logs();
    let (status, body, _) = call(JWT, get("roomId=room-9").user("user-42", Some("[staff]")).request()).await;
    assert_eq!(status, 200, "{body}");
    let claims = decode(body["token"].as_str().unwrap());
    let jti = format!("jti={}", claims.jti);
    assert_logged(&logs, "issued a participant token", &["caller=\"user-42\"", "room_id=\"room-9\"", &jti]);
    assert!(!logs.text().contains(body["token"].as_str().unwrap()), "the token was logged");

    let (logs, _guard) = capture_logs();
    let (status, _, _) = call(NONE, get("").request()).await;
    assert_eq!(status, 200);
    assert_logged(&logs, "issued a participant token", &["caller=\"anonymous\"", "room_id=\"any\""]);
}

#[tokio::test]
async fn a_groups_claim_holding_a_json_array_names_moderators_exactly() {
    let ask = r#"{"permissions": ["allow_join", "allow_mod"]}"#;
    let (status, body, _) = call(JWT, post(ask).user("u", Some(r#"["staff","videosdk-moderators"]"#)).request()).await;
    assert_eq!(status, 200, "{body}");
    for look_alike in [r#"["staff,videosdk-moderators"]"#, r#"["Trainee videosdk-moderators"]"#] {
        let (status, _, _) = call(JWT, post(ask).user("u", Some(look_alike)).request()).await;
        assert_eq!(status, 403, "{look_alike}");
    }
}
