//! Property-based fuzzing of event → validated request, for every function: arbitrary methods,
//! paths, path parameters, query strings, bodies, `Authorization` headers and authorizer claims
//! never panic, never answer 5xx, and never make VideoSDK receive an invalid request.
//!
//! `FUZZ_SECONDS` runs a target for that long (the long run, `make fuzz`); otherwise a short
//! run of `FUZZ_CASES` (default 200) cases, which the test command includes.

use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

use crate::{ANONYMOUS_OPTED_IN, Event, FakeVideoSdk, SECRET, assert_crawler_token, participant_token};
use shared::State;
use shared::ids::{RoomId, url_host};

/// Field names the functions know, so generated bodies reach past the unknown-field check.
const FIELDS: &[&str] = &[
    "roomId",
    "meetingId",
    "participantId",
    "peerId",
    "permissions",
    "ttl",
    "customRoomId",
    "webhook",
    "autoCloseConfig",
    "geoFence",
    "type",
    "outputs",
    "restream",
    "config",
    "templateUrl",
    "token",
    "region",
    "page",
    "perPage",
    "sessionId",
    "transcription",
    "deactivate",
    "webhookUrl",
    "awsDirPath",
    "dirPath",
    "agentId",
    "versionId",
    "versionTag",
    "metadata",
    "sipOptions",
    "roomOptions",
    "wait",
    "language",
    "summary",
    "modelId",
    "enabled",
    "prompt",
];

/// Text that is often almost valid: ids, permissions, URLs, dots, encodings, controls, unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("abcd-efgh-ijkl".to_owned()),
        Just("..".to_owned()),
        Just("%2e%2E".to_owned()),
        Just("allow_join,allow_mod".to_owned()),
        Just("ask_join".to_owned()),
        Just("rtmp://a.rtmp.youtube.com/live2".to_owned()),
        Just("rtmp://user:pw@evil.example.com/x".to_owned()),
        Just("https://hooks.example.com/h".to_owned()),
        Just("hls".to_owned()),
        Just("rtmp".to_owned()),
        Just("a\r\nb".to_owned()),
        Just("\u{0}".to_owned()),
        Just("аbc".to_owned()),
        Just("9".repeat(30)),
        "[a-z0-9._~=&@/:?#%-]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(200).collect()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![4 => prop::sample::select(FIELDS).prop_map(str::to_owned), 1 => "[a-zA-Z]{1,8}", 1 => Just("url".to_owned()), 1 => Just("streamKey".to_owned())]
}

/// A valid body of one of the functions with one field set to anything (or removed).
fn near_valid_body() -> impl Strategy<Value = Option<String>> {
    let templates = [
        json!({"roomId": "abcd-efgh-ijkl", "type": "rtmp",
               "outputs": [{"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "k-1"}]}),
        json!({"roomId": "abcd-efgh-ijkl", "type": "hls", "config": {"theme": "DARK"}}),
        json!({"roomId": "abcd-efgh-ijkl", "participantId": "p-1", "permissions": ["allow_join"], "ttl": 600}),
        json!({"customRoomId": "standup", "webhook": {"endPoint": "https://h.example.com/w", "events": ["session-ended"]},
               "autoCloseConfig": {"type": "session-end-and-deactivate", "duration": 30}, "geoFence": "eu001"}),
        json!({"meetingId": "abcd-efgh-ijkl"}),
        json!({"roomId": "abcd-efgh-ijkl", "config": {"mode": "audio"},
               "transcription": {"enabled": true, "summary": {"enabled": true, "prompt": "p"}}}),
        json!({"roomId": "abcd-efgh-ijkl", "deactivate": true}),
        json!({"meetingId": "abcd-efgh-ijkl", "agentId": "tutor", "versionId": "v3", "versionTag": "v3",
               "metadata": {"variables": {"name": "Ada"}}}),
        json!({"meetingId": "abcd-efgh-ijkl", "agentId": "support", "versionId": "sup-v7"}),
        json!({"roomId": "abcd-efgh-ijkl", "language": "en-US", "summary": {"enabled": true, "prompt": "p"}}),
    ];
    (prop::sample::select(templates.to_vec()), field_name(), prop::option::of(json_value())).prop_map(
        |(mut body, field, value)| {
            let map = body.as_object_mut().expect("an object");
            match value {
                Some(v) => map.insert(field, v),
                None => map.remove(&field),
            };
            Some(body.to_string())
        },
    )
}

fn body() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        4 => near_valid_body(),
        4 => prop::collection::vec((field_name(), json_value()), 0..6)
            .prop_map(|pairs| Some(Value::Object(pairs.into_iter().collect::<Map<_, _>>()).to_string())),
        1 => json_value().prop_map(|v| Some(v.to_string())),
        1 => any::<String>().prop_map(Some),
    ]
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec((field_name(), text()), 0..5).prop_map(|pairs| {
        pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
    })
}

/// One arbitrary event for the function whose routes start with `prefixes`.
fn event(prefixes: &'static [&'static str]) -> impl Strategy<Value = Event> {
    let method = prop_oneof![
        4 => Just("GET"),
        4 => Just("POST"),
        1 => prop::sample::select(&["PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"][..]),
    ];
    let prefix = prop::sample::select(prefixes);
    let segments = prop::collection::vec(text(), 0..3);
    let path_param = prop::option::of(text());
    let auth = prop_oneof![
        2 => Just(None),
        1 => Just(Some(participant_token(|_| {}))),
        1 => text().prop_map(|room| Some(participant_token(|c| c["roomId"] = json!(room)))),
        // What HTTP can carry in a header: visible ASCII, spaces and tabs.
        1 => "[ -~\t]{0,80}".prop_map(Some),
        1 => "Bearer [ -~]{0,40}".prop_map(Some),
    ];
    let claims = prop::option::of((prop::option::of(text()), prop::option::of(text())));
    let iam =
        prop::option::of(prop_oneof![Just("arn:aws:sts::123456789012:assumed-role/agent/i-1".to_owned()), text()]);
    // Also what API Gateway may pass unencoded, and headers a URI cannot hold: lambda_http
    // panics on these without the guard (shared::guard).
    let raw_query = prop::option::of("[ -~\u{7f}]{0,40}");
    let raw_segment = prop::option::of("[ -~\u{7f}]{0,20}");
    let odd_headers = prop::option::of((
        prop::sample::select(&["host", "x-forwarded-proto"][..]),
        prop_oneof!["[ -~]{0,30}", Just("a b".to_owned()), Just("ht tp".to_owned())],
    ));
    (method, prefix, segments, path_param, query(), body(), auth, (claims, iam), (raw_query, raw_segment, odd_headers))
        .prop_map(
            |(method, prefix, segments, param, query, body, auth, (claims, iam), (raw_query, raw_segment, odd))| {
                let mut path = prefix.to_owned();
                for s in &segments {
                    path.push('/');
                    path.push_str(&encode(s));
                }
                if let Some(raw) = raw_segment {
                    path.push('/');
                    path.push_str(&raw);
                }
                let mut event = Event::new(method, &path).query(raw_query.as_deref().unwrap_or(&query));
                if let Some((name, value)) = odd {
                    event = event.header(name, &value);
                }
                if let Some(b) = body {
                    event = event.body(&b);
                }
                if let Some(p) = param {
                    event = event.path_parameter("meetingId", &p);
                }
                if let Some(a) = auth {
                    event = event.header("Authorization", &a);
                }
                if let Some((sub, groups)) = claims {
                    let mut c = Map::new();
                    if let Some(s) = sub {
                        c.insert("sub".into(), json!(s));
                    }
                    if let Some(g) = groups {
                        c.insert("cognito:groups".into(), json!(g));
                    }
                    event = event.claims(Value::Object(c));
                }
                if let Some(arn) = iam {
                    event = event.iam(&arn);
                }
                event
            },
        )
}

/// Asserts that what reached the fake VideoSDK is a request VideoSDK documents, with valid ids,
/// whitelisted fields, allowed hosts and the server's own crawler token.
fn check_upstream(request: &wiremock::Request, allowed_hosts: &[&str]) -> Result<(), String> {
    assert_crawler_token(request, SECRET);
    let path = request.url.path();
    let room = |id: &str| RoomId::parse(id).map(drop).map_err(|e| format!("{path}: room id {id:?} {e}"));
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body).map_err(|e| format!("{path}: body not JSON: {e}"))?
    };
    let keys = |allowed: &[&str]| match &body {
        Value::Object(map) => match map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("{path}: field {k} forwarded")),
            None => Ok(()),
        },
        Value::Null => Ok(()),
        other => Err(format!("{path}: body {other}")),
    };
    let body_room = || body["roomId"].as_str().ok_or(format!("{path}: no roomId")).and_then(room);
    match (request.method.as_str(), path) {
        ("POST", "/v2/rooms") => keys(&["customRoomId", "webhook", "autoCloseConfig", "geoFence"]),
        ("GET", p) if p.starts_with("/v2/rooms/validate/") => room(&p["/v2/rooms/validate/".len()..]),
        ("GET", "/v2/sessions/") => {
            let id = request.url.query_pairs().find(|(k, _)| k == "roomId").map(|(_, v)| v.into_owned());
            room(&id.unwrap_or_default())
        }
        ("GET", p) if p.starts_with("/v2/hls/") && p.ends_with("/active") => {
            room(&p["/v2/hls/".len()..p.len() - "/active".len()])
        }
        (
            "POST",
            "/v2/livestreams/end" | "/v2/hls/end" | "/v2/recordings/end" | "/v2/sessions/end" | "/v2/rooms/deactivate",
        ) => keys(&["roomId"]).and_then(|_| body_room()),
        // No state here configures WEBHOOK_URL or RECORDING_DIR_PATH: neither may be sent.
        ("POST", "/v2/recordings/start") => keys(&["roomId", "config", "transcription"]).and_then(|_| body_room()),
        ("GET", "/v2/recordings") => {
            let id = request.url.query_pairs().find(|(k, _)| k == "roomId").map(|(_, v)| v.into_owned());
            room(&id.unwrap_or_default())
        }
        ("POST", "/v2/hls/start") => keys(&["roomId", "config", "templateUrl"]).and_then(|_| body_room()),
        // ANONYMOUS_OPTED_IN lists tutor (any version) and support (pinned to sup-v7).
        ("POST", "/v2/agent/dispatch") => {
            keys(&["agentId", "meetingId", "roomId", "versionId", "versionTag", "metadata", "roomOptions"])?;
            body_room()?;
            if body["meetingId"] != body["roomId"] {
                return Err(format!("{path}: meetingId and roomId differ"));
            }
            if body["roomOptions"] != json!({"sessionTimeoutSeconds": 1800}) {
                return Err(format!("{path}: roomOptions {}", body["roomOptions"]));
            }
            match body["agentId"].as_str() {
                Some("tutor") => {}
                Some("support") if body["versionId"] == "sup-v7" && body.get("versionTag").is_none() => {}
                other => return Err(format!("{path}: agent {other:?} with {body}")),
            }
            match &body["metadata"] {
                Value::Null => Ok(()),
                Value::Object(m) if serde_json::to_vec(m).map(|b| b.len()).unwrap_or(usize::MAX) <= 4096 => Ok(()),
                other => Err(format!("{path}: metadata {other}")),
            }
        }
        ("GET", "/ai/v1/agents/tutor/versions") => Ok(()),
        // No state here configures WEBHOOK_URL: it may not be sent, nor a caller's model.
        ("POST", "/ai/v1/realtime-transcriptions/start") => {
            keys(&["roomId", "language", "summary"]).and_then(|_| body_room())
        }
        ("POST", "/ai/v1/realtime-transcriptions/end") => keys(&["roomId"]).and_then(|_| body_room()),
        ("POST", "/v2/livestreams/start") => {
            keys(&["roomId", "outputs", "config", "templateUrl"]).and_then(|_| body_room())?;
            let outputs = body["outputs"].as_array().ok_or(format!("{path}: no outputs"))?;
            for o in outputs {
                let host = url_host(o["url"].as_str().unwrap_or_default(), &["rtmp", "rtmps"])
                    .map_err(|e| format!("{path}: url {e}"))?;
                if !allowed_hosts.contains(&host.as_str()) {
                    return Err(format!("{path}: host {host} not allowed"));
                }
                let key = o["streamKey"].as_str().unwrap_or_default();
                let ok = !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~=&".contains(&b))
                    && !key.bytes().all(|b| b == b'.');
                if !ok {
                    return Err(format!("{path}: stream key with forbidden characters"));
                }
            }
            Ok(())
        }
        (method, path) => Err(format!("{method} {path} is not a VideoSDK call this API makes")),
    }
}

/// Fuzzes one function: `prefixes` are its routes' first segments (`/get-token`, `/v2/rooms`).
pub fn fuzz_function<H, F>(name: &str, handler: H, prefixes: &'static [&'static str])
where
    H: Fn(&'static State, Request) -> F,
    F: std::future::Future<Output = Response<Body>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let fake = runtime.block_on(async {
        let fake = FakeVideoSdk::start().await;
        mount(&fake).await;
        fake
    });
    let hosts = ["a.rtmp.youtube.com", "live-api-s.facebook.com", "h.example.com"];
    let states: Vec<&'static State> = runtime.block_on(async {
        vec![
            fake.state(ANONYMOUS_OPTED_IN).await,
            fake.state(&[]).await,
            fake.state(&[("PARTICIPANT_TOKEN_ROLE", "none")]).await,
        ]
    });

    let seconds: Option<u64> = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok());
    let cases: u32 = std::env::var("FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let started = Instant::now();
    let total = std::cell::Cell::new(0u64);
    let seen = std::cell::Cell::new(0usize);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u64>::new());
    loop {
        let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
        let result = runner.run(&(event(prefixes), 0..states.len()), |(event, which)| {
            let request = event.request();
            let response = runtime.block_on(handler(states[which], request));
            let status = response.status().as_u16();
            *statuses.borrow_mut().entry(status).or_default() += 1;
            total.set(total.get() + 1);
            let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
            if status >= 500 {
                return Err(TestCaseError::fail(format!("{status} for {:?}: {body}", event.to_json())));
            }
            if status >= 400 && !body["error"]["code"].is_string() {
                return Err(TestCaseError::fail(format!("{status} without the envelope: {body}")));
            }
            let received = runtime.block_on(fake.server.received_requests()).unwrap_or_default();
            for request in &received[seen.get()..] {
                check_upstream(request, &hosts).map_err(TestCaseError::fail)?;
            }
            seen.set(received.len());
            if received.len() > 500 {
                // Keep the record short: forget what was checked.
                runtime.block_on(async {
                    fake.server.reset().await;
                    mount(&fake).await;
                });
                seen.set(0);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        match seconds {
            Some(s) if started.elapsed() < Duration::from_secs(s) => continue,
            _ => break,
        }
    }
    let (total, statuses) = (total.get(), statuses.borrow());
    println!("fuzz {name}: {total} cases in {:.1?}, 0 failures; statuses {statuses:?}", started.elapsed());
}

/// The fake VideoSDK's answers: a success in the documented shape for every call this API makes.
async fn mount(fake: &FakeVideoSdk) {
    let room = json!({"roomId": "abcd-efgh-ijkl", "customRoomId": null, "disabled": false,
                      "createdAt": "2026-11-24T00:00:00.000Z"});
    let hls = json!({"sessionId": "s", "roomId": "abcd-efgh-ijkl", "playbackHlsUrl": "https://p/x.m3u8",
                     "livestreamUrl": "https://p/l.m3u8"});
    for (method, path, answer) in [
        ("POST", "/v2/rooms", room.clone()),
        ("POST", "/v2/livestreams/start", json!("started")),
        ("POST", "/v2/livestreams/end", json!("ended")),
        ("POST", "/v2/hls/start", hls.clone()),
        ("POST", "/v2/hls/end", json!({})),
        ("GET", "/v2/sessions/", json!({"data": [], "pageInfo": {"currentPage": 1}})),
        ("POST", "/v2/recordings/start", json!("Recording started")),
        ("POST", "/v2/recordings/end", json!("Recording stopped")),
        ("GET", "/v2/recordings", json!({"data": [{"id": "r", "file": {"fileUrl": "https://f/x.mp4"}}]})),
        ("POST", "/v2/sessions/end", json!("Session ended")),
        ("POST", "/v2/rooms/deactivate", json!({"disabled": true})),
        ("POST", "/v2/agent/dispatch", json!({"message": "Agent dispatched", "data": {"success": true, "jobId": "j"}})),
        ("GET", "/ai/v1/agents/tutor/versions", json!({"versions": [{"versionId": "v3", "config": {}}]})),
        ("POST", "/ai/v1/realtime-transcriptions/start", json!({"id": "t-1", "status": "starting"})),
        ("POST", "/ai/v1/realtime-transcriptions/end", json!("Transcription stopped")),
    ] {
        fake.on(method, path, wiremock::ResponseTemplate::new(200).set_body_json(answer)).await;
    }
    for (prefix, answer) in [("/v2/rooms/validate/", room), ("/v2/hls/", json!({"data": hls}))] {
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path_regex(format!("^{prefix}")))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(answer))
            .mount(&fake.server)
            .await;
    }
}

/// Fuzzes `videosdk-webhook`: arbitrary bodies (verified or not), signature headers and methods
/// never panic and never answer 5xx, and a delivery is accepted (and so published) only when
/// its signature verifies over the exact bytes and the body is an object with a string
/// `webhookType`.
pub fn fuzz_webhook<H, F>(handler: H)
where
    H: Fn(&'static State, Request) -> F,
    F: std::future::Future<Output = Response<Body>>,
{
    use shared::signature::{PublicKey, Signer};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let signer = Signer::generate();
    let other = Signer::generate();
    let pem = signer.public_key_pem();
    let state = runtime.block_on(crate::webhook_state(&[("VIDEOSDK_WEBHOOK_PUBLIC_KEY", pem.as_str())], None));
    let key = PublicKey::from_pem(&pem).expect("the key");
    let webhook_body = prop_oneof![
        2 => (prop::sample::select(shared::ids::WEBHOOK_EVENT_TYPES), json_value())
            .prop_map(|(t, data)| json!({"webhookType": t, "data": data}).to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => body().prop_map(Option::unwrap_or_default),
        1 => any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    // 0: none, 1: valid, 2: valid for other bytes, 3: another key, 4: arbitrary text.
    let strategy =
        (webhook_body, 0u8..5, "[ -~]{0,60}", prop::sample::select(&["POST", "POST", "GET", "PUT"][..]), any::<bool>());
    let seconds: Option<u64> = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok());
    let cases: u32 = std::env::var("FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let started = Instant::now();
    let total = std::cell::Cell::new(0u64);
    let accepted = std::cell::Cell::new(0u64);
    loop {
        let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
        let result = runner.run(&strategy, |(body, how, text, method, base64)| {
            let header = match how {
                0 => None,
                1 => Some(signer.sign(body.as_bytes())),
                2 => Some(signer.sign(format!("{body} ").as_bytes())),
                3 => Some(other.sign(body.as_bytes())),
                _ => Some(text),
            };
            let mut event = Event::new(method, "/videosdk-webhook");
            event = if base64 {
                use base64::Engine;
                event.base64_body(&base64::engine::general_purpose::STANDARD.encode(&body))
            } else {
                event.body(&body)
            };
            if let Some(h) = &header {
                event = event.header("videosdk-signature", h);
            }
            let response = runtime.block_on(handler(state, event.request()));
            let status = response.status().as_u16();
            total.set(total.get() + 1);
            if status >= 500 {
                return Err(TestCaseError::fail(format!("{status} for {:?}", event.to_json())));
            }
            let verified = key.verify(body.as_bytes(), header.as_deref()).is_ok();
            let well_formed = serde_json::from_str::<Value>(&body).ok().is_some_and(|v| v["webhookType"].is_string());
            let should_accept =
                method == "POST" && verified && well_formed && body.len() <= shared::webhook::MAX_WEBHOOK_BYTES;
            if (status == 200) != should_accept {
                return Err(TestCaseError::fail(format!("{status} (verified {verified}) for {:?}", event.to_json())));
            }
            if status == 200 {
                accepted.set(accepted.get() + 1);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("videosdk-webhook: {e}");
        }
        match seconds {
            Some(s) if started.elapsed() < Duration::from_secs(s) => continue,
            _ => break,
        }
    }
    println!(
        "fuzz videosdk-webhook: {} cases in {:.1?}, {} accepted (all validly signed), 0 failures",
        total.get(),
        started.elapsed(),
        accepted.get()
    );
}
