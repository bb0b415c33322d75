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
    agents_dispatched: u32,
    webhook_dedupe_unchecked: bool,
    webhook_unaddressed: bool,
    /// A repeat answered 503 while the first delivery publishes: not an event-bus error.
    webhook_pending: bool,
    /// The share of each budget used after this invocation's count, in percent, by action.
    budget_used: Option<(&'static str, f64)>,
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

/// A verified webhook was published without knowing whether it had been already (the delivery
/// record could not be reached).
pub fn webhook_dedupe_unchecked() {
    count(|r| r.webhook_dedupe_unchecked = true);
}

/// A webhook came to the bare `/videosdk-webhook` route while `WEBHOOK_KEY` is set.
pub fn webhook_unaddressed() {
    count(|r| r.webhook_unaddressed = true);
}

/// A repeated webhook was answered 503 because the first delivery is still publishing it.
pub fn webhook_pending() {
    count(|r| r.webhook_pending = true);
}

/// The account-wide budget of `action` is `percent` used after this invocation's count.
pub fn budget_used(action: &'static str, percent: f64) {
    count(|r| r.budget_used = Some((action, (percent * 100.0).round() / 100.0)));
}

/// VideoSDK accepted an agent dispatch.
pub fn agent_dispatched() {
    count(|r| r.agents_dispatched += 1);
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

/// A metric's value in the record.
#[derive(Clone, Copy)]
enum Value<'a> {
    Count(u64),
    /// Milliseconds: one value, or an array of them (EMF takes up to 100 per record).
    Millis(&'a [f64]),
}

impl Record {
    /// The EMF line for this invocation (no trailing newline), or `None` when nothing was counted
    /// and the answer was a success. Built with one allocation: it runs on every invocation.
    pub fn line(&self, namespace: &str, function: &str, answer: Answer, now: SystemTime) -> Option<String> {
        let code = answer.code.filter(|_| answer.status >= 400);
        let client_error = (400..500).contains(&answer.status);
        let caller_limited = self.rate_limited > 0;
        let upstream = &self.upstream_latency_ms[..];
        let upstream_error = code.is_some_and(|c| {
            c.starts_with("upstream_") || (c == "rate_limited" && !caller_limited && !upstream.is_empty())
        });
        let count = |on: bool, name: &'static str, n: u64| on.then_some((name, "Count", Value::Count(n)));
        // Metrics by [Function].
        let plain = [
            count(!upstream.is_empty(), "UpstreamCalls", upstream.len() as u64),
            (!upstream.is_empty()).then_some(("UpstreamLatency", "Milliseconds", Value::Millis(upstream))),
            count(code == Some("secret_unavailable"), "SecretUnavailable", 1),
            count(caller_limited, "RateLimited", self.rate_limited.into()),
            count(self.rate_limit_unchecked > 0, "RateLimitUnchecked", self.rate_limit_unchecked.into()),
            count(self.webhook_received, "WebhooksReceived", 1),
            count(code == Some("event_bus_unavailable") && !self.webhook_pending, "EventBusErrors", 1),
            count(self.agents_dispatched > 0, "AgentsDispatched", self.agents_dispatched.into()),
            count(self.webhook_dedupe_unchecked, "WebhookDedupeUnchecked", 1),
            count(self.webhook_unaddressed, "WebhookUnaddressed", 1),
        ];
        // Metrics by [Function, Code].
        let coded = [
            client_error.then_some("ClientErrors"),
            (answer.status >= 500).then_some("ServerErrors"),
            upstream_error.then_some("UpstreamErrors"),
            (self.webhook_received && client_error).then_some("WebhooksRejected"),
        ];
        // TokensIssued by [Function, Kind]: an invocation mints one kind of token.
        let kind = TokenKind::ALL.into_iter().find(|&k| self.tokens[k as usize] > 0);
        let (has_plain, has_coded) = (plain.iter().any(Option::is_some), coded.iter().any(Option::is_some));
        if !has_plain && !has_coded && kind.is_none() && self.budget_used.is_none() {
            return None;
        }

        let millis = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut out = String::with_capacity(640);
        out.push_str(r#"{"_aws":{"Timestamp":"#);
        push_u64(&mut out, millis);
        out.push_str(r#","CloudWatchMetrics":["#);
        let mut first = true;
        let mut directive = |out: &mut String, dims: &str, metrics: &mut dyn Iterator<Item = (&str, &str)>| {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            out.push_str(r#"{"Namespace":"#);
            push_json_string(out, namespace);
            out.push_str(r#","Dimensions":["#);
            out.push_str(dims);
            out.push_str(r#"],"Metrics":["#);
            for (i, (name, unit)) in metrics.enumerate() {
                out.push_str(if i > 0 { r#",{"Name":""# } else { r#"{"Name":""# });
                out.push_str(name);
                out.push_str(r#"","Unit":""#);
                out.push_str(unit);
                out.push_str(r#""}"#);
            }
            out.push_str("]}");
        };
        if has_plain {
            directive(&mut out, r#"["Function"],[]"#, &mut plain.iter().flatten().map(|(n, u, _)| (*n, *u)));
        }
        if has_coded {
            directive(&mut out, r#"["Function","Code"],[]"#, &mut coded.iter().flatten().map(|n| (*n, "Count")));
        }
        if kind.is_some() {
            directive(&mut out, r#"["Function","Kind"],[]"#, &mut std::iter::once(("TokensIssued", "Count")));
        }
        // BudgetUsed by [Action] only: the account-wide share, whichever function counted it.
        if self.budget_used.is_some() {
            directive(&mut out, r#"["Action"]"#, &mut std::iter::once(("BudgetUsed", "Percent")));
        }
        out.push_str(r#"]},"Function":"#);
        push_json_string(&mut out, function);
        if has_coded {
            out.push_str(r#","Code":"#);
            push_json_string(&mut out, code.unwrap_or("none"));
        }
        if let Some(kind) = kind {
            out.push_str(r#","Kind":""#);
            out.push_str(kind.name());
            out.push_str(r#"","TokensIssued":"#);
            push_u64(&mut out, self.tokens[kind as usize].into());
        }
        if let Some((action, percent)) = self.budget_used {
            out.push_str(r#","Action":"#);
            push_json_string(&mut out, action);
            push_key(&mut out, "BudgetUsed");
            push_millis(&mut out, percent);
        }
        for (name, _, value) in plain.iter().flatten() {
            push_key(&mut out, name);
            match value {
                Value::Count(n) => push_u64(&mut out, *n),
                Value::Millis([one]) => push_millis(&mut out, *one),
                Value::Millis(many) => {
                    out.push('[');
                    for (i, v) in many.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        push_millis(&mut out, *v);
                    }
                    out.push(']');
                }
            }
        }
        for name in coded.iter().flatten() {
            push_key(&mut out, name);
            out.push('1');
        }
        out.push('}');
        Some(out)
    }
}

/// `,"name":`
fn push_key(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

/// A count, without the formatting machinery.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits only.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
}

/// Milliseconds as JSON (rounded to 0.01 by the counting; finite).
fn push_millis(out: &mut String, v: f64) {
    let _ = write!(out, "{v}");
}

/// `value` as a JSON string. Namespaces, function names and codes are plain ASCII; anything
/// else is escaped.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    if !value.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(value);
    } else {
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

        let unchecked = counted(webhook_dedupe_unchecked).await;
        assert_eq!(line(&unchecked, 200, None).unwrap()["WebhookDedupeUnchecked"], 1);

        let dispatched = counted(agent_dispatched).await;
        let emf = line(&dispatched, 200, None).unwrap();
        assert_eq!(emf["AgentsDispatched"], 1);
        assert!(
            emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .contains(&json!({"Name": "AgentsDispatched", "Unit": "Count"}))
        );
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
    fn counts_are_written_as_json_numbers() {
        for n in [0, 7, 10, 1_795_345_200_123, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    /// Every combination of what an invocation can count and how it can be answered is one
    /// valid JSON line whose directives name exactly the metrics at its top level.
    #[test]
    fn every_record_is_valid_emf() {
        let answers = [
            (200, None),
            (400, Some("invalid_field")),
            (429, Some("rate_limited")),
            (503, Some("secret_unavailable")),
            (502, Some("upstream_error")),
            (503, Some("event_bus_unavailable")),
        ];
        let mut checked = 0;
        for bits in 0..64u32 {
            let record = Record {
                tokens: [u32::from(bits & 1 != 0), 0, 0],
                upstream_latency_ms: match bits & 6 {
                    2 => vec![1.5],
                    4 => vec![1.25, 30.0],
                    6 => vec![0.01, 2.0, 3.33],
                    _ => vec![],
                },
                rate_limited: u32::from(bits & 8 != 0),
                rate_limit_unchecked: 0,
                webhook_received: bits & 16 != 0,
                agents_dispatched: u32::from(bits & 32 != 0),
                webhook_dedupe_unchecked: bits & 32 != 0,
                webhook_unaddressed: bits & 16 != 0,
                webhook_pending: false,
                budget_used: (bits & 8 != 0).then_some(("agent", 12.5)),
            };
            for (status, code) in answers {
                let Some(emf) = line(&record, status, code) else {
                    assert!(bits == 0 && status == 200);
                    continue;
                };
                let directives = emf["_aws"]["CloudWatchMetrics"].as_array().unwrap();
                let mut named = 0;
                for d in directives {
                    for m in d["Metrics"].as_array().unwrap() {
                        let name = m["Name"].as_str().unwrap();
                        assert!(emf[name].is_number() || emf[name].is_array(), "{name} missing in {emf}");
                        named += 1;
                    }
                    for dim in d["Dimensions"][0].as_array().unwrap() {
                        assert!(emf[dim.as_str().unwrap()].is_string(), "{dim} missing in {emf}");
                    }
                }
                let values = emf
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| !["_aws", "Function", "Code", "Kind", "Action"].contains(&k.as_str()));
                assert_eq!(values.count(), named, "{emf}");
                checked += 1;
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn budget_use_is_a_percentage_by_action_alone() {
        let record = Record { budget_used: Some(("transcription", 81.0)), ..Record::default() };
        let emf = line(&record, 200, None).expect("a record");
        assert_eq!(emf["Action"], "transcription");
        assert_eq!(emf["BudgetUsed"], 81.0);
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([["Action"]]), "{emf}");
        assert_eq!(directive["Metrics"], json!([{"Name": "BudgetUsed", "Unit": "Percent"}]));
        let pending = Record { webhook_pending: true, webhook_received: true, ..Record::default() };
        let emf = line(&pending, 503, Some("event_bus_unavailable")).expect("a record");
        assert!(emf.get("EventBusErrors").is_none(), "a pending repeat is not a bus error: {emf}");
        let unaddressed = Record { webhook_unaddressed: true, ..Record::default() };
        assert_eq!(line(&unaddressed, 404, Some("not_found")).expect("a record")["WebhookUnaddressed"], 1);
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n");
        assert_eq!(out, r#""a\"b\\c\u000a""#);
    }
}
