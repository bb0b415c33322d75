//! `dispatch-agent` against a fake VideoSDK: the exact upstream body (the operator's agents, the
//! pinned version, the session cap, nothing a client may not choose), VideoSDK's answer shapes
//! for the agent starter apps, and every refusal with nothing sent upstream.

use serde_json::{Value, json};
use testkit::{
    Event, FakeVideoSdk, Refusal, assert_all_refused, assert_logged, assert_refused_before_upstream, bad_tokens,
    body_json, capture_logs, check_upstream_failures, event_file, participant_token, request_json,
};
use wiremock::ResponseTemplate;

/// `tutor` may be dispatched in any version; `support` only in version `sup-v7`.
const AGENTS: &[(&str, &str)] = &[("AGENTS", "tutor,support=sup-v7")];
const ROOM: &str = "abcd-efgh-ijkl";

fn app_dispatch(body: Value) -> Event {
    Event::post("/v2/agent/dispatch").json(body).header("Authorization", &participant_token(|_| {}))
}

fn versions(agent: &str) -> Event {
    Event::get(&format!("/ai/v1/agents/{agent}/versions")).header("Authorization", &participant_token(|_| {}))
}

fn dispatched() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"message": "Agent dispatched successfully", "data": {
        "success": true, "jobId": "job-1", "status": "dispatched", "workerId": "w-1", "roomId": ROOM, "agentId": "tutor"}}))
}

/// `AuthMode=apps`: dispatch-agent behind the authorizer (`CALLER_AUTH=jwt`), the apps' tokens
/// minted by get-token for anonymous callers (`TOKEN_CALLER_AUTH=none`).
const APPS_MODE: &[(&str, &str)] = &[("AGENTS", "tutor"), ("CALLER_AUTH", "jwt"), ("TOKEN_CALLER_AUTH", "none")];

/// A case: name, configuration, the event, and the body VideoSDK must receive.
type Forwarded<'a> = (&'a str, Vec<(&'a str, &'a str)>, Event, Value);

#[tokio::test]
async fn each_starter_app_s_dispatch_reaches_videosdk_as_the_operator_allows_it() {
    let timeout = json!({"sessionTimeoutSeconds": 1800});
    let cases: Vec<Forwarded> = vec![
        (
            "React: the listed version in versionId and versionTag",
            AGENTS.to_vec(),
            app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor", "versionId": "v3", "versionTag": "v3"})),
            json!({"agentId": "tutor", "meetingId": ROOM, "roomId": ROOM, "versionId": "v3", "versionTag": "v3",
                   "roomOptions": timeout}),
        ),
        (
            "React Native: no version",
            AGENTS.to_vec(),
            app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor"})),
            json!({"agentId": "tutor", "meetingId": ROOM, "roomId": ROOM, "roomOptions": timeout}),
        ),
        (
            "iOS: metadata handed on unchanged",
            AGENTS.to_vec(),
            app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor", "versionTag": "prod",
                                "metadata": {"variables": {"name": "Ada", "level": 3}}})),
            json!({"agentId": "tutor", "meetingId": ROOM, "roomId": ROOM, "versionTag": "prod",
                   "metadata": {"variables": {"name": "Ada", "level": 3}}, "roomOptions": timeout}),
        ),
        (
            "pinned agent, no version named: the pinned one",
            AGENTS.to_vec(),
            app_dispatch(json!({"meetingId": ROOM, "agentId": "support"})),
            json!({"agentId": "support", "meetingId": ROOM, "roomId": ROOM, "versionId": "sup-v7", "roomOptions": timeout}),
        ),
        (
            "Flutter: the pinned version named as versionId; roomId as the alias",
            AGENTS.to_vec(),
            app_dispatch(json!({"roomId": ROOM, "agentId": "support", "versionId": "sup-v7", "versionTag": "sup-v7"})),
            json!({"agentId": "support", "meetingId": ROOM, "roomId": ROOM, "versionId": "sup-v7", "roomOptions": timeout}),
        ),
        (
            "the operator's session cap",
            vec![("AGENTS", "tutor"), ("AGENT_SESSION_MAX_SECONDS", "600")],
            app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor"})),
            json!({"agentId": "tutor", "meetingId": ROOM, "roomId": ROOM, "roomOptions": {"sessionTimeoutSeconds": 600}}),
        ),
        (
            "a token bound to the room dispatches into it",
            AGENTS.to_vec(),
            Event::post("/v2/agent/dispatch")
                .json(json!({"meetingId": ROOM, "agentId": "tutor"}))
                .header("Authorization", &participant_token(|c| c["roomId"] = json!(ROOM))),
            json!({"agentId": "tutor", "meetingId": ROOM, "roomId": ROOM, "roomOptions": timeout}),
        ),
    ];
    for (name, vars, event, forwarded) in cases {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/agent/dispatch", dispatched()).await;
        let state = fake.state(&vars).await;
        let response = dispatch_agent::handler(state, event.request()).await;
        let body = body_json(&response);
        assert_eq!(response.status(), 200, "{name}: {body}");
        assert_eq!(body["data"]["success"], true, "{name}: the React app reads data.success");
        assert_eq!(body["data"]["jobId"], "job-1", "{name}");
        assert_eq!(body["data"]["roomId"], ROOM, "{name}");
        assert!(body["message"].is_string(), "{name}");
        assert_eq!(request_json(&fake.only_request().await), forwarded, "{name}");
    }
}

#[tokio::test]
async fn a_signed_in_caller_dispatches_in_this_api_s_envelope() {
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/agent/dispatch", dispatched()).await;
    let state = fake.state(AGENTS).await;
    let event = Event::post("/dispatch-agent").json(json!({"roomId": ROOM, "agentId": "support"})).user("user-1", None);
    let response = dispatch_agent::handler(state, event.request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(
        body,
        json!({"roomId": ROOM, "agentId": "support", "versionId": "sup-v7", "dispatched": true, "jobId": "job-1"})
    );
    assert_eq!(request_json(&fake.only_request().await)["versionId"], "sup-v7");

    // Anonymous callers with the operator's (local) opt-in; VideoSDK answering without a job id.
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/agent/dispatch", ResponseTemplate::new(200).set_body_json(json!("Agent dispatched"))).await;
    let state =
        fake.state(&[("AGENTS", "tutor"), ("CALLER_AUTH", "none"), ("ANONYMOUS_AGENT_DISPATCH", "allow")]).await;
    let event = Event::post("/dispatch-agent").json(json!({"meetingId": ROOM, "agentId": "tutor"}));
    let response = dispatch_agent::handler(state, event.request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!((body["jobId"].clone(), body["versionId"].clone()), (Value::Null, Value::Null));
}

#[tokio::test]
async fn refusals_reach_nothing_upstream() {
    let ok = || json!({"meetingId": ROOM, "agentId": "tutor"});
    let with = |extra: Value| {
        let mut body = ok();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        app_dispatch(body)
    };
    let big = "x".repeat(4100);
    let anonymous: &[(&str, &str)] = &[("AGENTS", "tutor"), ("CALLER_AUTH", "none")];
    let cases: Vec<Refusal> = vec![
        ("agent not listed", AGENTS, with(json!({"agentId": "other-agent"})), 403, "agent_not_allowed"),
        ("agent id differing in case", AGENTS, with(json!({"agentId": "Tutor"})), 403, "agent_not_allowed"),
        ("no AGENTS at all", &[], app_dispatch(ok()), 403, "agent_not_allowed"),
        (
            "another version of a pinned agent",
            AGENTS,
            with(json!({"agentId": "support", "versionId": "sup-v8"})),
            403,
            "agent_version_not_allowed",
        ),
        (
            "a version tag of a pinned agent",
            AGENTS,
            with(json!({"agentId": "support", "versionTag": "latest"})),
            403,
            "agent_version_not_allowed",
        ),
        (
            "pinned versionId with another versionTag",
            AGENTS,
            with(json!({"agentId": "support", "versionId": "sup-v7", "versionTag": "beta"})),
            403,
            "agent_version_not_allowed",
        ),
        (
            "sipOptions (a phone call)",
            AGENTS,
            with(json!({"sipOptions": {"to": "+15550100", "trunkId": "t"}})),
            400,
            "unknown_field",
        ),
        ("roomOptions", AGENTS, with(json!({"roomOptions": {"sessionTimeoutSeconds": 86400}})), 400, "unknown_field"),
        ("wait", AGENTS, with(json!({"wait": true})), 400, "unknown_field"),
        ("metadata over 4 KiB", AGENTS, with(json!({"metadata": {"notes": big}})), 400, "invalid_field"),
        ("metadata not an object", AGENTS, with(json!({"metadata": ["a"]})), 400, "invalid_field"),
        ("metadata a string", AGENTS, with(json!({"metadata": "{}"})), 400, "invalid_field"),
        ("versionId with a slash", AGENTS, with(json!({"versionId": "../v1"})), 400, "invalid_field"),
        ("versionTag not a string", AGENTS, with(json!({"versionTag": 3})), 400, "invalid_field"),
        ("no meetingId", AGENTS, app_dispatch(json!({"agentId": "tutor"})), 400, "invalid_field"),
        ("no agentId", AGENTS, app_dispatch(json!({"meetingId": ROOM})), 400, "invalid_field"),
        ("meetingId and roomId differ", AGENTS, with(json!({"roomId": "other-room"})), 400, "invalid_field"),
        ("room id ../x", AGENTS, with(json!({"meetingId": "../x"})), 400, "invalid_field"),
        ("malformed json", AGENTS, app_dispatch(json!(null)).body("{"), 400, "malformed_json"),
        (
            "a token for another room",
            AGENTS,
            Event::post("/v2/agent/dispatch")
                .json(ok())
                .header("Authorization", &participant_token(|c| c["roomId"] = json!("other-room"))),
            403,
            "forbidden",
        ),
        (
            "GET",
            AGENTS,
            Event::get("/v2/agent/dispatch").header("Authorization", &participant_token(|_| {})),
            405,
            "method_not_allowed",
        ),
        (
            "anonymous /dispatch-agent without the opt-in",
            anonymous,
            Event::post("/dispatch-agent").json(ok()),
            403,
            "forbidden",
        ),
        (
            "/dispatch-agent without identity under jwt",
            AGENTS,
            Event::post("/dispatch-agent").json(ok()),
            401,
            "unauthenticated",
        ),
        (
            "/dispatch-agent, signed in, agent not listed",
            AGENTS,
            Event::post("/dispatch-agent").json(json!({"meetingId": ROOM, "agentId": "x"})).user("u", None),
            403,
            "agent_not_allowed",
        ),
        ("versions of an agent not listed", AGENTS, versions("other-agent"), 403, "agent_not_allowed"),
        // Tokens minted for anonymous callers: every agent route needs ANONYMOUS_AGENT_DISPATCH=allow.
        ("anonymous token, app dispatch, no opt-in", anonymous, app_dispatch(ok()), 403, "forbidden"),
        ("anonymous token, versions, no opt-in", anonymous, versions("tutor"), 403, "forbidden"),
        ("apps mode: tokens minted anonymously, dispatch", APPS_MODE, app_dispatch(ok()), 403, "forbidden"),
        ("apps mode: tokens minted anonymously, versions", APPS_MODE, versions("tutor"), 403, "forbidden"),
        (
            "a lobby token (ask_join only)",
            AGENTS,
            Event::post("/v2/agent/dispatch")
                .json(ok())
                .header("Authorization", &participant_token(|c| c["permissions"] = json!(["ask_join"]))),
            403,
            "forbidden",
        ),
        ("other agent routes", AGENTS, Event::post("/v2/agent/general/dispatch").json(ok()), 404, "not_found"),
    ];
    assert_all_refused(dispatch_agent::handler, cases).await;

    // Every bad token, on both app routes: 401 with VideoSDK's top-level message beside the envelope.
    for (name, token) in bad_tokens() {
        for event in [Event::post("/v2/agent/dispatch").json(ok()), Event::get("/ai/v1/agents/tutor/versions")] {
            let event = match &token {
                Some(t) => event.header("Authorization", t),
                None => event,
            };
            let body =
                assert_refused_before_upstream(dispatch_agent::handler, AGENTS, name, &event, 401, "unauthenticated")
                    .await;
            assert_eq!(body["message"], body["error"]["message"], "{name}: the apps show the top-level message");
        }
    }
}

#[tokio::test]
async fn anonymous_dispatch_is_the_operator_s_opt_in_on_every_agent_route() {
    // Refused: the message tells the operator what to set, at the top level where the apps read it.
    for config in [&[("AGENTS", "tutor"), ("CALLER_AUTH", "none")][..], APPS_MODE] {
        for event in [app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor"})), versions("tutor")] {
            let body =
                assert_refused_before_upstream(dispatch_agent::handler, config, "no opt-in", &event, 403, "forbidden")
                    .await;
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("ANONYMOUS_AGENT_DISPATCH=allow") && message.contains("AnonymousAgentDispatch"));
        }
    }
    // Opted in: served.
    for config in [
        &[("AGENTS", "tutor"), ("CALLER_AUTH", "none"), ("ANONYMOUS_AGENT_DISPATCH", "allow")][..],
        &[
            ("AGENTS", "tutor"),
            ("CALLER_AUTH", "jwt"),
            ("TOKEN_CALLER_AUTH", "none"),
            ("ANONYMOUS_AGENT_DISPATCH", "allow"),
        ],
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/agent/dispatch", dispatched()).await;
        let state = fake.state(config).await;
        let response =
            dispatch_agent::handler(state, app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor"})).request())
                .await;
        assert_eq!(response.status(), 200, "{config:?}: {}", body_json(&response));
    }
}

#[tokio::test]
async fn an_unpinned_agent_s_versions_are_asked_once_a_minute() {
    let fake = FakeVideoSdk::start().await;
    let listed = json!({"versions": [{"versionId": "v3"}]});
    fake.on("GET", "/ai/v1/agents/tutor/versions", ResponseTemplate::new(200).set_body_json(listed)).await;
    let state = fake.state(AGENTS).await;
    for _ in 0..5 {
        let response = dispatch_agent::handler(state, versions("tutor").request()).await;
        assert_eq!(
            body_json(&response),
            json!({"versions": [{"versionId": "v3", "versionTag": null, "createdAt": null}]})
        );
    }
    assert_eq!(fake.requests().await.len(), 1, "answered from the container's cache for 60 s");
    assert_eq!(dispatch_agent::VERSIONS_CACHE.as_secs(), 60);
}

#[tokio::test]
async fn errors_on_videosdk_s_routes_carry_a_top_level_message_and_ours_do_not() {
    let body = assert_refused_before_upstream(
        dispatch_agent::handler,
        AGENTS,
        "not listed",
        &app_dispatch(json!({"meetingId": ROOM, "agentId": "nope"})),
        403,
        "agent_not_allowed",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("AGENTS"), "{body}");
    assert_eq!(body["message"], body["error"]["message"]);
    let own = Event::post("/dispatch-agent").json(json!({"meetingId": ROOM, "agentId": "nope"})).user("u", None);
    let body =
        assert_refused_before_upstream(dispatch_agent::handler, AGENTS, "own", &own, 403, "agent_not_allowed").await;
    assert!(body.get("message").is_none(), "our envelope only: {body}");
}

#[tokio::test]
async fn versions_are_pinned_without_a_call_or_read_defensively() {
    // Pinned: VideoSDK is not asked.
    let body = {
        let fake = FakeVideoSdk::start().await;
        let state = fake.state(AGENTS).await;
        let response = dispatch_agent::handler(state, versions("support").request()).await;
        assert!(fake.requests().await.is_empty(), "a pinned agent's versions need no upstream call");
        assert_eq!(response.status(), 200);
        body_json(&response)
    };
    assert_eq!(body, json!({"versions": [{"versionId": "sup-v7"}]}));

    // Unpinned: three fields per version, in upstream order, whatever else VideoSDK sends.
    let upstream = json!({"versions": [
        {"versionId": "v3", "versionTag": "prod", "createdAt": "2026-06-01T00:00:00Z",
         "config": {"llm": {"apiKey": "fake-model-key-for-this-test"}}, "env": {"DB_PASSWORD": "hunter2"}},
        {"versionId": "v2", "status": "retired"},
    ], "agent": {"systemPrompt": "internal"}});
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/ai/v1/agents/tutor/versions", ResponseTemplate::new(200).set_body_json(upstream)).await;
    let state = fake.state(AGENTS).await;
    let response = dispatch_agent::handler(state, versions("tutor").request()).await;
    let body = body_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(
        body,
        json!({"versions": [
            {"versionId": "v3", "versionTag": "prod", "createdAt": "2026-06-01T00:00:00Z"},
            {"versionId": "v2", "versionTag": null, "createdAt": null},
        ]})
    );
    for leaked in ["fake-model-key-for-this-test", "hunter2", "internal", "retired"] {
        assert!(!body.to_string().contains(leaked), "{leaked} passed on");
    }
    let sent = fake.only_request().await;
    assert_eq!(sent.url.path(), "/ai/v1/agents/tutor/versions");

    // Odd shapes: never a 5xx.
    for odd in
        [json!("text"), json!([1, 2]), json!({"versions": "none"}), json!({"versions": [null, 7, {"versionId": {}}]})]
    {
        let fake = FakeVideoSdk::start().await;
        fake.on("GET", "/ai/v1/agents/tutor/versions", ResponseTemplate::new(200).set_body_json(odd.clone())).await;
        let state = fake.state(AGENTS).await;
        let response = dispatch_agent::handler(state, versions("tutor").request()).await;
        assert_eq!(response.status(), 200, "{odd}");
        assert_eq!(body_json(&response), json!({"versions": []}), "{odd}");
    }
    // An agent id needing encoding is encoded upstream.
    let fake = FakeVideoSdk::start().await;
    fake.on("GET", "/ai/v1/agents/a.b_c-d/versions", ResponseTemplate::new(200).set_body_json(json!({"versions": []})))
        .await;
    let state = fake.state(&[("AGENTS", "a.b_c-d")]).await;
    let response = dispatch_agent::handler(state, versions("a.b_c-d").request()).await;
    assert_eq!(response.status(), 200, "{}", body_json(&response));
}

#[tokio::test]
async fn every_upstream_failure_maps_to_the_contract() {
    check_upstream_failures(
        dispatch_agent::handler,
        || app_dispatch(json!({"meetingId": ROOM, "agentId": "tutor"})).request(),
        "POST",
        "/v2/agent/dispatch",
        |_| {},
    )
    .await;
}

#[tokio::test]
async fn the_stored_events_answer_as_the_contract_says() {
    for (file, status, code) in [
        ("dispatch-agent.json", 200, None),
        ("dispatch-agent-missing-identity.json", 401, Some("unauthenticated")),
        ("dispatch-agent-sip.json", 400, Some("unknown_field")),
        ("dispatch-agent-not-listed.json", 403, Some("agent_not_allowed")),
        ("dispatch-agent-other-version.json", 403, Some("agent_version_not_allowed")),
        ("dispatch-agent-app-no-token.json", 401, Some("unauthenticated")),
        ("dispatch-agent-app-forged-token.json", 401, Some("unauthenticated")),
        ("dispatch-agent-versions-no-token.json", 401, Some("unauthenticated")),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("POST", "/v2/agent/dispatch", dispatched()).await;
        let state = fake.state(&[("AGENTS", "dev-agent,pinned-agent=pinned-v1")]).await;
        let response = dispatch_agent::handler(state, event_file(file)).await;
        let body = body_json(&response);
        assert_eq!(response.status(), status, "{file}: {body}");
        match code {
            Some(code) => {
                assert_eq!(body["error"]["code"], code, "{file}");
                assert!(fake.requests().await.is_empty(), "{file}: nothing sent upstream");
            }
            None => {
                let sent = request_json(&fake.only_request().await);
                assert_eq!(sent["metadata"], json!({"variables": {"name": "Ada"}}), "{file}");
                assert_eq!(sent["roomOptions"]["sessionTimeoutSeconds"], 1800, "{file}");
            }
        }
    }
}

#[tokio::test]
async fn the_log_names_who_dispatched_which_agent_into_which_room() {
    let (logs, _guard) = capture_logs();
    let fake = FakeVideoSdk::start().await;
    fake.on("POST", "/v2/agent/dispatch", dispatched()).await;
    let state = fake.state(AGENTS).await;
    let event = Event::post("/v2/agent/dispatch").json(json!({"meetingId": "room-5", "agentId": "support"})).header(
        "Authorization",
        &participant_token(|c| {
            c["participantId"] = json!("ada");
            c["jti"] = json!("0b6f7f9e-jti-of-ada");
        }),
    );
    let response = dispatch_agent::handler(state, event.request()).await;
    assert_eq!(response.status(), 200);
    assert_logged(
        &logs,
        "dispatched an agent",
        &[
            "caller=\"ada\"",
            "jti=\"0b6f7f9e-jti-of-ada\"",
            "room_id=\"room-5\"",
            "agent_id=\"support\"",
            "version=\"sup-v7\"",
            "job_id=\"job-1\"",
        ],
    );
}
