//! Per-caller rate limits (contract: "Per-caller rate limits"). A fixed window per caller and
//! action, counted in DynamoDB (`RATE_LIMIT_TABLE`) by one conditional `UpdateItem` per request:
//! the item of the current window is created or incremented only while its count is below the
//! limit, so concurrent requests can never pass more than the limit (no read-modify-write).
//! Over the limit: 429 `rate_limited` with `Retry-After`. DynamoDB throttling the caller's own
//! item (one caller writing faster than a partition takes) is that caller hammering, not an
//! outage: 429 with `Retry-After: 1`. The table unreachable, slow or refusing otherwise: the
//! request goes on, after at most [`CHECK_TIMEOUT`] (or what is left of its deadline), and the
//! failure is logged and counted.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::config::{Action, Limit, Limits};
use crate::error::ApiError;

/// Longest one check may take before the request goes on without it.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(300);
/// Items outlive their window by this much before DynamoDB's TTL may delete them.
const TTL_GRACE_SECONDS: u64 = 60;
/// A caller key longer than this is stored as its SHA-256 (DynamoDB keys hold at most 2 KiB).
const MAX_KEY_CHARS: usize = 200;

/// The counters' table and the limits of the actions this function performs.
pub struct RateLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    limits: Limits,
    failures: AtomicU64,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter").field("table", &self.table).field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// Where the window of `now` ends, and the item key counting `action` for `caller` in it.
pub fn window_key(action: Action, caller: &str, limit: Limit, now: SystemTime) -> (String, u64) {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let start = now - now % limit.window_seconds;
    let caller = match caller.chars().count() > MAX_KEY_CHARS {
        true => format!("sha256:{}", crate::signature::sha256_hex(caller.as_bytes())),
        false => caller.to_owned(),
    };
    (format!("{action}#{caller}#{start}"), start + limit.window_seconds)
}

impl RateLimiter {
    /// The table `table`, reached through the process's AWS SDK configuration (call during INIT).
    pub async fn new(table: String, limits: Limits) -> Result<RateLimiter, crate::net::NetError> {
        let sdk = crate::secret::aws_sdk_config().await?;
        // No retries: a throttled item would be retried after a backoff longer than the whole
        // check may take, and answered as "not checked" instead of the caller's 429.
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        Ok(RateLimiter::with_client(aws_sdk_dynamodb::Client::from_conf(config), table, limits))
    }

    pub fn with_client(client: aws_sdk_dynamodb::Client, table: String, limits: Limits) -> RateLimiter {
        RateLimiter { client, table, limits, failures: AtomicU64::new(0) }
    }

    /// How many checks could not reach the table since INIT.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Counts one `action` by `caller` (a [`crate::caller::rate_key`]); 429 over the limit.
    pub async fn admit(&self, caller: &str, action: Action, now: SystemTime) -> Result<(), ApiError> {
        let Some(limit) = self.limits.get(action) else { return Ok(()) };
        let (pk, window_end) = window_key(action, caller, limit, now);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .update_expression("ADD #count :one SET #expires = if_not_exists(#expires, :expires)")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#expires", "expiresAt")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(limit.count.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N((window_end + TTL_GRACE_SECONDS).to_string()))
            .send();
        let until = crate::deadline::within(CHECK_TIMEOUT);
        let cause = match tokio::time::timeout_at(until.into(), update).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(SdkError::ServiceError(e)))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                let retry_after = window_end.saturating_sub(now).max(1);
                tracing::info!(action = %action, limit = limit.count, window_seconds = limit.window_seconds, retry_after, "caller over its rate limit");
                crate::metrics::rate_limited();
                return Err(ApiError::CallerRateLimited { retry_after });
            }
            Ok(Err(SdkError::ServiceError(e))) if is_throttling(e.err()) => {
                tracing::info!(action = %action, limit = limit.count, "DynamoDB throttled this caller's counter: answered as over the limit");
                crate::metrics::rate_limited();
                return Err(ApiError::CallerRateLimited { retry_after: 1 });
            }
            Ok(Err(e)) => format!("DynamoDB refused: {}", DisplayErrorContext(&e)),
            Err(_) => "DynamoDB did not answer in time".to_owned(),
        };
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        crate::metrics::rate_limit_unchecked();
        tracing::warn!(action = %action, table = %self.table, failures, cause = %cause, "rate limit not checked; the request goes on");
        Ok(())
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
