//! One DynamoDB round trip, as the rate limiter makes it on a warm function: a client on the
//! functions' own HTTPS stack and SDK configuration, one UpdateItem to open the connection (not
//! timed), then `runs` UpdateItem calls on that connection (timed), each the limiter's own
//! conditional update (same expressions; a limit never reached). Prints the median and each
//! call's milliseconds as JSON, for `make bench` (the reference of the limiter's warm cost).
//! With `runs` = `stdin`, it makes one timed call per line read and prints its milliseconds, so
//! that `make bench` interleaves the calls one by one with the requests they bound.
//!
//! Usage: AWS_ENDPOINT_URL=... ddb-roundtrip <table> [runs|stdin]

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let table = args.next().expect("usage: ddb-roundtrip <table> [runs]");
    let runs = args.next();
    let sdk = shared::secret::aws_sdk_config().await.expect("SDK configuration");
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let update = || {
        client
            .update_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("bench#ddb-roundtrip".into()))
            .update_expression("ADD #count :one SET #expires = if_not_exists(#expires, :expires)")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#expires", "expiresAt")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N("1000000000".into()))
            .expression_attribute_values(":expires", AttributeValue::N("4102444800".into()))
            .send()
    };
    update().await.expect("UpdateItem");
    if runs.as_deref() == Some("stdin") {
        use std::io::{BufRead, Write};
        println!("ready");
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            let started = Instant::now();
            update().await.expect("UpdateItem");
            println!("{:.4}", started.elapsed().as_secs_f64() * 1000.0);
            std::io::stdout().flush().expect("stdout");
        }
        return;
    }
    let runs: usize = runs.map_or(200, |n| n.parse().expect("runs is a number"));
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        update().await.expect("UpdateItem");
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let all: Vec<String> = millis.iter().map(|m| format!("{m:.4}")).collect();
    millis.sort_by(f64::total_cmp);
    println!("{{\"median_ms\": {:.3}, \"runs\": {runs}, \"millis\": [{}]}}", millis[runs / 2], all.join(","));
}
