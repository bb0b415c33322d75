//! The client apps' `POST /v2/rooms` on `create-meeting`: authenticated by the participant token
//! this API issued (sent raw as `Authorization`), performed upstream with the server's own
//! management token and the same whitelist, answered in VideoSDK's room shape. The default
//! `CALLER_AUTH=jwt` is in force and no event carries authorizer claims.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, assert_crawler_token, assert_logged, assert_refused_before_upstream, bad_tokens, body_json,
    capture_logs, participant_token, request_json,
};
use wiremock::ResponseTemplate;

fn room_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "roomId": "abcd-efgh-ijkl", "customRoomId": null, "userId": "u-1", "disabled": false,
        "createdAt": "2026-11-23T11:00:00.000Z", "updatedAt": "2026-11-23T11:00:00.000Z", "id": "623d",
        "links": {"get_room": "https://api.videosdk.live/v2/rooms/abcd-efgh-ijkl"}
    }))
}

fn create(token: &str) -> Event {
    Event::post("/v2/rooms").header("Authorization", token)
}

#[tokio::test]
async fn apps_create_a_room_with_the_token_from_get_token() {
    let token = participant_token(|_| {});
    // As the apps send it: React/Next.js with a JSON Content-Type and no body, Flutter and
    // Android with Authorization only, and a body with the whitelisted fields.
    let cases: Vec<(&str, Event, Value)> = vec![
        ("no body, JSON content type", create(&token).header("Content-Type", "application/json"), json!({})),
        ("no body, no content type", create(&token), json!({})),
        (
            "whitelisted fields",
            create(&token).json(json!({"customRoomId": "standup", "geoFence": "eu001"})),
            json!({"customRoomId": "standup", "geoFence": "eu001"}),
        ),
        (
            "iOS agent starter app: its own token in the body, never forwarded",
            create(&token).json(json!({"token": token})),
            json!({}),
        ),
        (
            "through /lambda-url",
            Event::post("/lambda-url/create-meeting/v2/rooms").header("Authorization", &token),
            json!({}),
        ),
    ];
    for (name, event, forwarded) in cases {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms", room_reply()).await;
        let state = fake.state(&[]).await;
        let response = create_meeting::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{name}: {body}");
        assert_eq!(
            body,
            json!({"roomId": "abcd-efgh-ijkl", "customRoomId": null, "disabled": false,
                   "createdAt": "2026-11-23T11:00:00.000Z"}),
            "{name}"
        );
        let upstream = fake.only_request().await;
        assert_crawler_token(&upstream, testkit::SECRET);
        assert_eq!(request_json(&upstream), forwarded, "{name}");
    }
}

#[tokio::test]
async fn every_bad_token_is_401_and_nothing_goes_upstream() {
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    for (name, token) in bad_tokens() {
        let mut event = Event::post("/v2/rooms");
        if let Some(token) = &token {
            event = event.header("Authorization", token);
        }
        let response = create_meeting::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unauthenticated", "{name}: {body}");
    }
    assert!(fake.requests().await.is_empty(), "VideoSDK was called");
}

#[tokio::test]
async fn the_whitelist_and_methods_hold_on_the_apps_route() {
    let token = participant_token(|_| {});
    let cases: Vec<(&str, Event, u16, &str)> = vec![
        ("unknown field", create(&token).json(json!({"permissions": ["allow_mod"]})), 400, "unknown_field"),
        ("bad customRoomId", create(&token).json(json!({"customRoomId": "a/b"})), 400, "invalid_field"),
        ("not JSON", create(&token).header("Content-Type", "application/json").body("{"), 400, "malformed_json"),
        ("GET", Event::get("/v2/rooms").header("Authorization", &token), 405, "method_not_allowed"),
        (
            "another VideoSDK route",
            Event::post("/v2/rooms/deactivate").header("Authorization", &token),
            404,
            "not_found",
        ),
    ];
    for (name, event, status, code) in cases {
        assert_refused_before_upstream(create_meeting::handler, &[], name, &event, status, code).await;
    }
}

#[tokio::test]
async fn a_room_bound_token_may_create_its_own_room_only() {
    let token = participant_token(|c| c["roomId"] = json!("standup"));
    let other = create(&token).json(json!({"customRoomId": "elsewhere"}));
    assert_refused_before_upstream(create_meeting::handler, &[], "other room", &other, 403, "forbidden").await;
    let unnamed = create(&token);
    assert_refused_before_upstream(create_meeting::handler, &[], "no customRoomId", &unnamed, 403, "forbidden").await;

    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    let state = fake.state(&[]).await;
    let own = create(&token).json(json!({"customRoomId": "standup"}));
    let response = create_meeting::handler(state, own.request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
    assert_eq!(request_json(&fake.only_request().await), json!({"customRoomId": "standup"}));
}

#[tokio::test]
async fn the_log_names_the_token_s_participant_and_the_room() {
    let (logs, _guard) = capture_logs();
    let token = participant_token(|claims| claims["participantId"] = json!("user-42"));
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/rooms", room_reply()).await;
    let state = fake.state(&[]).await;
    let response = create_meeting::handler(state, create(&token).request()).await;
    assert_eq!(response.status(), 200);
    assert_logged(
        &logs,
        "created a room for a participant token",
        &["caller=\"user-42\"", "room_id=\"abcd-efgh-ijkl\"", "jti="],
    );
    assert!(!logs.text().contains(&token), "the token was logged");
}
