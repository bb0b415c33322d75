//! `get-token`'s `main` (`shared::app::run`) in-process, driven by a stand-in Lambda Runtime API:
//! the real `lambda_runtime` loop polls for invocations, each with its own X-Ray trace id, and
//! posts the answers back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::Uses;
use testkit::{API_KEY, Event, SECRET};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// One invocation per poll, each with a new request id and a new trace id, as Lambda sends them.
struct Invocations {
    served: AtomicUsize,
    event: Value,
}

impl Respond for Invocations {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        let deadline =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap() + Duration::from_secs(15);
        ResponseTemplate::new(200)
            .insert_header("lambda-runtime-aws-request-id", format!("req-{n}").as_str())
            .insert_header("lambda-runtime-deadline-ms", deadline.as_millis().to_string().as_str())
            .insert_header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:get-token",
            )
            .insert_header(
                "lambda-runtime-trace-id",
                format!("Root=1-5759e988-bd862e3fe1be46a99427{n:04x};Sampled=1").as_str(),
            )
            .set_body_json(&self.event)
    }
}

/// glibc's `setenv` keeps every value it replaces for the life of the process, so a runtime that
/// put each invocation's trace id in the environment grew by about 120 bytes per invocation (the
/// soak's finding). The runtime must answer every invocation and leave the environment alone; the
/// trace id reaches the handler in the Lambda context instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_leave_the_process_environment_alone() {
    const ANSWERS: usize = 5;
    let api = MockServer::start().await;
    let event = Event::get("/get-token").user("alice", None).to_json();
    Mock::given(method("GET"))
        .and(path(NEXT))
        .respond_with(Invocations { served: AtomicUsize::new(0), event })
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/2018-06-01/runtime/invocation/req-\d+/response$"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&api)
        .await;

    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", api.address().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "get-token".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "stream".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/get-token".into()),
        ("VIDEOSDK_API_KEY", API_KEY.into()),
        ("VIDEOSDK_SECRET", SECRET.into()),
        ("AWS_LAMBDA_LOG_LEVEL", "error".into()),
    ];
    for (name, value) in vars {
        // SAFETY: this test binary has this one test, and nothing else runs yet that reads or
        // writes the environment.
        unsafe { std::env::set_var(name, value) };
    }
    assert!(std::env::var_os("_X_AMZN_TRACE_ID").is_none());
    // As `main` runs it, on its own thread (the runtime's future is not Send); the thread ends
    // with the test process.
    let runtime = std::thread::spawn(|| {
        let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tokio.block_on(shared::app::run("get-token", Uses::TokensOnly, get_token::handler))
    });

    let started = Instant::now();
    let answers = loop {
        let answers: Vec<Request> = api
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .collect();
        if answers.len() >= ANSWERS {
            break answers;
        }
        assert!(!runtime.is_finished(), "the runtime loop ended");
        assert!(started.elapsed() < Duration::from_secs(20), "{} answers in 20 s", answers.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    for answer in &answers[..ANSWERS] {
        let response: Value = serde_json::from_slice(&answer.body).expect("JSON answer");
        assert_eq!(response["statusCode"], 200, "{response}");
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert!(body["token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{body}");
    }
    assert_eq!(std::env::var_os("_X_AMZN_TRACE_ID"), None, "the runtime set the trace id in the environment");
}
