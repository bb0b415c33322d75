//! CloudWatch metrics in the Embedded Metric Format (EMF): what one invocation did, counted while
//! it runs and written as at most one JSON line to stdout once its answer is ready. CloudWatch
//! Logs turns that line into metrics: no API call on the request path, and no permission beyond
//! the function's own log group.
//!
//! Dimensions: the function's name, and where it means something one small fixed value (`Code`:
//! the answer's error code; `Kind`: the kind of token minted). Never a room, a caller or a token.
//! Every metric is also published without dimensions (the empty set `[]`): the totals the
//! template's alarms watch.
//!
//! The record (one line, keys in this order):
//! `{"_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":"…","Dimensions":[["Function"]],
//! "Metrics":[{"Name":"UpstreamCalls","Unit":"Count"},…]},…]},"Function":"create-meeting",
//! "Code":"upstream_timeout","UpstreamCalls":1,…}`

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "VideoSdkTokenServer";

/// Which token an invocation minted (the `Kind` dimension of `TokensIssued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Participant,
    Agent,
    Management,
}

impl TokenKind {
    const ALL: [TokenKind; 3] = [TokenKind::Participant, TokenKind::Agent, TokenKind::Management];

    fn name(self) -> &'static str {
        match self {
            TokenKind::Participant => "participant",
            TokenKind::Agent => "agent",
            TokenKind::Management => "management",
        }
    }
}

/// What one invocation counted.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Record {
    tokens: [u32; 3],
    upstream_latency_ms: Vec<f64>,
    rate_limited: u32,
    rate_limit_unchecked: u32,
    webhook_received: bool,
}

tokio::task_local! {
    static RECORD: RefCell<Record>;
}

fn count(f: impl FnOnce(&mut Record)) {
    // Outside an invocation (INIT, tests of one module) nothing is counted.
    let _ = RECORD.try_with(|r| f(&mut r.borrow_mut()));
}

/// A token was signed for a caller (participant, agent) or for a VideoSDK call (management).
pub fn token_issued(kind: TokenKind) {
    count(|r| r.tokens[kind as usize] += 1);
}

/// One HTTP exchange with VideoSDK (each attempt of a retried call) and how long it took.
pub fn upstream_call(took: Duration) {
    count(|r| r.upstream_latency_ms.push((took.as_secs_f64() * 1000.0 * 100.0).round() / 100.0));
}

/// The caller was over its own per-caller limit (429 `rate_limited`).
pub fn rate_limited() {
    count(|r| r.rate_limited += 1);
}

/// The rate-limit table could not be reached; the request went on unchecked.
pub fn rate_limit_unchecked() {
    count(|r| r.rate_limit_unchecked += 1);
}

/// A webhook delivery arrived (verified or not).
pub fn webhook_received() {
    count(|r| r.webhook_received = true);
}

/// Runs `invocation` with a fresh record, and returns its output with what it counted.
pub async fn scope<F: Future>(invocation: F) -> (F::Output, Record) {
    RECORD
        .scope(RefCell::new(Record::default()), async {
            let output = invocation.await;
            (output, RECORD.with(|r| std::mem::take(&mut *r.borrow_mut())))
        })
        .await
}

/// How the invocation was answered: the status, and the error code of an error answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub code: Option<&'static str>,
}

impl Record {
    /// The EMF line for this invocation (no trailing newline), or `None` when nothing was counted
    /// and the answer was a success.
    pub fn line(&self, namespace: &str, function: &str, answer: Answer, now: SystemTime) -> Option<String> {
        let code = answer.code.filter(|_| answer.status >= 400);
        let client_error = (400..500).contains(&answer.status);
        let caller_limited = self.rate_limited > 0;
        let upstream_error = code.is_some_and(|c| {
            c.starts_with("upstream_")
                || (c == "rate_limited" && !caller_limited && !self.upstream_latency_ms.is_empty())
        });
        // Metrics by [Function].
        let mut plain: Vec<(&str, &str, String)> = Vec::new();
        if !self.upstream_latency_ms.is_empty() {
            plain.push(("UpstreamCalls", "Count", self.upstream_latency_ms.len().to_string()));
            let values: Vec<String> = self.upstream_latency_ms.iter().map(|v| format!("{v}")).collect();
            let value = match values.len() {
                1 => values[0].clone(),
                _ => format!("[{}]", values.join(",")),
            };
            plain.push(("UpstreamLatency", "Milliseconds", value));
        }
        if code == Some("secret_unavailable") {
            plain.push(("SecretUnavailable", "Count", "1".into()));
        }
        if caller_limited {
            plain.push(("RateLimited", "Count", self.rate_limited.to_string()));
        }
        if self.rate_limit_unchecked > 0 {
            plain.push(("RateLimitUnchecked", "Count", self.rate_limit_unchecked.to_string()));
        }
        if self.webhook_received {
            plain.push(("WebhooksReceived", "Count", "1".into()));
        }
        if code == Some("event_bus_unavailable") {
            plain.push(("EventBusErrors", "Count", "1".into()));
        }
        // Metrics by [Function, Code].
        let mut coded: Vec<&str> = Vec::new();
        if client_error {
            coded.push("ClientErrors");
        }
        if answer.status >= 500 {
            coded.push("ServerErrors");
        }
        if upstream_error {
            coded.push("UpstreamErrors");
        }
        if self.webhook_received && client_error {
            coded.push("WebhooksRejected");
        }
        // TokensIssued by [Function, Kind]: an invocation mints one kind of token.
        let kind = TokenKind::ALL.into_iter().find(|&k| self.tokens[k as usize] > 0);
        if plain.is_empty() && coded.is_empty() && kind.is_none() {
            return None;
        }

        let millis = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let mut out = String::with_capacity(512);
        let _ = write!(out, r#"{{"_aws":{{"Timestamp":{millis},"CloudWatchMetrics":["#);
        let directive = |out: &mut String, dims: &str, metrics: &mut dyn Iterator<Item = (&str, &str)>| {
            if !out.ends_with('[') {
                out.push(',');
            }
            out.push_str(r#"{"Namespace":"#);
            push_json_string(out, namespace);
            let _ = write!(out, r#","Dimensions":[{dims}],"Metrics":["#);
            for (i, (name, unit)) in metrics.enumerate() {
                let _ = write!(out, r#"{}{{"Name":"{name}","Unit":"{unit}"}}"#, if i > 0 { "," } else { "" });
            }
            out.push_str("]}");
        };
        if !plain.is_empty() {
            directive(&mut out, r#"["Function"],[]"#, &mut plain.iter().map(|(n, u, _)| (*n, *u)));
        }
        if !coded.is_empty() {
            directive(&mut out, r#"["Function","Code"],[]"#, &mut coded.iter().map(|n| (*n, "Count")));
        }
        if kind.is_some() {
            directive(&mut out, r#"["Function","Kind"],[]"#, &mut std::iter::once(("TokensIssued", "Count")));
        }
        out.push_str(r#"]},"Function":"#);
        push_json_string(&mut out, function);
        if !coded.is_empty() {
            out.push_str(r#","Code":"#);
            push_json_string(&mut out, code.unwrap_or("none"));
        }
        if let Some(kind) = kind {
            let _ = write!(out, r#","Kind":"{}","TokensIssued":{}"#, kind.name(), self.tokens[kind as usize]);
        }
        for (name, _, value) in &plain {
            let _ = write!(out, r#","{name}":{value}"#);
        }
        for name in &coded {
            let _ = write!(out, r#","{name}":1"#);
        }
        out.push('}');
        Some(out)
    }
}

/// `value` as a JSON string. Namespaces, function names and codes are plain ASCII; anything
/// else is escaped.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one record to stdout, where Lambda sends it to the function's log group.
pub fn write_stdout(line: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.write_all(b"\n");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: Duration = Duration::from_millis(1_795_345_200_123);

    fn line(record: &Record, status: u16, code: Option<&'static str>) -> Option<Value> {
        record
            .line("VideoSdkTokenServer", "get-token", Answer { status, code }, UNIX_EPOCH + NOW)
            .map(|l| serde_json::from_str(&l).expect("valid JSON"))
    }

    async fn counted(f: impl FnOnce()) -> Record {
        scope(async { f() }).await.1
    }

    #[tokio::test]
    async fn a_minted_token_is_one_record_by_function_and_kind() {
        let record = counted(|| token_issued(TokenKind::Participant)).await;
        let emf = line(&record, 200, None).unwrap();
        assert_eq!(
            emf,
            json!({"_aws": {"Timestamp": 1_795_345_200_123u64, "CloudWatchMetrics": [
                {"Namespace": "VideoSdkTokenServer", "Dimensions": [["Function", "Kind"], []],
                 "Metrics": [{"Name": "TokensIssued", "Unit": "Count"}]}]},
                "Function": "get-token", "Kind": "participant", "TokensIssued": 1})
        );
    }

    #[tokio::test]
    async fn upstream_calls_errors_and_client_errors() {
        let record = counted(|| {
            token_issued(TokenKind::Management);
            upstream_call(Duration::from_micros(12_345));
            upstream_call(Duration::from_millis(3));
        })
        .await;
        let emf = line(&record, 504, Some("upstream_timeout")).unwrap();
        assert_eq!(emf["UpstreamCalls"], 2);
        assert_eq!(emf["UpstreamLatency"], json!([12.35, 3]));
        assert_eq!(
            (emf["Code"].as_str(), emf["ServerErrors"].as_u64(), emf["UpstreamErrors"].as_u64()),
            (Some("upstream_timeout"), Some(1), Some(1))
        );
        assert!(emf.get("ClientErrors").is_none());
        let directives = &emf["_aws"]["CloudWatchMetrics"];
        assert_eq!(directives[1]["Dimensions"], json!([["Function", "Code"], []]));

        let refused = line(&Record::default(), 400, Some("invalid_field")).unwrap();
        assert_eq!((refused["ClientErrors"].as_u64(), refused["Code"].as_str()), (Some(1), Some("invalid_field")));
        assert!(refused.get("UpstreamErrors").is_none());
    }

    #[tokio::test]
    async fn rate_limits_secrets_and_webhooks() {
        let record = counted(rate_limited).await;
        let emf = line(&record, 429, Some("rate_limited")).unwrap();
        assert_eq!((emf["RateLimited"].as_u64(), emf.get("UpstreamErrors")), (Some(1), None));

        let emf = line(&Record::default(), 503, Some("secret_unavailable")).unwrap();
        assert_eq!(emf["SecretUnavailable"], 1);

        let forged = counted(webhook_received).await;
        let emf = line(&forged, 401, Some("invalid_signature")).unwrap();
        assert_eq!((emf["WebhooksReceived"].as_u64(), emf["WebhooksRejected"].as_u64()), (Some(1), Some(1)));
        let emf = line(&forged, 503, Some("event_bus_unavailable")).unwrap();
        assert_eq!((emf["EventBusErrors"].as_u64(), emf.get("WebhooksRejected")), (Some(1), None));

        let unchecked = counted(rate_limit_unchecked).await;
        assert_eq!(line(&unchecked, 200, None).unwrap()["RateLimitUnchecked"], 1);
    }

    #[tokio::test]
    async fn nothing_counted_and_a_success_is_no_record() {
        assert_eq!(line(&Record::default(), 200, None), None);
        // Outside an invocation nothing is counted, and nothing panics.
        token_issued(TokenKind::Agent);
        let (_, record) = scope(async {}).await;
        assert_eq!(record, Record::default());
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n");
        assert_eq!(out, r#""a\"b\\c\u000a""#);
    }
}
