//! The client apps' read-only calls (`GET /v2/rooms/validate/{roomId}`, `GET /v2/sessions`,
//! `GET /v2/hls/{roomId}/active`) on `validate-meeting`: authenticated by the participant token
//! this API issued, performed upstream with the server's own management token, answered in
//! VideoSDK's shapes. The JWT authorizer's identity plays no part (the default `CALLER_AUTH=jwt`
//! is in force and no event carries authorizer claims).

use serde_json::json;
use testkit::{Event, FakeVideoSdk, assert_refused_before_upstream, bad_tokens, body_json, participant_token};
use wiremock::ResponseTemplate;

const ROOM: &str = "abcd-efgh-ijkl";

fn room_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "roomId": ROOM, "customRoomId": null, "userId": "u-1", "disabled": false,
        "createdAt": "2026-11-23T11:00:00.000Z", "updatedAt": "2026-11-23T11:00:00.000Z", "id": "623d",
        "links": {"get_room": "https://api.videosdk.live/v2/rooms/abcd-efgh-ijkl"}
    }))
}

fn with_token(event: Event, token: &str) -> Event {
    event.header("Authorization", token).header("Content-Type", "application/json")
}

#[tokio::test]
async fn validate_answers_the_room_object_for_an_rtc_token() {
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
    let state = fake.state(&[]).await;
    let token = participant_token(|_| {});
    for path in ["/v2/rooms/validate/abcd-efgh-ijkl", "/lambda-url/validate-meeting/v2/rooms/validate/abcd-efgh-ijkl"] {
        let response = validate_meeting::handler(state, with_token(Event::get(path), &token).request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{path}: {body}");
        assert_eq!(
            body,
            json!({"roomId": ROOM, "meetingId": ROOM, "customRoomId": null, "disabled": false,
                   "createdAt": "2026-11-23T11:00:00.000Z"})
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    let requests = fake.requests().await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        // The server's own crawler token went upstream, never the client's.
        testkit::assert_crawler_token(request, testkit::SECRET);
        assert_ne!(request.headers["authorization"].to_str().unwrap(), token);
    }
}

/// The iOS agent starter app posts the validate call, with its token in the body too.
#[tokio::test]
async fn a_posted_validate_answers_as_the_get_and_ignores_the_body_token() {
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
    let state = fake.state(&[]).await;
    let token = participant_token(|_| {});
    for body in [json!({"token": token}), json!({})] {
        let event = with_token(Event::post("/v2/rooms/validate/abcd-efgh-ijkl").json(body.clone()), &token);
        let response = validate_meeting::handler(state, event.request()).await;
        let answer = body_json(&response);
        assert_eq!(response.status(), 200, "{body}: {answer}");
        assert_eq!(answer["roomId"], ROOM);
        assert_eq!(answer["meetingId"], ROOM, "the iOS app reads meetingId");
    }
    let requests = fake.requests().await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method.as_str(), "GET");
        assert!(request.body.is_empty(), "the client's token is never forwarded");
        testkit::assert_crawler_token(request, testkit::SECRET);
    }
}

#[tokio::test]
async fn an_unknown_room_is_not_found() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "GET",
        "/v2/rooms/validate/zzzz-zzzz-zzzz",
        ResponseTemplate::new(400).set_body_string("Invalid meeting id"),
    )
    .await;
    let state = fake.state(&[]).await;
    let event = with_token(Event::get("/v2/rooms/validate/zzzz-zzzz-zzzz"), &participant_token(|_| {}));
    let response = validate_meeting::handler(state, event.request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body.get("roomId").is_none());
    assert_eq!(body["message"], body["error"]["message"], "VideoSDK's top-level message, which the apps show");
}

#[tokio::test]
async fn every_bad_token_is_401_and_nothing_goes_upstream() {
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let paths =
        ["/v2/rooms/validate/abcd-efgh-ijkl", "/v2/sessions?roomId=abcd-efgh-ijkl", "/v2/hls/abcd-efgh-ijkl/active"];
    for (name, token) in bad_tokens() {
        for path in paths {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let mut event = Event::get(path).query(query);
            if let Some(token) = &token {
                event = event.header("Authorization", token);
            }
            let case = format!("{name} on {path}");
            let response = validate_meeting::handler(state, event.request()).await;
            let body = body_json(&response);
            assert_eq!(response.status(), 401, "{case}: {body}");
            assert_eq!(body["error"]["code"], "unauthenticated", "{case}: {body}");
            if let Some(token) = token.as_ref().filter(|t| t.len() > 8) {
                assert!(!body.to_string().contains(token.as_str()), "{case}: token echoed");
            }
        }
    }
    assert!(fake.requests().await.is_empty(), "VideoSDK was called");
}

#[tokio::test]
async fn bad_room_ids_and_queries_are_400_and_nothing_goes_upstream() {
    let token = participant_token(|_| {});
    let cases: Vec<(&str, Event, &str)> = vec![
        ("slash in id", Event::get("/v2/rooms/validate/a%2Fb"), "invalid_field"),
        ("space in id", Event::get("/v2/rooms/validate/a%20b"), "invalid_field"),
        ("question mark in id", Event::get("/v2/hls/a%3Fb/active"), "invalid_field"),
        ("129 characters", Event::get(&format!("/v2/rooms/validate/{}", "a".repeat(129))), "invalid_field"),
        ("sessions without roomId", Event::get("/v2/sessions"), "invalid_field"),
        ("sessions roomId bad", Event::get("/v2/sessions/").query("roomId=a%2Fb"), "invalid_field"),
        ("sessions roomId twice", Event::get("/v2/sessions").query("roomId=a&roomId=b"), "invalid_field"),
        ("sessions perPage 0", Event::get("/v2/sessions").query("roomId=a&perPage=0"), "invalid_field"),
        ("sessions unknown parameter", Event::get("/v2/sessions").query("roomId=a&all=true"), "unknown_field"),
        ("validate with a query", Event::get("/v2/rooms/validate/abc").query("x=1"), "unknown_field"),
    ];
    for (name, event, code) in cases {
        assert_refused_before_upstream(validate_meeting::handler, &[], name, &with_token(event, &token), 400, code)
            .await;
    }
    let other: Vec<(&str, Event, u16, &str)> = vec![
        ("PUT validate", Event::new("PUT", "/v2/rooms/validate/abc"), 405, "method_not_allowed"),
        (
            "POST validate, a field besides token",
            Event::post("/v2/rooms/validate/abc").json(json!({"webhook": {}})),
            400,
            "unknown_field",
        ),
        ("POST sessions", Event::post("/v2/sessions").query("roomId=abc"), 405, "method_not_allowed"),
        ("another VideoSDK path", Event::get("/v2/rooms"), 404, "not_found"),
        ("empty id", Event::get("/v2/rooms/validate/"), 404, "not_found"),
        // The event's path arrives with dot segments resolved (also percent-encoded ones):
        // these become /v2/rooms/ (not served) and /v2/active (not a client route: the
        // function's own route, which wants a signed-in caller).
        ("dot-dot id", Event::get("/v2/rooms/validate/%2E%2E"), 404, "not_found"),
        ("dot-dot hls id", Event::get("/v2/hls/../active"), 401, "unauthenticated"),
    ];
    for (name, event, status, code) in other {
        assert_refused_before_upstream(validate_meeting::handler, &[], name, &with_token(event, &token), status, code)
            .await;
    }
}

#[tokio::test]
async fn a_room_bound_token_acts_on_its_room_only() {
    let token = participant_token(|c| c["roomId"] = json!("room-a"));
    for path in ["/v2/rooms/validate/room-b", "/v2/hls/room-b/active"] {
        let event = with_token(Event::get(path), &token);
        assert_refused_before_upstream(validate_meeting::handler, &[], path, &event, 403, "forbidden").await;
    }
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/v2/rooms/validate/room-a", room_reply()).await;
    let state = fake.state(&[]).await;
    let response =
        validate_meeting::handler(state, with_token(Event::get("/v2/rooms/validate/room-a"), &token).request()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn role_less_tokens_this_api_issued_are_accepted_too() {
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
    let state = fake.state(&[("PARTICIPANT_TOKEN_ROLE", "none")]).await;
    let token = participant_token(|c| {
        c.as_object_mut().unwrap().remove("roles");
    });
    let event = with_token(Event::get("/v2/rooms/validate/abcd-efgh-ijkl"), &format!("Bearer {token}"));
    let response = validate_meeting::handler(state, event.request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
}

#[tokio::test]
async fn sessions_list_the_room_s_sessions_without_participants() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "GET",
        "/v2/sessions/",
        ResponseTemplate::new(200).set_body_json(json!({
            "pageInfo": {"currentPage": 1, "perPage": 20, "lastPage": 1, "total": 1},
            "data": [{
                "id": "sess-1", "roomId": ROOM, "start": "2026-11-23T11:00:00.000Z", "end": null,
                "participants": [{"participantId": "someone", "name": "Someone Else"}],
                "status": "ongoing", "links": {"get_room": "…"}
            }]
        })),
    )
    .await;
    let state = fake.state(&[]).await;
    let event = with_token(
        Event::get("/v2/sessions/").query("roomId=abcd-efgh-ijkl&page=1&perPage=5"),
        &participant_token(|_| {}),
    );
    let response = validate_meeting::handler(state, event.request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["data"][0]["start"], "2026-11-23T11:00:00.000Z");
    assert_eq!(body["data"][0]["status"], "ongoing");
    assert_eq!(body["pageInfo"]["total"], 1);
    assert!(!body.to_string().contains("Someone Else"), "{body}");
    let upstream = fake.only_request().await;
    assert_eq!(upstream.url.path(), "/v2/sessions/");
    assert_eq!(upstream.url.query(), Some("roomId=abcd-efgh-ijkl&page=1&perPage=5"));
}

#[tokio::test]
async fn hls_active_answers_the_playback_url_or_404() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "GET",
        "/v2/hls/abcd-efgh-ijkl/active",
        ResponseTemplate::new(200).set_body_json(json!({"code": 200, "data": {
            "roomId": ROOM, "sessionId": "sess-1", "id": "hls-1",
            "playbackHlsUrl": "https://cdn.videosdk.live/p/index.m3u8",
            "livestreamUrl": "https://cdn.videosdk.live/p/live.m3u8",
            "downstreamUrl": "https://cdn.videosdk.live/p/index.m3u8"
        }})),
    )
    .await;
    fake.on(
        "GET",
        "/v2/hls/none-running/active",
        ResponseTemplate::new(200).set_body_json(json!({"code": 200, "data": null})),
    )
    .await;
    fake.on(
        "GET",
        "/v2/hls/gone/active",
        ResponseTemplate::new(404).set_body_json(json!({"statusCode": 404, "message": "No active HLS found"})),
    )
    .await;
    let state = fake.state(&[]).await;
    let token = participant_token(|_| {});
    let response =
        validate_meeting::handler(state, with_token(Event::get("/v2/hls/abcd-efgh-ijkl/active"), &token).request())
            .await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(
        body,
        json!({"code": 200, "data": {"roomId": ROOM, "sessionId": "sess-1",
               "playbackHlsUrl": "https://cdn.videosdk.live/p/index.m3u8",
               "livestreamUrl": "https://cdn.videosdk.live/p/live.m3u8"}})
    );
    for room in ["none-running", "gone"] {
        let event = with_token(Event::get(&format!("/v2/hls/{room}/active")), &token);
        let response = validate_meeting::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 404, "{room}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn a_token_minted_after_a_rotation_is_accepted_once_the_secret_is_re_read() {
    use testkit::{Moto, participant_token_signed};
    let moto = Moto::start();
    moto.put_secret("videosdk/rotating", r#"{"apiKey": "test-api-key", "secret": "old-secret-0000000000"}"#).await;
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
    let endpoint = fake.server.uri();
    let config = testkit::config(&[("VIDEOSDK_API_ENDPOINT", &endpoint)]);
    let client = moto.client();
    let secrets = shared::secret::SecretStore::secrets_manager(
        client,
        "videosdk/rotating".into(),
        std::time::Duration::from_secs(300),
        std::time::Duration::ZERO,
    );
    let state = testkit::api_state(config, secrets);
    let old = participant_token_signed("old-secret-0000000000", |_| {});
    let event = |token: &str| with_token(Event::get("/v2/rooms/validate/abcd-efgh-ijkl"), token).request();
    assert_eq!(validate_meeting::handler(state, event(&old)).await.status(), 200);

    // Another container already serves tokens signed with the new secret.
    moto.put_secret("videosdk/rotating", r#"{"apiKey": "test-api-key", "secret": "new-secret-1111111111"}"#).await;
    let new = participant_token_signed("new-secret-1111111111", |_| {});
    let response = validate_meeting::handler(state, event(&new)).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    assert_eq!(validate_meeting::handler(state, event(&old)).await.status(), 401);
}

#[tokio::test]
async fn forged_tokens_never_re_read_the_secret_nor_starve_an_upstream_refusal() {
    use testkit::{FaultProxy, Moto, participant_token_signed};
    let moto = Moto::start();
    moto.put_secret("videosdk/forged", r#"{"apiKey": "test-api-key", "secret": "old-secret-0000000000"}"#).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let fake = FakeVideoSdk::start().await;
    let endpoint = fake.server.uri();
    let config = testkit::config(&[("VIDEOSDK_API_ENDPOINT", &endpoint)]);
    // The production window: at most one read a second for what a request needs.
    let secrets = shared::secret::SecretStore::secrets_manager(
        proxy.client(),
        "videosdk/forged".into(),
        std::time::Duration::from_secs(300),
        std::time::Duration::from_secs(1),
    );
    let state = testkit::api_state(config, secrets);
    let read = state.secrets.current().await.unwrap();
    assert_eq!(proxy.requests(), 1, "INIT's read");
    let event = |token: &str| with_token(Event::get("/v2/rooms/validate/abcd-efgh-ijkl"), token).request();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();

    // Issued before this container read its secret, or far in the future: cannot be from a
    // rotation it has not seen. Refused at once, no read.
    for iat in [now - 3600, now - 2, now + 3600] {
        for _ in 0..10 {
            let forged = participant_token_signed("attacker-secret-99999", |c| c["iat"] = json!(iat));
            let started = std::time::Instant::now();
            assert_eq!(validate_meeting::handler(state, event(&forged)).await.status(), 401);
            assert!(started.elapsed() < std::time::Duration::from_millis(500), "no billed waiting");
        }
    }
    assert_eq!(proxy.requests(), 1, "no Secrets Manager read for old or future tokens");

    // Issued now: maybe a rotation, so one read, and no more for the next interval.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // INIT's read window is over
    for _ in 0..20 {
        let forged = participant_token_signed("attacker-secret-99999", |_| {});
        assert_eq!(validate_meeting::handler(state, event(&forged)).await.status(), 401);
    }
    assert_eq!(proxy.requests(), 2, "one read per interval, whatever the number of forged tokens");

    // A genuine upstream refusal in the same second still gets its re-read.
    moto.put_secret("videosdk/forged", r#"{"apiKey": "test-api-key", "secret": "new-secret-1111111111"}"#).await;
    let fresh = state.secrets.refresh(&read).await.unwrap();
    assert_eq!(proxy.requests(), 3);
    assert_eq!(fresh.secret_bytes(), b"new-secret-1111111111");
    assert!(fake.requests().await.is_empty(), "nothing reached VideoSDK");
}
