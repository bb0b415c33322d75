//! This product's EMF (shared::metrics), measured as `make bench` compares it with the
//! metrics_cloudwatch_embedded crate (emf-crate): INIT (nothing to set up: the namespace is
//! configuration) and one get-token invocation's metrics (a scope, one token counted, the record
//! formatted and written), over `runs` invocations into a sink. Prints JSON.

use std::io::Write as _;
use std::time::{Instant, SystemTime};

use shared::metrics::{Answer, TokenKind, scope, token_issued};

fn main() {
    let runs: u32 = std::env::args().nth(1).map_or(100_000, |n| n.parse().expect("runs is a number"));
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    // Nothing to set up: the namespace is configuration, the record is built per invocation.
    let init = std::time::Duration::ZERO;
    let mut sink = std::io::sink();
    let mut bytes = 0;
    let answer = Answer { status: 200, code: None };
    let invocation = || {
        let (_, record) = runtime.block_on(scope(async { token_issued(TokenKind::Participant) }));
        record.line("VideoSdkTokenServer", "get-token", answer, SystemTime::now()).expect("a record")
    };
    let line = invocation();
    if std::env::var_os("EMF_SHOW").is_some() {
        eprintln!("{line}");
    }
    let timed = Instant::now();
    for _ in 0..runs {
        let line = invocation();
        bytes += line.len();
        let _ = sink.write_all(line.as_bytes());
    }
    let per = timed.elapsed().as_nanos() as f64 / f64::from(runs);
    std::hint::black_box(bytes);
    println!(
        r#"{{"init_us":{:.1},"per_invocation_ns":{per:.0},"record_bytes":{}}}"#,
        init.as_secs_f64() * 1e6,
        line.len()
    );
}
