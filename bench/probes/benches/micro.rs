//! In-process micro-benchmarks for `make bench` (criterion): minting one participant token, the
//! whole `get-token` handler from the raw API Gateway event (JSON text, parsed as the Lambda
//! runtime does) to the response, and for webhooks the RSA-2048 verification alone and the whole
//! `videosdk-webhook` handler (event parse, verify, read; no bus: the publish is logged); and the
//! `get-token` handler served as the runtime loop serves it, metrics included.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use shared::claims::{ParticipantRole, Permission, Permissions, TokenBuilder};
use shared::config::Config;
use shared::secret::Credentials;
use shared::{State, Uses};

const API_KEY: &str = "bench-api-key";
const SECRET: &str = "bench-secret-0123456789";

fn mint(c: &mut Criterion) {
    let credentials = Credentials::new(API_KEY.into(), SECRET.into());
    let permissions = Permissions::new([Permission::AllowJoin]).unwrap();
    c.bench_function("mint_participant_token", |b| {
        b.iter(|| {
            let builder =
                TokenBuilder::participant(ParticipantRole::Rtc, permissions.clone()).ttl(Duration::from_secs(600));
            black_box(builder.sign(&credentials, SystemTime::now()).unwrap())
        })
    });
}

fn handler(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let vars = [("VIDEOSDK_API_KEY", API_KEY), ("VIDEOSDK_SECRET", SECRET), ("CALLER_AUTH", "jwt")];
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let state: State = runtime.block_on(State::init(config, Uses::TokensOnly));
    let event = get_token_event();
    // The handler answers 200 with a token for this event (checked once, outside the timing).
    let response = runtime.block_on(get_token::handler(&state, lambda_http::request::from_str(&event).unwrap()));
    assert_eq!(response.status(), 200);

    c.bench_function("get_token_handler", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(black_box(&event)).unwrap();
            black_box(runtime.block_on(get_token::handler(&state, request)))
        })
    });

    // The same through `app::serve`, as the runtime loop calls it: the deadline, the origin check
    // and the invocation's metrics (counted, and its EMF record formatted; the sink stands in for
    // the one write(2) to the log). Against the handler alone: what metrics add per invocation.
    let state: &'static State = Box::leak(Box::new(state));
    let emitted = runtime.block_on(shared::app::serve_emitting(
        state,
        lambda_http::request::from_str(&event).unwrap(),
        &get_token::handler,
        |line| assert!(line.contains(r#""TokensIssued":1"#), "{line}"),
    ));
    assert_eq!(emitted.status(), 200);
    c.bench_function("get_token_served_with_metrics", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(black_box(&event)).unwrap();
            black_box(runtime.block_on(shared::app::serve_emitting(state, request, &get_token::handler, |line| {
                black_box(line);
            })))
        })
    });
    // METRICS_NAMESPACE=off: the same path with nothing counted.
    let mut off = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    off.metrics_namespace = None;
    let off: &'static State = Box::leak(Box::new(runtime.block_on(State::init(off, Uses::TokensOnly))));
    c.bench_function("get_token_served_without_metrics", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(black_box(&event)).unwrap();
            black_box(runtime.block_on(shared::app::serve_emitting(off, request, &get_token::handler, |_| {
                unreachable!("metrics are off")
            })))
        })
    });
}

/// An API Gateway HTTP API event for `GET /get-token?roomId=…` from a signed-in user (JWT
/// authorizer claims), as `events/` holds them.
fn get_token_event() -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /get-token",
        "rawPath": "/get-token",
        "rawQueryString": "roomId=abcd-efgh-ijkl",
        "queryStringParameters": {"roomId": "abcd-efgh-ijkl"},
        "headers": {"accept": "application/json", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": {"jwt": {"claims": {"sub": "user-1234"}, "scopes": null}},
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": "GET", "path": "/get-token", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
            "requestId": "bench",
            "routeKey": "GET /get-token",
            "stage": "$default",
            "time": "24/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795521600000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}

const WEBHOOK_BODY: &str = r#"{"webhookType":"recording-stopped","data":{"meetingId":"abcd-efgh-ijkl","sessionId":"6523a1b2c3d4e5f6a7b8c9d0","filePath":"recordings/abcd-efgh-ijkl/6523a1b2c3d4e5f6a7b8c9d0.mp4","fileUrl":"https://cdn.videosdk.live/recordings/abcd-efgh-ijkl/6523a1b2c3d4e5f6a7b8c9d0.mp4"}}"#;

fn webhook(c: &mut Criterion) {
    use shared::signature::{PublicKey, Signer};
    let signer = Signer::generate();
    let pem = signer.public_key_pem();
    let key = PublicKey::from_pem(&pem).unwrap();
    let signature = signer.sign(WEBHOOK_BODY.as_bytes());
    assert!(key.verify(WEBHOOK_BODY.as_bytes(), Some(&signature)).is_ok());
    c.bench_function("rsa2048_verify", |b| {
        b.iter(|| black_box(key.verify(black_box(WEBHOOK_BODY.as_bytes()), Some(&signature))).unwrap())
    });

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let vars =
        [("VIDEOSDK_API_KEY", API_KEY), ("VIDEOSDK_SECRET", SECRET), ("VIDEOSDK_WEBHOOK_PUBLIC_KEY", pem.as_str())];
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let state: State = runtime.block_on(State::init(config, Uses::Webhooks));
    let event = webhook_event(&signature);
    let response = runtime.block_on(videosdk_webhook::handler(&state, lambda_http::request::from_str(&event).unwrap()));
    assert_eq!(response.status(), 200);
    c.bench_function("webhook_verify_and_parse", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(black_box(&event)).unwrap();
            black_box(runtime.block_on(videosdk_webhook::handler(&state, request)))
        })
    });
}

fn webhook_event(signature: &str) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /videosdk-webhook",
        "rawPath": "/videosdk-webhook",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.example.com", "videosdk-signature": signature},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": "POST", "path": "/videosdk-webhook", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "VideoSDK"},
            "requestId": "bench", "routeKey": "POST /videosdk-webhook", "stage": "$default",
            "time": "24/Nov/2026:12:00:00 +0000", "timeEpoch": 1795521600000u64
        },
        "body": WEBHOOK_BODY,
        "isBase64Encoded": false
    })
    .to_string()
}

/// The metrics' own parts: one invocation's scope around a token count, and its EMF line.
fn metrics(c: &mut Criterion) {
    use shared::metrics::{Answer, TokenKind, scope, token_issued};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    c.bench_function("metrics_scope_and_count", |b| {
        b.iter(|| black_box(runtime.block_on(scope(async { token_issued(black_box(TokenKind::Participant)) }))))
    });
    let (_, record) = runtime.block_on(scope(async { token_issued(TokenKind::Participant) }));
    let answer = Answer { status: 200, code: None };
    c.bench_function("metrics_emf_line", |b| {
        b.iter(|| black_box(record.line(black_box("VideoSdkTokenServer"), "get-token", answer, SystemTime::now())))
    });
}

criterion_group!(benches, mint, handler, webhook, metrics);
criterion_main!(benches);
