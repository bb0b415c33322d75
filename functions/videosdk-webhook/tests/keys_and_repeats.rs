//! The per-deployment key in the URL (404 before any signature work), a fetched key that heals
//! after VideoSDK rotates it, and deliveries published at most once (a conditional write in a
//! real DynamoDB endpoint, moto's), with the bus and the table failing in turn.

#![recursion_limit = "256"]

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::Uses;
use shared::events::EventBus;
use shared::signature::Signer;
use shared::webhook::{KeyStore, Published};
use testkit::{
    Event, FakeVideoSdk, Fault, FaultProxy, Moto, SLOW, body_json, capture_logs, create_limits_table, dynamodb_client,
    eventbridge_client, leak,
};
use wiremock::ResponseTemplate;

const BODY: &str =
    r#"{"webhookType":"agent-session-started","data":{"meetingId":"abcd-efgh-ijkl","agentId":"dev-agent"}}"#;
const KEY: &str = "k3y-0123456789abcdefghijklmnopqrstuvwxyz";

fn delivery(path: &str, body: &str, signer: &Signer) -> Event {
    Event::post(path).body(body).header("videosdk-signature", &signer.sign(body.as_bytes()))
}

fn keyed(body: &str, signer: &Signer) -> Event {
    delivery(&format!("/videosdk-webhook/{KEY}"), body, signer)
}

async fn answer(state: &'static shared::State, event: Event) -> (u16, Value) {
    let response = videosdk_webhook::handler(state, event.request()).await;
    (response.status().as_u16(), body_json(&response))
}

/// The webhook function's state, its key fetched from `fake`.
async fn fetching_state(fake: &FakeVideoSdk, vars: &[(&str, &str)]) -> shared::State {
    let endpoint = fake.server.uri();
    let mut all = vec![("VIDEOSDK_API_ENDPOINT", endpoint.as_str()), ("WEBHOOK_KEY", KEY)];
    all.extend_from_slice(vars);
    testkit::state(Uses::Webhooks, &all).await
}

async fn serve_key(fake: &FakeVideoSdk, signer: &Signer) {
    fake.server.reset().await;
    fake.on("GET", "/v2/public/rsa-public-key", ResponseTemplate::new(200).set_body_string(signer.public_key_pem()))
        .await;
}

fn key_fetches(requests: &[wiremock::Request]) -> usize {
    requests.iter().filter(|r| r.url.path() == "/v2/public/rsa-public-key").count()
}

#[tokio::test]
async fn only_deliveries_to_this_deployment_s_key_are_looked_at() {
    let signer = Signer::generate();
    let fake = FakeVideoSdk::start().await;
    serve_key(&fake, &signer).await;
    let state = leak(fetching_state(&fake, &[]).await);
    let last_differs = format!("{}X", &KEY[..KEY.len() - 1]);
    for path in [
        "/videosdk-webhook".to_owned(),
        "/videosdk-webhook/".to_owned(),
        format!("/videosdk-webhook/{last_differs}"),
        format!("/videosdk-webhook/{}", &KEY[..KEY.len() - 1]),
        format!("/videosdk-webhook/{KEY}x"),
        format!("/videosdk-webhook/{KEY}/extra"),
    ] {
        let (got, body) = answer(state, delivery(&path, BODY, &signer)).await;
        assert_eq!((got, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}: {body}");
        // Unsigned, or another method: the same 404, before anything else.
        assert_eq!(answer(state, Event::new("GET", &path)).await.0, 404, "{path}");
    }
    assert!(fake.requests().await.is_empty(), "no key fetch for a delivery without this deployment's key");
    for path in [format!("/videosdk-webhook/{KEY}"), format!("/prod/videosdk-webhook/{KEY}/")] {
        let (got, body) = answer(state, delivery(&path, BODY, &signer)).await;
        assert_eq!(got, 200, "{path}: {body}");
    }
    let (got, _) = answer(state, Event::post(&format!("/videosdk-webhook/{KEY}")).body(BODY)).await;
    assert_eq!(got, 401, "the key addresses the deployment; the signature still authenticates");
}

#[tokio::test]
async fn a_rotated_key_fails_then_heals_once_the_key_in_hand_is_old_enough() {
    let (old, new) = (Signer::generate(), Signer::generate());
    let fake = FakeVideoSdk::start().await;
    serve_key(&fake, &old).await;
    let mut state = fetching_state(&fake, &[]).await;
    let age = Duration::from_millis(1500);
    state.webhooks.as_mut().unwrap().keys = KeyStore::fetched(age);
    let state = leak(state);

    assert_eq!(answer(state, keyed(BODY, &old)).await.0, 200);
    // VideoSDK rotates its key.
    serve_key(&fake, &new).await;
    let (got, _) = answer(state, keyed(BODY, &new)).await;
    assert_eq!(got, 401, "the key in hand is too young to fetch again");
    assert_eq!(key_fetches(&fake.requests().await), 0, "no fetch");
    tokio::time::sleep(age).await;
    let (got, body) = answer(state, keyed(BODY, &new)).await;
    assert_eq!(got, 200, "healed: {body}");
    assert_eq!(key_fetches(&fake.requests().await), 1);
    // Forged deliveries cannot make it fetch again and again (within the age).
    let forger = Signer::generate();
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(answer(state, keyed(BODY, &forger)).await.0, 401);
    }
    assert!(started.elapsed() < age, "the forged deliveries took longer than the age: {:?}", started.elapsed());
    assert_eq!(key_fetches(&fake.requests().await), 1, "at most once per age");
    assert_eq!(answer(state, keyed(BODY, &old)).await.0, 401, "the old key no longer verifies");

    // A pinned key is never fetched again.
    let fake = FakeVideoSdk::start().await;
    let pem = old.public_key_pem();
    let pinned = leak(fetching_state(&fake, &[("VIDEOSDK_WEBHOOK_PUBLIC_KEY", pem.as_str())]).await);
    assert!(matches!(pinned.webhooks.as_ref().unwrap().keys, KeyStore::Pinned(_)));
    tokio::time::sleep(age).await;
    assert_eq!(answer(pinned, keyed(BODY, &new)).await.0, 401);
    assert!(fake.requests().await.is_empty());
}

#[tokio::test]
async fn a_delivery_is_published_at_most_once_and_a_failed_publish_is_not_remembered() {
    let moto = Moto::start();
    let bus_proxy = FaultProxy::start(&moto.endpoint);
    let table_proxy = FaultProxy::start(&moto.endpoint);
    eventbridge_client(&moto.endpoint).create_event_bus().name("videosdk-events").send().await.unwrap();
    create_limits_table(&dynamodb_client(&moto.endpoint), "videosdk-limits").await;
    let signer = Signer::generate();
    let pem = signer.public_key_pem();
    let fake = FakeVideoSdk::start().await;
    let make_state = |table: &str, via: &FaultProxy| {
        let (table, endpoint) = (table.to_owned(), via.endpoint.clone());
        let bus_endpoint = bus_proxy.endpoint.clone();
        let fake = &fake;
        let pem = pem.clone();
        async move {
            let mut state = fetching_state(fake, &[("VIDEOSDK_WEBHOOK_PUBLIC_KEY", pem.as_str())]).await;
            let hooks = state.webhooks.as_mut().unwrap();
            hooks.bus = Some(EventBus::with_client(eventbridge_client(&bus_endpoint), "videosdk-events".into()));
            hooks.bus_broken = false;
            hooks.published = Some(Published::with_client(dynamodb_client(&endpoint), table, 604_800));
            leak(state)
        }
    };
    let state = make_state("videosdk-limits", &table_proxy).await;

    // The same signed delivery twice: published once.
    let (got, first) = answer(state, keyed(BODY, &signer)).await;
    assert_eq!((got, first.get("duplicate")), (200, None), "{first}");
    let (got, again) = answer(state, keyed(BODY, &signer)).await;
    assert_eq!((got, again["duplicate"].as_bool(), &again["id"]), (200, Some(true), &first["id"]), "{again}");
    assert_eq!(bus_proxy.requests(), 1, "one PutEvents for two deliveries");
    let stored = dynamodb_client(&moto.endpoint)
        .get_item()
        .table_name("videosdk-limits")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("webhook#{}", first["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    let item = stored.item().expect("the delivery is recorded");
    assert!(item.contains_key("publishedAt") && item.contains_key("expiresAt"), "{item:?}");

    // The first publish refused by EventBridge: 503, not remembered; VideoSDK's retry publishes it.
    let other = BODY.replace("dev-agent", "another-agent");
    bus_proxy.set(Fault::Close);
    let (got, body) = answer(state, keyed(&other, &signer)).await;
    assert_eq!((got, body["error"]["code"].as_str()), (503, Some("event_bus_unavailable")), "{body}");
    bus_proxy.set(Fault::Pass);
    let published = bus_proxy.requests();
    let (got, body) = answer(state, keyed(&other, &signer)).await;
    assert_eq!((got, body.get("duplicate")), (200, None), "the retry is published: {body}");
    assert_eq!(bus_proxy.requests(), published + 1);
    let (got, body) = answer(state, keyed(&other, &signer)).await;
    assert_eq!((got, body["duplicate"].as_bool()), (200, Some(true)));

    // The table hanging or down: published anyway (at least once), answered in a bounded time.
    for (fault, body) in
        [(Fault::Hang, BODY.replace("dev-agent", "third")), (Fault::Close, BODY.replace("dev-agent", "fourth"))]
    {
        table_proxy.set(fault);
        let before = bus_proxy.requests();
        let started = Instant::now();
        let (got, answer_body) = answer(state, keyed(&body, &signer)).await;
        assert_eq!(got, 200, "{fault:?}: {answer_body}");
        assert!(started.elapsed() < Duration::from_secs(3), "{fault:?}: {:?}", started.elapsed());
        assert_eq!(bus_proxy.requests(), before + 1, "{fault:?}: published");
    }
    table_proxy.set(Fault::Pass);

    // The table missing: published anyway.
    let missing = make_state("no-such-table", &table_proxy).await;
    let before = bus_proxy.requests();
    let (got, body) = answer(missing, keyed(&BODY.replace("dev-agent", "fifth"), &signer)).await;
    assert_eq!(got, 200, "{body}");
    assert_eq!(bus_proxy.requests(), before + 1);
}

#[tokio::test]
async fn a_repeat_while_the_first_is_still_publishing_is_503_and_a_failed_publish_is_retried() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let moto = Moto::start();
    let bus_proxy = FaultProxy::start(&moto.endpoint);
    let table_proxy = FaultProxy::start(&moto.endpoint);
    eventbridge_client(&moto.endpoint).create_event_bus().name("videosdk-events").send().await.unwrap();
    let db = dynamodb_client(&moto.endpoint);
    create_limits_table(&db, "videosdk-limits").await;
    let signer = Signer::generate();
    let pem = signer.public_key_pem();
    let fake = FakeVideoSdk::start().await;
    let mut state = fetching_state(&fake, &[("VIDEOSDK_WEBHOOK_PUBLIC_KEY", pem.as_str())]).await;
    let hooks = state.webhooks.as_mut().unwrap();
    hooks.bus = Some(EventBus::with_client(eventbridge_client(&bus_proxy.endpoint), "videosdk-events".into()));
    hooks.bus_broken = false;
    hooks.published =
        Some(Published::with_client(dynamodb_client(&table_proxy.endpoint), "videosdk-limits".into(), 604_800));
    let state = leak(state);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claim = |body: &str, claim_until: u64| {
        db.put_item()
            .table_name("videosdk-limits")
            .item("pk", AttributeValue::S(format!("webhook#{}", shared::signature::sha256_hex(body.as_bytes()))))
            .item("expiresAt", AttributeValue::N((now + 604_800).to_string()))
            .item("claimUntil", AttributeValue::N(claim_until.to_string()))
            .send()
    };

    // Another delivery claimed it 20 s ago and has not published it yet: 503 with the claim's
    // remaining seconds, nothing published, never "duplicate".
    let pending = BODY.replace("dev-agent", "pending");
    claim(&pending, now + 40).await.unwrap();
    let response = videosdk_webhook::handler(state, keyed(&pending, &signer).request()).await;
    let body = body_json(&response);
    assert_eq!(
        (response.status().as_u16(), body["error"]["code"].as_str()),
        (503, Some("event_bus_unavailable")),
        "{body}"
    );
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((38..=41).contains(&retry_after), "{retry_after}");
    assert!(body.get("duplicate").is_none());
    assert_eq!(bus_proxy.requests(), 0, "nothing published");
    // That first publish failed and released its claim: VideoSDK's retry publishes.
    db.delete_item()
        .table_name("videosdk-limits")
        .key("pk", AttributeValue::S(format!("webhook#{}", shared::signature::sha256_hex(pending.as_bytes()))))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(state, keyed(&pending, &signer)).await.0, 200);
    assert_eq!(bus_proxy.requests(), 1);
    // A claim that lapsed (its publisher crashed): published.
    let lapsed = BODY.replace("dev-agent", "lapsed");
    claim(&lapsed, now - 1).await.unwrap();
    let (got, body) = answer(state, keyed(&lapsed, &signer)).await;
    assert_eq!((got, body.get("duplicate")), (200, None), "{body}");

    // The claim's write times out (it lands later: the outcome was unknown) and the publish fails:
    // the claim is released too, so VideoSDK's retry publishes the event instead of it being lost.
    let slow = BODY.replace("dev-agent", "slow-table");
    table_proxy.set(Fault::Slow);
    bus_proxy.set(Fault::Close);
    let (logs, guard) = capture_logs();
    assert_eq!(answer(state, keyed(&slow, &signer)).await.0, 503);
    drop(guard);
    assert!(logs.text().contains("publishing it (at least once)"), "{}", logs.text());
    tokio::time::sleep(SLOW + Duration::from_millis(500)).await;
    table_proxy.set(Fault::Pass);
    bus_proxy.set(Fault::Pass);
    let published = bus_proxy.requests();
    let (got, body) = answer(state, keyed(&slow, &signer)).await;
    assert_eq!((got, body.get("duplicate")), (200, None), "the retry is published: {body}");
    assert_eq!(bus_proxy.requests(), published + 1);

    // Another delivery holds the claim; ours times out (and fails: the claim is theirs) and its
    // publish fails: releasing ours never deletes their claim.
    let theirs = BODY.replace("dev-agent", "theirs");
    let key = AttributeValue::S(format!("webhook#{}", shared::signature::sha256_hex(theirs.as_bytes())));
    db.put_item()
        .table_name("videosdk-limits")
        .item("pk", key.clone())
        .item("expiresAt", AttributeValue::N((now + 604_800).to_string()))
        .item("claimUntil", AttributeValue::N((now + 600).to_string()))
        .item("claimId", AttributeValue::S("their-claim".into()))
        .send()
        .await
        .unwrap();
    table_proxy.set(Fault::Slow);
    bus_proxy.set(Fault::Close);
    assert_eq!(answer(state, keyed(&theirs, &signer)).await.0, 503);
    tokio::time::sleep(SLOW + Duration::from_millis(500)).await;
    table_proxy.set(Fault::Pass);
    bus_proxy.set(Fault::Pass);
    let held = db.get_item().table_name("videosdk-limits").key("pk", key).send().await.unwrap();
    let held = held.item().expect("their claim is still there");
    assert_eq!(held["claimId"].as_s().unwrap(), "their-claim");
}

#[tokio::test]
async fn deliveries_to_the_bare_route_are_404_counted_and_name_their_room() {
    let signer = Signer::generate();
    let pem = signer.public_key_pem();
    let fake = FakeVideoSdk::start().await;
    let state = leak(fetching_state(&fake, &[("VIDEOSDK_WEBHOOK_PUBLIC_KEY", pem.as_str())]).await);
    let (logs, guard) = capture_logs();
    let (response, record) = shared::metrics::scope(videosdk_webhook::handler(
        state,
        delivery("/videosdk-webhook", BODY, &signer).request(),
    ))
    .await;
    drop(guard);
    assert_eq!(response.status(), 404);
    let line = record
        .line(
            "ns",
            "videosdk-webhook",
            shared::metrics::Answer { status: 404, code: Some("not_found") },
            std::time::SystemTime::now(),
        )
        .unwrap();
    assert!(line.contains("\"WebhookUnaddressed\":1"), "{line}");
    assert!(logs.text().contains("room_id=\"abcd-efgh-ijkl\""), "{}", logs.text());
    // A forged one is counted, but names no room.
    let forger = Signer::generate();
    let (logs, guard) = capture_logs();
    let response = videosdk_webhook::handler(state, delivery("/videosdk-webhook", BODY, &forger).request()).await;
    drop(guard);
    assert_eq!(response.status(), 404);
    assert!(!logs.text().contains("abcd-efgh-ijkl"), "{}", logs.text());
    // A fetched key is never fetched for such a delivery.
    let fetching = leak(fetching_state(&fake, &[]).await);
    assert_eq!(
        videosdk_webhook::handler(fetching, delivery("/videosdk-webhook", BODY, &signer).request()).await.status(),
        404
    );
    assert!(fake.requests().await.is_empty());
}
