//! One DynamoDB round trip, as the rate limiter makes it on a warm function: a client on the
//! functions' own HTTPS stack and SDK configuration, one UpdateItem to open the connection (not
//! timed; then it prints `ready`), then one timed UpdateItem on that connection per line read from
//! stdin, each the limiter's own conditional update (same expressions; a limit never reached), its
//! milliseconds printed on a line. `make bench` interleaves these calls one by one with the
//! requests they bound (the reference of the limiter's warm cost).
//!
//! Usage: AWS_ENDPOINT_URL=... ddb-roundtrip <table>

use std::io::{BufRead, Write};
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let table = std::env::args().nth(1).expect("usage: ddb-roundtrip <table>");
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
}
