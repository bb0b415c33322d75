//! The Secrets Manager round trip alone, as INIT makes it: a new client on the functions' own
//! HTTPS stack and SDK configuration (not timed), then its first GetSecretValue on a fresh
//! connection (timed). Prints the median over the runs as JSON, for `make bench`.
//!
//! `--sdk-warmed` first makes one call the SDK cannot deliver (to a closed local port, no
//! retries), so that the timed call carries none of the SDK's once-per-process work (endpoint
//! rules, signing code's first run): what is left is the round trip itself. `make bench` runs
//! both forms, one call per process, interleaved with the cold starts, so that Secrets Manager
//! (moto) answers them in the same state as it answers a cold function.
//!
//! Usage: AWS_ENDPOINT_URL=... sm-roundtrip <secret-id> [runs] [--sdk-warmed]

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let warmed = args.iter().any(|a| a == "--sdk-warmed");
    let mut args = args.iter().filter(|a| !a.starts_with("--"));
    let id = args.next().expect("usage: sm-roundtrip <secret-id> [runs] [--sdk-warmed]");
    let runs: usize = args.next().map_or(20, |n| n.parse().expect("runs is a number"));
    if warmed {
        let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
        let nowhere = aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .endpoint_url(format!("http://{closed}"))
            .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
            .build();
        let refused = aws_sdk_secretsmanager::Client::from_conf(nowhere).get_secret_value().secret_id(id).send().await;
        assert!(refused.is_err(), "nothing listens on {closed}");
    }
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        let started = Instant::now();
        let answer = client.get_secret_value().secret_id(id).send().await.expect("GetSecretValue");
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(answer.secret_string().is_some(), "the secret has a SecretString");
    }
    millis.sort_by(f64::total_cmp);
    println!("{{\"median_ms\": {:.3}, \"runs\": {runs}}}", millis[runs / 2]);
}
