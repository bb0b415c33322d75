//! `end-meeting` against a fake VideoSDK: the session ended for everyone, the room deactivated
//! when asked.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, Refusal, Upstream, assert_all_refused, assert_logged, body_json, capture_logs,
    check_upstream_failures, event_file, request_json,
};
use wiremock::ResponseTemplate;

const ANONYMOUS: &[(&str, &str)] = &[("CALLER_AUTH", "none"), ("ANONYMOUS_ROOM_CONTROL", "allow")];

fn post(body: Value) -> Event {
    Event::post("/end-meeting").json(body)
}

async fn fake() -> FakeVideoSdk {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/sessions/end", ResponseTemplate::new(200).set_body_json(json!("Session ended"))).await;
    fake.on("POST", "/v2/rooms/deactivate", ResponseTemplate::new(200).set_body_json(json!({"disabled": true}))).await;
    fake
}

#[tokio::test]
async fn ends_the_session_and_deactivates_only_when_asked() {
    for (body, deactivated, calls) in [
        (json!({"roomId": "abcd-efgh-ijkl"}), false, vec!["/v2/sessions/end"]),
        (json!({"roomId": "abcd-efgh-ijkl", "deactivate": false}), false, vec!["/v2/sessions/end"]),
        (
            json!({"roomId": "abcd-efgh-ijkl", "deactivate": true}),
            true,
            vec!["/v2/rooms/deactivate", "/v2/sessions/end"],
        ),
    ] {
        let fake = fake().await;
        let state = fake.state(ANONYMOUS).await;
        let response = end_meeting::handler(state, post(body.clone()).request()).await;
        let answer = body_json(&response);
        assert_eq!(response.status(), 200, "{answer}");
        assert_eq!(answer, json!({"roomId": "abcd-efgh-ijkl", "ended": true, "deactivated": deactivated}));
        let requests = fake.requests().await;
        assert_eq!(requests.iter().map(|r| r.url.path()).collect::<Vec<_>>(), calls, "{body}");
        for request in &requests {
            testkit::assert_crawler_token(request, testkit::SECRET);
            assert_eq!(request_json(request), json!({"roomId": "abcd-efgh-ijkl"}));
        }
    }
}

#[tokio::test]
async fn the_stored_events_end_and_refuse() {
    let fake = fake().await;
    let state = fake.state(&[]).await;
    let response = end_meeting::handler(state, event_file("end-meeting.json")).await;
    assert_eq!(body_json(&response)["deactivated"], true);
    assert_eq!(fake.requests().await.len(), 2);
    let fake = FakeVideoSdk::start().await;
    let state = fake.state(&[]).await;
    let response = end_meeting::handler(state, event_file("end-meeting-not-moderator.json")).await;
    assert_eq!(response.status(), 403);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn no_live_session_is_ended_false() {
    // VideoSDK's refusals to end a session that is not live: the room is still locked.
    for reply in [
        ResponseTemplate::new(400).set_body_string("No active session found"),
        ResponseTemplate::new(422).set_body_json(json!({"message": "No active session"})),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/sessions/end", reply).await;
        fake.on("POST", "/v2/rooms/deactivate", ResponseTemplate::new(200).set_body_json(json!({"disabled": true})))
            .await;
        let state = fake.state(ANONYMOUS).await;
        let response =
            end_meeting::handler(state, post(json!({"roomId": "abcd-efgh-ijkl", "deactivate": true})).request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{body}");
        assert_eq!(body, json!({"roomId": "abcd-efgh-ijkl", "ended": false, "deactivated": true}));
        let paths: Vec<String> = fake.requests().await.iter().map(|r| r.url.path().to_owned()).collect();
        assert_eq!(paths, ["/v2/rooms/deactivate", "/v2/sessions/end"]);
    }
}

#[tokio::test]
async fn a_failed_step_does_not_stop_the_other_and_the_answer_says_what_happened() {
    let failed = || ResponseTemplate::new(500).set_body_string("<html>oops</html>");
    let ended = || ResponseTemplate::new(200).set_body_json(json!("Session ended"));
    let deactivated = || ResponseTemplate::new(200).set_body_json(json!({"disabled": true}));
    let not_ended = || ResponseTemplate::new(200).set_body_json(json!({"success": false, "message": "Session busy"}));
    // (deactivate reply, end reply, status, code, details)
    let cases = [
        (
            "deactivate fails, end succeeds",
            failed(),
            ended(),
            502,
            "upstream_error",
            json!({"deactivated": false, "ended": true}),
        ),
        (
            "unknown room: both refused",
            ResponseTemplate::new(404).set_body_json(json!({"message": "Room not found"})),
            ResponseTemplate::new(404).set_body_json(json!({"message": "Room not found"})),
            404,
            "not_found",
            json!({"deactivated": false, "ended": false}),
        ),
        (
            "deactivated, end fails",
            deactivated(),
            failed(),
            502,
            "upstream_error",
            json!({"deactivated": true, "ended": false}),
        ),
        (
            "deactivated, end 2xx success:false",
            deactivated(),
            not_ended(),
            502,
            "upstream_error",
            json!({"deactivated": true, "ended": false}),
        ),
        (
            "deactivate 2xx success:false, end succeeds",
            ResponseTemplate::new(200).set_body_json(json!({"success": false, "error": "Room locked"})),
            ended(),
            502,
            "upstream_error",
            json!({"deactivated": false, "ended": true}),
        ),
    ];
    for (name, deactivate, end, status, code, details) in cases {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/rooms/deactivate", deactivate).await;
        fake.on("POST", "/v2/sessions/end", end).await;
        let state = fake.state(ANONYMOUS).await;
        let response =
            end_meeting::handler(state, post(json!({"roomId": "abcd-efgh-ijkl", "deactivate": true})).request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), status, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert_eq!(body["error"]["details"], details, "{name}: {body}");
        let paths: Vec<String> = fake.requests().await.iter().map(|r| r.url.path().to_owned()).collect();
        assert_eq!(
            paths,
            ["/v2/rooms/deactivate", "/v2/sessions/end"],
            "{name}: the session is ended whatever happened"
        );
    }
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let room = json!({"roomId": "abcd-efgh-ijkl"});
    let cases: Vec<Refusal> = vec![
        ("missing roomId", ANONYMOUS, post(json!({"deactivate": true})), 400, "invalid_field"),
        ("deactivate text", ANONYMOUS, post(json!({"roomId": "r", "deactivate": "yes"})), 400, "invalid_field"),
        ("unknown field", ANONYMOUS, post(json!({"roomId": "r", "sessionId": "s"})), 400, "unknown_field"),
        ("GET", ANONYMOUS, Event::get("/end-meeting"), 405, "method_not_allowed"),
        ("anonymous without the opt-in", &[("CALLER_AUTH", "none")], post(room.clone()), 403, "forbidden"),
        ("signed-in non-moderator", &[], post(room.clone()).user("user-1", Some("[staff]")), 403, "forbidden"),
        ("no identity under jwt", &[], post(room), 401, "unauthenticated"),
    ];
    assert_all_refused(end_meeting::handler, cases).await;
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        end_meeting::handler,
        || post(json!({"roomId": "abcd-efgh-ijkl"})).request(),
        "POST",
        "/v2/sessions/end",
        // A refused session end (no live session) is `ended: false`, tested above: those classes
        // are replaced by a server error here.
        |case| {
            if case.code == "upstream_rejected" {
                case.upstream = Upstream::Reply(ResponseTemplate::new(500).set_body_string("oops"));
                (case.status, case.code, case.message) = (502, "upstream_error", None);
            }
        },
    )
    .await;
}

#[tokio::test]
async fn the_log_names_who_ended_which_meeting() {
    let (logs, _guard) = capture_logs();
    let fake = fake().await;
    let state = fake.state(&[]).await;
    let event = post(json!({"roomId": "room-5", "deactivate": true})).user("mod-7", Some("[videosdk-moderators]"));
    assert_eq!(end_meeting::handler(state, event.request()).await.status(), 200);
    assert_logged(&logs, "ended a meeting", &["caller=\"mod-7\"", "room_id=\"room-5\"", "deactivated=true"]);
}

/// Against the stand-in, which refuses to end a session when none is live (as VideoSDK does):
/// an idle room is still locked, and ending it answers `ended: false`.
#[tokio::test]
async fn an_idle_room_is_locked_and_a_live_one_ended_then_locked() {
    use videosdk_standin::Credentials;
    let server =
        videosdk_standin::start(Credentials { api_key: testkit::API_KEY.into(), secret: testkit::SECRET.into() }, None)
            .unwrap();
    let endpoint = server.uri();
    let mut vars = vec![("VIDEOSDK_API_ENDPOINT", endpoint.as_str())];
    vars.extend_from_slice(ANONYMOUS);
    let state = testkit::leak(testkit::state(shared::Uses::VideoSdkApi, &vars).await);
    let api = state.videosdk().unwrap();
    let create = |custom: &str| shared::videosdk::rooms::CreateRoom {
        custom_room_id: Some(custom.into()),
        ..Default::default()
    };
    let room = |id: &str| shared::ids::RoomId::parse(id).unwrap();
    let client = reqwest::Client::new();
    for (custom, live) in [("idle-room", false), ("live-room", true)] {
        shared::videosdk::rooms::create(api, &state.secrets, &create(custom)).await.unwrap();
        if live {
            let joined =
                client.post(format!("{endpoint}/_standin/join")).json(&json!({"roomId": custom})).send().await.unwrap();
            assert_eq!(joined.status(), 200);
        }
        let response = end_meeting::handler(state, post(json!({"roomId": custom, "deactivate": true})).request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{custom}: {body}");
        assert_eq!(body, json!({"roomId": custom, "ended": live, "deactivated": true}), "{custom}");
        let found = shared::videosdk::rooms::validate(api, &state.secrets, &room(custom)).await.unwrap();
        assert!(found.disabled, "{custom}: the room is locked");
    }
    // Without deactivate, an idle room: nothing ended, nothing locked, no error.
    shared::videosdk::rooms::create(api, &state.secrets, &create("quiet-room")).await.unwrap();
    let response = end_meeting::handler(state, post(json!({"roomId": "quiet-room"})).request()).await;
    assert_eq!(body_json(&response), json!({"roomId": "quiet-room", "ended": false, "deactivated": false}));
}
