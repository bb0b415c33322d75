//! `validate-meeting` against a fake VideoSDK: where the id comes from, how it is encoded,
//! and how VideoSDK's many "unknown room" answers become 404 `{"valid": false}`.

use serde_json::json;
use testkit::{Event, FakeVideoSdk, assert_refused_before_upstream, body_json, check_upstream_failures, event_file};
use wiremock::ResponseTemplate;

const ROOM: &str =
    r#"{"roomId":"abcd-efgh-ijkl","customRoomId":null,"disabled":false,"createdAt":"2026-11-23T11:00:00.000Z"}"#;

fn room_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(ROOM, "application/json")
}

const NONE: &[(&str, &str)] = &[("CALLER_AUTH", "none")];

#[tokio::test]
async fn the_id_comes_from_path_parameter_last_segment_or_body() {
    let cases = [
        (
            "path parameter",
            Event::get("/validate-meeting/abcd-efgh-ijkl").path_parameter("meetingId", "abcd-efgh-ijkl"),
        ),
        ("stage prefix", Event::get("/prod/validate-meeting/abcd-efgh-ijkl")),
        (
            "cargo lambda watch prefix",
            Event::post("/lambda-url/validate-meeting/abcd-efgh-ijkl").body(r#"{"token": "client"}"#),
        ),
        ("trailing slash", Event::get("/validate-meeting/abcd-efgh-ijkl/")),
        ("body meetingId", Event::post("/validate-meeting").body(r#"{"meetingId": "abcd-efgh-ijkl"}"#)),
        (
            "body roomId",
            Event::post("/lambda-url/validate-meeting/").body(r#"{"roomId": "abcd-efgh-ijkl", "token": "t"}"#),
        ),
        (
            "path and body agree",
            Event::post("/validate-meeting/abcd-efgh-ijkl")
                .body(r#"{"meetingId": "abcd-efgh-ijkl", "roomId": "abcd-efgh-ijkl"}"#),
        ),
    ];
    for (name, event) in cases {
        let fake = FakeVideoSdk::start().await;
        fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
        let state = fake.state(NONE).await;
        let response = validate_meeting::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{name}: {body}");
        assert_eq!(
            body,
            json!({"valid": true, "roomId": "abcd-efgh-ijkl", "meetingId": "abcd-efgh-ijkl", "disabled": false}),
            "{name}"
        );
        let upstream = fake.only_request().await;
        assert_eq!(upstream.method.as_str(), "GET", "{name}");
        assert_eq!(upstream.url.path(), "/v2/rooms/validate/abcd-efgh-ijkl", "{name}");
    }
}

#[tokio::test]
async fn deactivated_rooms_are_valid_but_disabled() {
    let fake = FakeVideoSdk::start().await;
    fake.on(
        "GET",
        "/v2/rooms/validate/old-room",
        ResponseTemplate::new(200).set_body_json(json!({"roomId": "old-room", "disabled": true})),
    )
    .await;
    let state = fake.state(NONE).await;
    let response = validate_meeting::handler(state, Event::get("/validate-meeting/old-room").request()).await;
    assert_eq!(
        body_json(&response),
        json!({"valid": true, "roomId": "old-room", "meetingId": "old-room", "disabled": true})
    );
}

#[tokio::test]
async fn unknown_rooms_are_404_valid_false_in_every_upstream_shape() {
    let replies = [
        ResponseTemplate::new(400).set_body_string("Invalid meeting id"),
        ResponseTemplate::new(400).set_body_json(json!({"error": "Room not found"})),
        ResponseTemplate::new(402).set_body_json(json!({"statusMessage": "Payment Required"})),
        ResponseTemplate::new(404).set_body_json(json!({"message": "Room not found"})),
        ResponseTemplate::new(404),
    ];
    for reply in replies {
        let fake = FakeVideoSdk::start().await;
        fake.on("GET", "/v2/rooms/validate/nope-nope-nope", reply).await;
        let state = fake.state(NONE).await;
        let response = validate_meeting::handler(state, Event::get("/validate-meeting/nope-nope-nope").request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 404, "{body}");
        assert_eq!(body["valid"], false);
        assert_eq!(body["error"]["code"], "not_found");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn stored_events_validate_for_signed_in_callers() {
    for file in ["validate-meeting.json", "validate-meeting-get.json", "validate-meeting-moderator.json"] {
        let fake = FakeVideoSdk::start().await;
        fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
        let state = fake.state(&[]).await;
        let response = validate_meeting::handler(state, event_file(file)).await;
        assert_eq!(response.status(), 200, "{file}: {}", body_json(&response));
        let upstream = fake.only_request().await;
        assert_ne!(upstream.headers["authorization"], "eyJhbGciOiJIUzI1NiJ9.client-sent-token.never-forwarded");
    }
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = validate_meeting::handler(state, event_file("validate-meeting-missing-identity.json")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(&response)["error"]["code"], "unauthenticated");
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn bad_ids_and_input_are_refused_before_anything_reaches_videosdk() {
    let long = "a".repeat(129);
    let cases: Vec<(&str, Event, u16, &str)> = vec![
        ("../x", Event::get("/validate-meeting/..%2Fx"), 400, "invalid_field"),
        ("a b", Event::get("/validate-meeting/a%20b"), 400, "invalid_field"),
        (
            "a/b as path parameter",
            Event::get("/validate-meeting/a%2Fb").path_parameter("meetingId", "a/b"),
            400,
            "invalid_field",
        ),
        ("129 characters", Event::get(&format!("/validate-meeting/{long}")), 400, "invalid_field"),
        ("no id anywhere", Event::post("/validate-meeting").body("{}"), 400, "invalid_field"),
        ("no id, GET", Event::get("/validate-meeting"), 400, "invalid_field"),
        ("body id a number", Event::post("/validate-meeting").body(r#"{"meetingId": 42}"#), 400, "invalid_field"),
        ("body id ../x", Event::post("/validate-meeting").body(r#"{"roomId": "../x"}"#), 400, "invalid_field"),
        (
            "body ids differ",
            Event::post("/validate-meeting").body(r#"{"roomId": "a", "meetingId": "b"}"#),
            400,
            "invalid_field",
        ),
        ("unknown body field", Event::post("/validate-meeting/abc").body(r#"{"room": "abc"}"#), 400, "unknown_field"),
        ("malformed json", Event::post("/validate-meeting/abc").body("{"), 400, "malformed_json"),
        (
            "body over 16 KiB",
            Event::post("/validate-meeting/abc").body(&format!("{{\"token\": \"{}\"}}", "t".repeat(17_000))),
            413,
            "payload_too_large",
        ),
        ("DELETE", Event::new("DELETE", "/validate-meeting/abc"), 405, "method_not_allowed"),
        // One input from two sources: each is validated, and they must agree.
        (
            "body differs from path",
            Event::post("/validate-meeting/abc").body(r#"{"meetingId": "xyz"}"#),
            400,
            "invalid_field",
        ),
        (
            "body roomId differs from path",
            Event::post("/validate-meeting/abc").body(r#"{"roomId": "abd"}"#),
            400,
            "invalid_field",
        ),
        (
            "body id with CR LF",
            Event::post("/validate-meeting/abc").body(r#"{"meetingId": "abc\r\n"}"#),
            400,
            "invalid_field",
        ),
        (
            "body id with NUL",
            Event::post("/validate-meeting/abc").body(r#"{"roomId": "abc\u0000"}"#),
            400,
            "invalid_field",
        ),
        (
            "body id look-alike",
            Event::post("/validate-meeting/abc").body(r#"{"meetingId": "аbc"}"#),
            400,
            "invalid_field",
        ),
        ("body id empty", Event::post("/validate-meeting/abc").body(r#"{"meetingId": ""}"#), 400, "invalid_field"),
        (
            "path parameter differs from body",
            Event::post("/validate-meeting/abc").path_parameter("meetingId", "abc").body(r#"{"roomId": "other"}"#),
            400,
            "invalid_field",
        ),
        (
            "GET body differs from path",
            Event::get("/validate-meeting/abc").body(r#"{"meetingId": "xyz"}"#),
            400,
            "invalid_field",
        ),
    ];
    for (name, event, status, code) in cases {
        assert_refused_before_upstream(validate_meeting::handler, NONE, name, &event, status, code).await;
    }
    // Under jwt, no identity is 401 and nothing is sent.
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = validate_meeting::handler(state, Event::get("/validate-meeting/abc").request()).await;
    assert_eq!(response.status(), 401);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        validate_meeting::handler,
        || Event::get("/validate-meeting/abcd-efgh-ijkl").request(),
        "GET",
        "/v2/rooms/validate/abcd-efgh-ijkl",
        |case| {
            // An unknown id may come back as 400, even in plain text.
            if case.name == "400 plain text" {
                case.status = 404;
                case.code = "not_found";
            }
        },
    )
    .await;
}

#[tokio::test]
async fn server_errors_on_get_are_retried_and_recover() {
    let fake = FakeVideoSdk::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    fake.on("GET", "/v2/rooms/validate/abcd-efgh-ijkl", room_reply()).await;
    let state = fake.state(NONE).await;
    let response = validate_meeting::handler(state, Event::get("/validate-meeting/abcd-efgh-ijkl").request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(fake.requests().await.len(), 2);
}
