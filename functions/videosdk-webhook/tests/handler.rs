//! `videosdk-webhook` through `lambda_http` events: signatures over the raw body, the key pinned
//! or fetched from a fake VideoSDK, and publishing to moto's EventBridge (through a proxy that
//! can make it refuse). Nothing is published unless the signature verifies.
#![recursion_limit = "256"]

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use shared::events::EventBus;
use shared::signature::Signer;
use testkit::{
    Event, FakeVideoSdk, Fault, FaultProxy, Moto, body_json, capture_logs, eventbridge_client, webhook_event,
    webhook_state,
};
use wiremock::ResponseTemplate;

const BODY: &str = r#"{"webhookType":"recording-stopped","data":{"meetingId":"abcd-efgh-ijkl","sessionId":"s-1","fileUrl":"https://cdn.example.com/r.mp4"}}"#;

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(Signer::generate)
}

fn pinned() -> Vec<(&'static str, String)> {
    vec![("VIDEOSDK_WEBHOOK_PUBLIC_KEY", signer().public_key_pem())]
}

fn vars<'a>(list: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    list.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn signed(body: &str) -> Event {
    webhook_event(body, Some(&signer().sign(body.as_bytes())))
}

async fn answer(state: &'static shared::State, event: lambda_http::Request) -> (u16, Value) {
    let response = videosdk_webhook::handler(state, event).await;
    (response.status().as_u16(), body_json(&response))
}

#[tokio::test]
async fn signatures_are_checked_over_the_raw_body() {
    let config = pinned();
    let state = webhook_state(&vars(&config), None).await;
    let id = shared::signature::sha256_hex(BODY.as_bytes());
    let other = Signer::generate();
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(BODY).unwrap()).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(BODY);
    let cases: Vec<(&str, lambda_http::Request, u16, &str)> = vec![
        ("valid", signed(BODY).request(), 200, ""),
        (
            "base64-encoded event body",
            Event::post("/videosdk-webhook")
                .base64_body(&encoded)
                .header("videosdk-signature", &signer().sign(BODY.as_bytes()))
                .request(),
            200,
            "",
        ),
        (
            "tampered body",
            webhook_event(&BODY.replace("s-1", "s-2"), Some(&signer().sign(BODY.as_bytes()))).request(),
            401,
            "invalid_signature",
        ),
        ("wrong key", webhook_event(BODY, Some(&other.sign(BODY.as_bytes()))).request(), 401, "invalid_signature"),
        ("no header", webhook_event(BODY, None).request(), 401, "invalid_signature"),
        ("non-base64 header", webhook_event(BODY, Some("%%% not base64 %%%")).request(), 401, "invalid_signature"),
        (
            "re-serialised body",
            webhook_event(&pretty, Some(&signer().sign(BODY.as_bytes()))).request(),
            401,
            "invalid_signature",
        ),
    ];
    for (name, request, status, code) in cases {
        let (got, body) = answer(state, request).await;
        assert_eq!(got, status, "{name}: {body}");
        if status == 200 {
            assert_eq!(body, json!({"received": true, "id": id}), "{name}");
        } else {
            assert_eq!(body["error"]["code"], code, "{name}: {body}");
        }
    }
    // The stored events, signed with the stand-in's development key.
    let dev = vec![(
        "VIDEOSDK_WEBHOOK_PUBLIC_KEY",
        include_str!("../../../dev/videosdk-standin/keys/dev-webhook-public-key.pem").to_owned(),
    )];
    let state = webhook_state(&vars(&dev), None).await;
    for (file, status) in
        [("videosdk-webhook.json", 200), ("videosdk-webhook-forged.json", 401), ("videosdk-webhook-unsigned.json", 401)]
    {
        let (got, body) = answer(state, testkit::event_file(file)).await;
        assert_eq!(got, status, "{file}: {body}");
    }
}

#[tokio::test]
async fn a_verified_body_must_be_an_object_with_a_webhook_type_and_at_most_64_kib() {
    let config = pinned();
    let state = webhook_state(&vars(&config), None).await;
    for (name, body, status, code) in [
        ("not JSON", "not json".to_owned(), 400, "malformed_json"),
        ("an array", "[1,2]".to_owned(), 400, "invalid_field"),
        ("no webhookType", r#"{"data":{}}"#.to_owned(), 400, "invalid_field"),
        ("webhookType a number", r#"{"webhookType":5}"#.to_owned(), 400, "invalid_field"),
        (
            "over 64 KiB",
            format!(r#"{{"webhookType":"x","data":"{}"}}"#, "a".repeat(65 * 1024)),
            413,
            "payload_too_large",
        ),
    ] {
        let (got, answer) = answer(state, signed(&body).request()).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{name}");
    }
    let (got, _) = answer(state, Event::get("/videosdk-webhook").request()).await;
    assert_eq!(got, 405);
}

#[tokio::test]
async fn without_a_bus_a_verified_event_is_logged_and_a_forged_one_is_not() {
    let (logs, _guard) = capture_logs();
    let config = pinned();
    let state = webhook_state(&vars(&config), None).await;
    let (got, _) = answer(state, signed(BODY).request()).await;
    assert_eq!(got, 200);
    let forged = webhook_event(BODY, Some(&Signer::generate().sign(BODY.as_bytes())));
    let (got, _) = answer(state, forged.request()).await;
    assert_eq!(got, 401);
    let text = logs.text();
    let verified: Vec<&str> = text.lines().filter(|l| l.contains("verified webhook (EVENT_BUS_NAME")).collect();
    assert_eq!(verified.len(), 1, "{text}");
    assert!(verified[0].contains("recording-stopped") && verified[0].contains("abcd-efgh-ijkl"), "{text}");
    assert!(!text.contains("cdn.example.com"), "the body is never logged: {text}");
}

#[tokio::test]
async fn the_key_is_fetched_once_from_videosdk_and_a_missing_key_is_503() {
    for (name, reply) in [
        ("JSON publicKey", ResponseTemplate::new(200).set_body_json(json!({"publicKey": signer().public_key_pem()}))),
        (
            "JSON data.publicKey",
            ResponseTemplate::new(200).set_body_json(json!({"data": {"publicKey": signer().public_key_pem()}})),
        ),
        ("plain-text PEM", ResponseTemplate::new(200).set_body_string(signer().public_key_pem())),
    ] {
        let fake = FakeVideoSdk::start().await;
        fake.on("GET", "/v2/public/rsa-public-key", reply).await;
        let endpoint = fake.server.uri();
        let state = webhook_state(&[("VIDEOSDK_API_ENDPOINT", &endpoint)], None).await;
        for _ in 0..3 {
            let (got, body) = answer(state, signed(BODY).request()).await;
            assert_eq!(got, 200, "{name}: {body}");
        }
        assert_eq!(fake.only_request().await.url.path(), "/v2/public/rsa-public-key", "{name}: fetched once");
    }

    // Unavailable: 503 (VideoSDK retries), at most one fetch a second, then the key once it is back.
    let fake = FakeVideoSdk::start().await;
    let endpoint = fake.server.uri();
    let state = webhook_state(&[("VIDEOSDK_API_ENDPOINT", &endpoint)], None).await;
    for _ in 0..2 {
        let (got, body) = answer(state, signed(BODY).request()).await;
        assert_eq!((got, body["error"]["code"].as_str()), (503, Some("webhook_key_unavailable")));
    }
    assert_eq!(fake.requests().await.len(), 1, "no second fetch within a second");
    // Refusals that need no key do not touch VideoSDK.
    let (got, _) = answer(state, webhook_event(BODY, None).request()).await;
    assert_eq!(got, 401);
    fake.on("GET", "/v2/public/rsa-public-key", ResponseTemplate::new(200).set_body_string(signer().public_key_pem()))
        .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (got, body) = answer(state, signed(BODY).request()).await;
    assert_eq!(got, 200, "{body}");
}

#[tokio::test]
async fn verified_events_are_published_to_eventbridge_and_a_refusal_is_503() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    eventbridge_client(&moto.endpoint).create_event_bus().name("videosdk-events").send().await.unwrap();
    let config = pinned();
    let bus = EventBus::with_client(eventbridge_client(&proxy.endpoint), "videosdk-events".into());
    let state = webhook_state(&vars(&config), Some(bus)).await;

    let (got, body) = answer(state, signed(BODY).request()).await;
    assert_eq!(got, 200, "{body}");
    assert_eq!(proxy.requests(), 1, "one PutEvents");

    // Forged or unsigned: nothing reaches EventBridge.
    for event in [webhook_event(BODY, Some(&Signer::generate().sign(BODY.as_bytes()))), webhook_event(BODY, None)] {
        let (got, _) = answer(state, event.request()).await;
        assert_eq!(got, 401);
    }
    assert_eq!(proxy.requests(), 1, "nothing published for forged deliveries");

    for fault in [Fault::Close, Fault::Throttle, Fault::Hang] {
        proxy.set(fault);
        let started = std::time::Instant::now();
        let (got, body) = answer(state, signed(BODY).request()).await;
        assert_eq!((got, body["error"]["code"].as_str()), (503, Some("event_bus_unavailable")), "{fault:?}: {body}");
        assert!(started.elapsed() < Duration::from_secs(5), "{fault:?}: bounded wait, {:?}", started.elapsed());
    }
    proxy.set(Fault::Pass);

    // A bus that does not exist.
    let missing = EventBus::with_client(eventbridge_client(&moto.endpoint), "no-such-bus".into());
    let state = webhook_state(&vars(&config), Some(missing)).await;
    let (got, body) = answer(state, signed(BODY).request()).await;
    assert_eq!((got, body["error"]["code"].as_str()), (503, Some("event_bus_unavailable")), "{body}");
}
