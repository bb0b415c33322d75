//! Per-caller rate limits and account-wide spending budgets (contract: "Per-caller rate
//! limits"), counted in DynamoDB (`RATE_LIMIT_TABLE`) in fixed windows aligned to the Unix epoch.
//!
//! Each counter is one conditional `UpdateItem`: the item of the current window is created or
//! incremented only while its count is below its limit, so concurrent requests can never pass
//! more than the limit (no read-modify-write). A budgeted action (`BUDGETS`: agent minutes,
//! transcription, recordings, streams) counts three items at once, side by side (one round
//! trip): the caller's limit `<action>#<caller>#<window>`, the caller's share of the budget
//! `budget#<action>#<window>#<caller>` (at most a quarter of it, rounded up) and the budget
//! `budget#<action>#<window>`. A request refused by one of them is given back to the others, so
//! a refusal by the caller's limit costs the budget nothing and a spent budget costs the caller
//! nothing; an [`Admission`] is given back when VideoSDK refuses the call (nothing started).
//!
//! Over a limit or a share: 429 `rate_limited` with `Retry-After`. A spent budget: 429
//! `budget_exhausted` with `Retry-After` = the rest of its window. DynamoDB throttling one of the
//! request's items (one caller writing faster than a partition takes, or the budget's item
//! hammered) is not an outage: 429 with `Retry-After: 1`, never a pass. The table unreachable, slow or refusing
//! otherwise: the request goes on, after at most [`CHECK_TIMEOUT`] (or what is left of its
//! deadline), and the failure is logged and counted.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::config::{Action, Limit, Limits};
use crate::error::ApiError;

/// Longest one check may take before the request goes on without it.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(300);
/// Items outlive their window by this much before DynamoDB's TTL may delete them.
const TTL_GRACE_SECONDS: u64 = 60;
/// A caller key longer than this is stored as its SHA-256 (DynamoDB keys hold at most 2 KiB).
const MAX_KEY_CHARS: usize = 200;

/// The counters' table, the limits and the budgets of the actions this function performs.
pub struct RateLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    limits: Limits,
    budgets: Limits,
    failures: AtomicU64,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("table", &self.table)
            .field("limits", &self.limits)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

fn epoch_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A caller key as stored: long ones as their SHA-256.
fn stored_caller(caller: &str) -> String {
    match caller.chars().count() > MAX_KEY_CHARS {
        true => format!("sha256:{}", crate::signature::sha256_hex(caller.as_bytes())),
        false => caller.to_owned(),
    }
}

/// Where the window of `now` ends, and the item key counting `action` for `caller` in it.
pub fn window_key(action: Action, caller: &str, limit: Limit, now: SystemTime) -> (String, u64) {
    let now = epoch_seconds(now);
    let start = now - now % limit.window_seconds;
    (format!("{action}#{}#{start}", stored_caller(caller)), start + limit.window_seconds)
}

/// The item keys of `action`'s budget in the window of `now` (all callers), of `caller`'s share
/// of it, and where that window ends.
pub fn budget_keys(action: Action, caller: &str, budget: Limit, now: SystemTime) -> (String, String, u64) {
    let now = epoch_seconds(now);
    let start = now - now % budget.window_seconds;
    let all = format!("budget#{action}#{start}");
    let share = format!("{all}#{}", stored_caller(caller));
    (all, share, start + budget.window_seconds)
}

/// The most one caller may take of a budget: a quarter, rounded up.
pub fn share_of(budget: Limit) -> u32 {
    budget.count.div_ceil(4)
}

/// What one counter said.
#[derive(Debug)]
enum Count {
    /// Counted; the count after it, when asked for.
    Passed(Option<u64>),
    /// At its limit: not counted.
    Full,
    /// DynamoDB throttled the item.
    Throttled,
    /// The table could not be asked: the cause.
    Unchecked(String),
    /// Not counted at all (no such limit or budget).
    Skipped,
}

impl Count {
    fn passed(&self) -> bool {
        matches!(self, Count::Passed(_))
    }
}

/// What was counted for one request that passed: given back ([`RateLimiter::give_back`]) when
/// nothing was started after all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[must_use = "give it back when VideoSDK refuses the call"]
pub struct Admission {
    counted: Vec<String>,
}

impl RateLimiter {
    /// The table `table`, reached through the process's AWS SDK configuration (call during INIT).
    pub async fn new(table: String, limits: Limits, budgets: Limits) -> Result<RateLimiter, crate::net::NetError> {
        let sdk = crate::secret::aws_sdk_config().await?;
        // No retries: a throttled item would be retried after a backoff longer than the whole
        // check may take, and answered as "not checked" instead of the caller's 429.
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        Ok(RateLimiter::with_client(aws_sdk_dynamodb::Client::from_conf(config), table, limits, budgets))
    }

    pub fn with_client(
        client: aws_sdk_dynamodb::Client,
        table: String,
        limits: Limits,
        budgets: Limits,
    ) -> RateLimiter {
        RateLimiter { client, table, limits, budgets, failures: AtomicU64::new(0) }
    }

    /// How many checks could not reach the table since INIT.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// One conditional increment of `pk` below `limit`, with the count after it when `want_count`.
    async fn count(&self, pk: &str, limit: u32, expires: u64, want_count: bool) -> Count {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .update_expression("ADD #count :one SET #expires = if_not_exists(#expires, :expires)")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#expires", "expiresAt")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N((expires + TTL_GRACE_SECONDS).to_string()));
        if want_count {
            update = update.return_values(ReturnValue::UpdatedNew);
        }
        let until = crate::deadline::within(CHECK_TIMEOUT);
        match tokio::time::timeout_at(until.into(), update.send()).await {
            Ok(Ok(out)) => Count::Passed(
                out.attributes().and_then(|a| a.get("count")).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()),
            ),
            Ok(Err(SdkError::ServiceError(e))) => match e.err() {
                UpdateItemError::ConditionalCheckFailedException(_) => Count::Full,
                err if is_throttling(err) => Count::Throttled,
                _ => Count::Unchecked(format!("DynamoDB refused: {}", DisplayErrorContext(&SdkError::ServiceError(e)))),
            },
            Ok(Err(e)) => Count::Unchecked(format!("DynamoDB refused: {}", DisplayErrorContext(&e))),
            Err(_) => Count::Unchecked("DynamoDB did not answer in time".to_owned()),
        }
    }

    /// Counts one `action` by `caller` (a [`crate::caller::rate_key`]) against its limit, its
    /// share of the action's budget and the budget: 429 `rate_limited` over the limit or the
    /// share, 429 `budget_exhausted` past the budget; nothing is counted for a refused request.
    pub async fn admit(&self, caller: &str, action: Action, now: SystemTime) -> Result<Admission, ApiError> {
        let limit = self.limits.get(action);
        let budget = self.budgets.get(action);
        let limit_key = limit.map(|l| window_key(action, caller, l, now));
        let budget_keys = budget.map(|b| budget_keys(action, caller, b, now));
        let by_limit = async {
            match (&limit_key, limit) {
                (Some((pk, end)), Some(l)) => self.count(pk, l.count, *end, false).await,
                _ => Count::Skipped,
            }
        };
        let (by_limit, by_share, by_budget) = match (&budget_keys, budget) {
            (Some((all, share, end)), Some(b)) => tokio::join!(
                by_limit,
                self.count(share, share_of(b), *end, false),
                self.count(all, b.count, *end, true)
            ),
            _ => (by_limit.await, Count::Skipped, Count::Skipped),
        };
        let now_s = epoch_seconds(now);
        let counted = |c: &Count, key: Option<&String>| c.passed().then(|| key.cloned()).flatten();
        let all_counted: Vec<String> = [
            counted(&by_limit, limit_key.as_ref().map(|(k, _)| k)),
            counted(&by_share, budget_keys.as_ref().map(|(_, s, _)| s)),
            counted(&by_budget, budget_keys.as_ref().map(|(a, _, _)| a)),
        ]
        .into_iter()
        .flatten()
        .collect();
        // The first refusal answers; whatever the other counters counted is given back.
        let refusal = match (&by_limit, &by_share, &by_budget) {
            (Count::Full, _, _) => {
                let (_, end) = limit_key.as_ref().map_or((String::new(), now_s + 1), |(k, e)| (k.clone(), *e));
                let l = limit.unwrap_or(Limit { count: 0, window_seconds: 0 });
                tracing::info!(action = %action, limit = l.count, window_seconds = l.window_seconds, retry_after = end.saturating_sub(now_s).max(1), "caller over its rate limit");
                Some(ApiError::CallerRateLimited { retry_after: end.saturating_sub(now_s).max(1) })
            }
            // The budget's item throttled too: spending is never let through unchecked (a flood
            // of refused requests must not switch the budget off); retry in a second.
            (Count::Throttled, _, _) | (_, Count::Throttled, _) | (_, _, Count::Throttled) => {
                tracing::info!(action = %action, "DynamoDB throttled a counter of this request: answered as over the limit");
                Some(ApiError::CallerRateLimited { retry_after: 1 })
            }
            (_, Count::Full, _) => {
                let (b, end) = (
                    budget.unwrap_or(Limit { count: 0, window_seconds: 0 }),
                    budget_keys.as_ref().map_or(now_s + 1, |k| k.2),
                );
                tracing::info!(action = %action, share = share_of(b), budget = b.count, window_seconds = b.window_seconds, "caller over its share of the budget");
                Some(ApiError::CallerRateLimited { retry_after: end.saturating_sub(now_s).max(1) })
            }
            (_, _, Count::Full) => {
                let (b, end) = (
                    budget.unwrap_or(Limit { count: 0, window_seconds: 0 }),
                    budget_keys.as_ref().map_or(now_s + 1, |k| k.2),
                );
                tracing::warn!(action = %action, budget = b.count, window_seconds = b.window_seconds, "the account-wide budget is spent; refused");
                crate::metrics::budget_used(action.name(), 100.0);
                Some(ApiError::BudgetExhausted { action: action.name(), retry_after: end.saturating_sub(now_s).max(1) })
            }
            _ => None,
        };
        if let Some(refusal) = refusal {
            if matches!(refusal, ApiError::CallerRateLimited { .. }) {
                crate::metrics::rate_limited();
            }
            self.give_back(Admission { counted: all_counted }).await;
            return Err(refusal);
        }
        let causes = [&by_limit, &by_share, &by_budget].into_iter().filter_map(|c| match c {
            Count::Unchecked(cause) => Some(cause),
            _ => None,
        });
        for cause in causes {
            let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            crate::metrics::rate_limit_unchecked();
            tracing::warn!(action = %action, table = %self.table, failures, cause = %cause, "rate limit not checked; the request goes on");
        }
        if let (Count::Passed(Some(used)), Some(b)) = (&by_budget, budget) {
            crate::metrics::budget_used(action.name(), *used as f64 * 100.0 / f64::from(b.count));
        }
        Ok(Admission { counted: all_counted.into_iter().filter(|k| k.starts_with("budget#")).collect() })
    }

    /// Gives back what `admission` counted (best effort, bounded like a check).
    pub async fn give_back(&self, admission: Admission) {
        let give = |pk: String| {
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk))
                .update_expression("ADD #count :minus")
                .condition_expression("#count > :zero")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .send();
            async move {
                let until = crate::deadline::within(CHECK_TIMEOUT);
                if !matches!(tokio::time::timeout_at(until.into(), update).await, Ok(Ok(_))) {
                    tracing::warn!("could not give back a counted request; its window counts it");
                }
            }
        };
        let mut pending = admission.counted.into_iter().map(give);
        // At most three counters: given back side by side.
        match (pending.next(), pending.next(), pending.next()) {
            (Some(a), Some(b), Some(c)) => drop(tokio::join!(a, b, c)),
            (Some(a), Some(b), None) => drop(tokio::join!(a, b)),
            (Some(a), None, None) => a.await,
            _ => {}
        }
    }
}

/// DynamoDB's answers for an item written faster than its partition takes.
fn is_throttling(error: &UpdateItemError) -> bool {
    matches!(
        error,
        UpdateItemError::ProvisionedThroughputExceededException(_) | UpdateItemError::ThrottlingException(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_caller_action_and_window() {
        let limit = Limit { count: 3, window_seconds: 60 };
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        let (k1, end) = window_key(Action::Token, "ip:203.0.113.9", limit, at(1_000_030));
        assert_eq!((k1.as_str(), end), ("token#ip:203.0.113.9#1000020", 1_000_080));
        assert_eq!(window_key(Action::Token, "ip:203.0.113.9", limit, at(1_000_079)).0, k1);
        assert_ne!(window_key(Action::Token, "ip:203.0.113.9", limit, at(1_000_080)).0, k1);
        assert_ne!(window_key(Action::Room, "ip:203.0.113.9", limit, at(1_000_030)).0, k1);
        let long = "sub:".to_owned() + &"x".repeat(500);
        let (hashed, _) = window_key(Action::Token, &long, limit, at(0));
        assert!(hashed.starts_with("token#sha256:") && hashed.len() < 100, "{hashed}");
    }
}
