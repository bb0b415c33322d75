//! The Secrets Manager round trip alone, as INIT makes it: a new client on the functions' own
//! HTTPS stack and SDK configuration (not timed), then its first GetSecretValue on a fresh
//! connection (timed). Prints the median over the runs as JSON, for `make bench`.
//!
//! Usage: AWS_ENDPOINT_URL=... sm-roundtrip <secret-id> [runs]

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let id = args.next().expect("usage: sm-roundtrip <secret-id> [runs]");
    let runs: usize = args.next().map_or(20, |n| n.parse().expect("runs is a number"));
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        let started = Instant::now();
        let answer = client.get_secret_value().secret_id(&id).send().await.expect("GetSecretValue");
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(answer.secret_string().is_some(), "the secret has a SecretString");
    }
    millis.sort_by(f64::total_cmp);
    println!("{{\"median_ms\": {:.3}, \"runs\": {runs}}}", millis[runs / 2]);
}
