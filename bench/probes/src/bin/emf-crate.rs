//! The same as emf-own, with the metrics_cloudwatch_embedded crate (the `metrics` facade and its
//! EMF collector): INIT (the collector built and installed as the global recorder) and one
//! get-token invocation's metrics (one token counted by Kind, the collector flushed), over
//! `runs` invocations into a sink. Prints JSON. Only `make bench` uses it: no function links
//! the crate.

use std::time::Instant;

fn main() {
    let runs: u32 = std::env::args().nth(1).map_or(100_000, |n| n.parse().expect("runs is a number"));
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let started = Instant::now();
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("VideoSdkTokenServer")
        .with_dimension("Function", "get-token")
        .init()
        .expect("collector");
    let init = started.elapsed();
    let invocation = |out: &mut Vec<u8>| {
        runtime.block_on(async { metrics::counter!("TokensIssued", "Kind" => "participant").increment(1) });
        collector.flush(&mut *out).expect("flush");
    };
    let mut first = Vec::new();
    invocation(&mut first);
    let mut out = Vec::with_capacity(4096);
    let timed = Instant::now();
    for _ in 0..runs {
        out.clear();
        invocation(&mut out);
    }
    let per = timed.elapsed().as_nanos() as f64 / f64::from(runs);
    std::hint::black_box(&out);
    let bytes = first.iter().rposition(|&b| b != b'\n').map_or(0, |end| end + 1);
    if std::env::var_os("EMF_SHOW").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&first[..bytes]));
    }
    println!(r#"{{"init_us":{:.1},"per_invocation_ns":{per:.0},"record_bytes":{bytes}}}"#, init.as_secs_f64() * 1e6);
}
