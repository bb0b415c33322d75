//! `create-meeting` against a fake VideoSDK: what we answer and exactly what VideoSDK receives.

use std::time::Duration;

use serde_json::{Value, json};
use shared::secret::SecretStore;
use testkit::{
    Event, FakeVideoSdk, Moto, SignedWith, assert_crawler_token, assert_logged, assert_refused_before_upstream,
    body_json, capture_logs, check_upstream_failures, event_file, request_json,
};
use wiremock::{Mock, ResponseTemplate, matchers};

const ROOM: &str = r#"{"roomId":"abcd-efgh-ijkl","customRoomId":"weekly-standup","userId":"5f7e","disabled":false,
"createdAt":"2026-11-23T11:00:00.000Z","updatedAt":"2026-11-23T11:00:00.000Z","id":"623d",
"links":{"get_room":"https://api.videosdk.live/v2/rooms/abcd-efgh-ijkl"}}"#;

fn room_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(ROOM, "application/json")
}

fn post(body: Value) -> Event {
    Event::post("/create-meeting").json(body)
}

/// A case: name, configuration, the event, and the body VideoSDK must receive.
type Forwarded<'a> = (&'a str, Vec<(&'a str, &'a str)>, Event, Value);

type Config<'a> = Vec<(&'a str, &'a str)>;

#[tokio::test]
async fn creates_a_room_forwarding_only_whitelisted_fields() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    // A moderator, with no operator webhook configured, may set webhook and autoCloseConfig.
    let state = fake.state(&[]).await;
    let request = post(json!({
        "customRoomId": "weekly-standup",
        "webhook": {"endPoint": "https://hooks.example.com/videosdk", "events": ["session-ended", "participant-joined"]},
        "autoCloseConfig": {"type": "session-end-and-deactivate", "duration": 30},
        "geoFence": "eu001",
        "token": "client-token-must-not-travel",
        "region": "sg001"
    }))
    .user("mod-1", Some("[videosdk-moderators]"));
    let response = create_meeting::handler(state, request.request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(
        body,
        json!({"roomId": "abcd-efgh-ijkl", "meetingId": "abcd-efgh-ijkl", "customRoomId": "weekly-standup",
               "disabled": false, "createdAt": "2026-11-23T11:00:00.000Z"})
    );
    let upstream = fake.only_request().await;
    assert_eq!(upstream.method.as_str(), "POST");
    assert_eq!(upstream.url.path(), "/v2/rooms");
    assert_eq!(upstream.headers["content-type"], "application/json");
    assert_ne!(upstream.headers["authorization"], "client-token-must-not-travel");
    assert_eq!(
        request_json(&upstream),
        json!({
            "customRoomId": "weekly-standup",
            "webhook": {"endPoint": "https://hooks.example.com/videosdk", "events": ["session-ended", "participant-joined"]},
            "autoCloseConfig": {"type": "session-end-and-deactivate", "duration": 30},
            "geoFence": "eu001"
        })
    );
}

#[tokio::test]
async fn an_empty_body_creates_a_plain_room() {
    for body in ["", "{}"] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms", room_reply()).await;
        let state = fake.state(&[("CALLER_AUTH", "none")]).await;
        let response = create_meeting::handler(state, Event::post("/create-meeting").body(body).request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(request_json(&fake.only_request().await), json!({}));
    }
}

#[tokio::test]
async fn stored_events_create_rooms_for_signed_in_callers() {
    for file in ["create-meeting.json", "create-meeting-legacy-client.json", "create-meeting-moderator.json"] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms", room_reply()).await;
        let state = fake.state(&[]).await;
        let response = create_meeting::handler(state, event_file(file)).await;
        assert_eq!(response.status(), 200, "{file}: {}", body_json(&response));
        let sent = request_json(&fake.only_request().await);
        assert!(sent.get("token").is_none() && sent.get("region").is_none(), "{file}: {sent}");
    }
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = create_meeting::handler(state, event_file("create-meeting-missing-identity.json")).await;
    assert_eq!(response.status(), 401);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_reaches_videosdk() {
    let long = "a".repeat(129);
    let cases: Vec<(&str, Event, u16, &str)> = vec![
        ("malformed json", Event::post("/create-meeting").body("{"), 400, "malformed_json"),
        ("array body", Event::post("/create-meeting").body("[]"), 400, "malformed_json"),
        ("unknown field", post(json!({"name": "x"})), 400, "unknown_field"),
        (
            "unknown webhook field",
            post(json!({"webhook": {"endPoint": "https://h.example.com", "secret": "x"}})),
            400,
            "unknown_field",
        ),
        ("customRoomId a number", post(json!({"customRoomId": 5})), 400, "invalid_field"),
        ("customRoomId ../x", post(json!({"customRoomId": "../x"})), 400, "invalid_field"),
        ("customRoomId a b", post(json!({"customRoomId": "a b"})), 400, "invalid_field"),
        ("customRoomId 129 chars", post(json!({"customRoomId": long})), 400, "invalid_field"),
        ("webhook not an object", post(json!({"webhook": "https://h.example.com"})), 400, "invalid_field"),
        ("webhook http", post(json!({"webhook": {"endPoint": "http://h.example.com/hook"}})), 400, "invalid_field"),
        ("webhook without endPoint", post(json!({"webhook": {"events": ["session-ended"]}})), 400, "invalid_field"),
        (
            "webhook endpoint key spelled endpoint",
            post(json!({"webhook": {"endpoint": "https://h.example.com"}})),
            400,
            "invalid_field",
        ),
        (
            "webhook unknown event",
            post(json!({"webhook": {"endPoint": "https://h.example.com", "events": ["everything"]}})),
            400,
            "invalid_field",
        ),
        ("autoCloseConfig without type", post(json!({"autoCloseConfig": {"duration": 10}})), 400, "invalid_field"),
        ("autoCloseConfig unknown type", post(json!({"autoCloseConfig": {"type": "never"}})), 400, "invalid_field"),
        (
            "autoCloseConfig duration text",
            post(json!({"autoCloseConfig": {"type": "session-ends", "duration": "10"}})),
            400,
            "invalid_field",
        ),
        ("geoFence a list", post(json!({"geoFence": ["us002"]})), 400, "invalid_field"),
        ("geoFence with spaces", post(json!({"geoFence": "us 002"})), 400, "invalid_field"),
        ("body over 16 KiB", post(json!({"customRoomId": "a".repeat(17_000)})), 413, "payload_too_large"),
        ("GET", Event::get("/create-meeting"), 405, "method_not_allowed"),
    ];
    for (name, event, status, code) in cases {
        assert_refused_before_upstream(create_meeting::handler, &[("CALLER_AUTH", "none")], name, &event, status, code)
            .await;
    }
}

#[tokio::test]
async fn callers_need_an_identity_under_jwt() {
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = create_meeting::handler(state, post(json!({})).request()).await;
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(&response)["error"]["code"], "unauthenticated");
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(create_meeting::handler, || post(json!({})).request(), "POST", "/v2/rooms", |_| {}).await;
}

#[tokio::test]
async fn a_401_after_rotation_rereads_the_secret_and_retries_once() {
    let moto = Moto::start();
    moto.put_secret("videosdk/rotating", r#"{"apiKey": "test-api-key", "secret": "old-secret-value"}"#).await;
    let fake = FakeVideoSdk::start().await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/v2/rooms"))
        .and(SignedWith("new-secret-value"))
        .respond_with(room_reply())
        .mount(&fake.server)
        .await;
    fake.on("POST", "/v2/rooms", ResponseTemplate::new(401).set_body_string("Token is invalid or expired")).await;

    let base = fake.state(&[("CALLER_AUTH", "none")]).await;
    let secrets = SecretStore::secrets_manager(
        moto.client(),
        "videosdk/rotating".into(),
        Duration::from_secs(300),
        Duration::ZERO,
    );
    secrets.current().await.expect("INIT read");
    let state = testkit::api_state(base.config.clone(), secrets);
    moto.put_secret("videosdk/rotating", r#"{"apiKey": "test-api-key", "secret": "new-secret-value"}"#).await;

    let response = create_meeting::handler(state, post(json!({})).request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    let requests = fake.requests().await;
    assert_eq!(requests.len(), 2);
    assert_crawler_token(&requests[0], "old-secret-value");
    assert_crawler_token(&requests[1], "new-secret-value");
}

#[tokio::test]
async fn the_management_token_is_cached_across_calls_in_a_warm_container() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    let state = fake.state(&[("CALLER_AUTH", "none")]).await;
    for _ in 0..3 {
        let response = create_meeting::handler(state, post(json!({})).request()).await;
        assert_eq!(response.status(), 200);
    }
    let requests = fake.requests().await;
    assert_eq!(requests.len(), 3);
    let first = assert_crawler_token(&requests[0], testkit::SECRET);
    for request in &requests[1..] {
        assert_eq!(assert_crawler_token(request, testkit::SECRET).jti, first.jti, "one token reused");
    }
    assert!(first.exp - first.iat >= 300, "short-lived but not per request");
}

#[tokio::test]
async fn the_log_names_who_created_which_room() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    let state = fake.state(&[]).await;
    let response = create_meeting::handler(state, post(json!({})).user("user-42", None).request()).await;
    assert_eq!(response.status(), 200);
    assert_logged(&logs, "created a room", &["caller=\"user-42\"", "room_id=\"abcd-efgh-ijkl\""]);
}

#[tokio::test]
async fn every_wait_ends_before_the_invocation_s_deadline() {
    use testkit::{Fault, FaultProxy, serve_within};
    let left = Duration::from_millis(1_500);
    let moto = Moto::start();
    moto.put_secret("videosdk/deadline", r#"{"apiKey": "test-api-key", "secret": "old-secret-value"}"#).await;
    let proxy = FaultProxy::start(&moto.endpoint);

    // VideoSDK slower than what the invocation has left (its own timeout, 10 s, is longer).
    let slow = FakeVideoSdk::start().await;
    slow.on("POST", "/v2/rooms", room_reply().set_delay(Duration::from_secs(5))).await;
    // VideoSDK refusing the token (a rotation?) while Secrets Manager hangs on the re-read.
    let refusing = FakeVideoSdk::start().await;
    refusing.on("POST", "/v2/rooms", ResponseTemplate::new(401).set_body_string("Token is invalid or expired")).await;

    for (name, fake, status, code) in [
        ("slow VideoSDK", &slow, 504, "upstream_timeout"),
        ("401 while Secrets Manager hangs", &refusing, 502, "upstream_auth"),
    ] {
        let endpoint = fake.server.uri();
        let config = testkit::config(&[
            ("CALLER_AUTH", "none"),
            ("VIDEOSDK_API_ENDPOINT", &endpoint),
            ("VIDEOSDK_TIMEOUT_MS", "10000"),
        ]);
        let secrets =
            SecretStore::secrets_manager(proxy.client(), "videosdk/deadline".into(), Duration::ZERO, Duration::ZERO);
        proxy.set(Fault::Pass);
        secrets.current().await.expect("INIT read");
        proxy.set(Fault::Hang);
        let state = testkit::api_state(config, secrets);
        let (got, body, took) = serve_within(state, create_meeting::handler, &post(json!({})), left).await;
        println!("{name}: {got} {} in {took:?}", body["error"]["code"]);
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert!(took < left, "{name}: answered after {took:?}, past the invocation's deadline");
    }
}

const OPERATOR_HOOK: &str = "https://hooks.operator.example.com/videosdk-webhook";

#[tokio::test]
async fn rooms_subscribe_the_operator_s_webhook() {
    let default_events: Vec<&str> = shared::config::DEFAULT_WEBHOOK_EVENTS.split(',').collect();
    let cases: Vec<Forwarded> = vec![
        (
            "WEBHOOK_URL, default events",
            vec![("WEBHOOK_URL", OPERATOR_HOOK)],
            post(json!({"customRoomId": "weekly-standup"})).user("user-1", None),
            json!({"customRoomId": "weekly-standup",
                   "webhook": {"endPoint": OPERATOR_HOOK, "events": default_events}}),
        ),
        (
            "WEBHOOK_EVENTS",
            vec![("WEBHOOK_URL", OPERATOR_HOOK), ("WEBHOOK_EVENTS", "recording-stopped, session-ended")],
            post(json!({})).user("user-1", None),
            json!({"webhook": {"endPoint": OPERATOR_HOOK, "events": ["recording-stopped", "session-ended"]}}),
        ),
        (
            "{domainName} is the request's own API Gateway domain",
            vec![("CALLER_AUTH", "none"), ("WEBHOOK_URL", "https://{domainName}/videosdk-webhook")],
            post(json!({})),
            json!({"webhook": {"endPoint": "https://api-id.execute-api.us-east-1.amazonaws.com/videosdk-webhook",
                               "events": default_events}}),
        ),
        (
            "the apps' POST /v2/rooms too",
            vec![("WEBHOOK_URL", OPERATOR_HOOK)],
            Event::post("/v2/rooms").header("Authorization", &testkit::participant_token(|_| {})),
            json!({"webhook": {"endPoint": OPERATOR_HOOK, "events": default_events}}),
        ),
    ];
    for (name, vars, event, forwarded) in cases {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms", room_reply()).await;
        let state = fake.state(&vars).await;
        let response = create_meeting::handler(state, event.request()).await;
        assert_eq!(response.status(), 200, "{name}: {}", body_json(&response));
        assert_eq!(request_json(&fake.only_request().await), forwarded, "{name}");
    }
}

#[tokio::test]
async fn a_caller_s_own_webhook_or_auto_close_is_refused_unless_a_moderator_and_no_operator_webhook() {
    let hook = json!({"webhook": {"endPoint": "https://attacker.example.com/hook"}});
    let close = json!({"autoCloseConfig": {"type": "session-ends", "duration": 5}});
    let moderator = |e: Event| e.user("mod-1", Some("[videosdk-moderators]"));
    let token = testkit::participant_token(|_| {});
    let cases: Vec<(&str, Config, Event)> = vec![
        ("anonymous webhook", vec![("CALLER_AUTH", "none")], post(hook.clone())),
        ("anonymous autoCloseConfig", vec![("CALLER_AUTH", "none")], post(close.clone())),
        ("signed-in non-moderator", vec![], post(hook.clone()).user("user-1", Some("[staff]"))),
        ("moderator, operator webhook set", vec![("WEBHOOK_URL", OPERATOR_HOOK)], moderator(post(hook.clone()))),
        ("moderator autoClose, operator webhook set", vec![("WEBHOOK_URL", OPERATOR_HOOK)], moderator(post(close))),
        ("participant token", vec![], Event::post("/v2/rooms").header("Authorization", &token).json(hook.clone())),
    ];
    for (name, vars, event) in cases {
        let body = assert_refused_before_upstream(create_meeting::handler, &vars, name, &event, 403, "forbidden").await;
        println!("{name}: {}", body["error"]["message"]);
    }
}

#[tokio::test]
async fn a_domain_placeholder_without_a_domain_is_a_configuration_error_not_a_room_without_its_webhook() {
    let mut event = post(json!({})).to_json();
    event["requestContext"].as_object_mut().unwrap().remove("domainName");
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[("CALLER_AUTH", "none"), ("WEBHOOK_URL", "https://{domainName}/videosdk-webhook")]).await;
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = create_meeting::handler(state, request).await;
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"]["code"], "configuration_error");
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn anonymous_callers_cannot_claim_a_room_name_unless_the_operator_opts_in() {
    let named = json!({"customRoomId": "weekly-allhands"});
    let bound = testkit::participant_token(|c| c["roomId"] = json!("weekly-allhands"));
    let any = testkit::participant_token(|_| {});
    let v2 = |token: &str| Event::post("/v2/rooms").header("Authorization", token).body(&named.to_string());
    let refused: Vec<(&str, Event)> = vec![
        ("anonymous /create-meeting", post(named.clone())),
        ("/v2/rooms under CALLER_AUTH=none", v2(&any)),
        ("/v2/rooms, a token bound to that room", v2(&bound)),
    ];
    for (name, event) in &refused {
        let body = assert_refused_before_upstream(
            create_meeting::handler,
            &[("CALLER_AUTH", "none")],
            name,
            event,
            403,
            "forbidden",
        )
        .await;
        assert!(body["error"]["message"].as_str().unwrap().contains("ANONYMOUS_CUSTOM_ROOM_IDS"), "{name}: {body}");
    }
    let opted_in = [("CALLER_AUTH", "none"), ("ANONYMOUS_CUSTOM_ROOM_IDS", "allow")];
    for (name, event) in refused {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms", room_reply()).await;
        let response = create_meeting::handler(fake.state(&opted_in).await, event.request()).await;
        assert_eq!(response.status(), 200, "{name} opted in: {}", body_json(&response));
        assert_eq!(request_json(&fake.only_request().await)["customRoomId"], "weekly-allhands");
    }
    // Signed-in callers name rooms as before; anonymous callers still get fresh rooms.
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    let response =
        create_meeting::handler(fake.state(&[]).await, post(named.clone()).user("user-1", None).request()).await;
    assert_eq!(response.status(), 200);
    let response =
        create_meeting::handler(fake.state(&[("CALLER_AUTH", "none")]).await, post(json!({})).request()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_upstream_body_over_a_mebibyte_is_502_and_not_read() {
    let huge =
        format!("{{\"roomId\": \"abcd-efgh-ijkl\", \"pad\": \"{}\"}}", "x".repeat(shared::videosdk::MAX_UPSTREAM_BODY));
    for status in [200, 400] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms", ResponseTemplate::new(status).set_body_raw(huge.clone(), "application/json"))
            .await;
        let response =
            create_meeting::handler(fake.state(&[("CALLER_AUTH", "none")]).await, post(json!({})).request()).await;
        let body = body_json(&response);
        assert_eq!(
            (response.status().as_u16(), body["error"]["code"].as_str()),
            (502, Some("upstream_error")),
            "{body}"
        );
    }
    // Just under the limit is read as usual.
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    let response =
        create_meeting::handler(fake.state(&[("CALLER_AUTH", "none")]).await, post(json!({})).request()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn pages_from_origins_outside_allowed_origins_create_nothing() {
    use testkit::serve_within;
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    // As `make dev` runs on real credentials.
    let state =
        fake.state(&[("CALLER_AUTH", "none"), ("ALLOWED_ORIGINS", "http://localhost:*,http://127.0.0.1:*")]).await;
    let left = Duration::from_secs(5);
    for origin in ["https://evil.example", "http://localhost.evil.example", "null"] {
        let event = post(json!({})).header("Origin", origin);
        let (status, body, _) = serve_within(state, create_meeting::handler, &event, left).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{origin}: {body}");
    }
    assert!(fake.requests().await.is_empty(), "nothing reached VideoSDK");
    for event in [post(json!({})).header("Origin", "http://localhost:3000"), post(json!({}))] {
        let (status, body, _) = serve_within(state, create_meeting::handler, &event, left).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(fake.requests().await.len(), 2);
}
