//! The time a request has left. The runtime loop scopes each invocation to the deadline Lambda
//! gives it (minus a margin to send the answer); every wait inside — a secret read, a VideoSDK
//! call, its retries — is bounded by what is left, so a request answers with the envelope
//! before the function times out rather than leaving the caller API Gateway's bare 503.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Kept free at the end of an invocation to build and send the answer.
pub const MARGIN: Duration = Duration::from_millis(250);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `f` with `deadline` as the time by which it must answer; an outer deadline that comes
/// sooner still holds.
pub async fn scope<F: Future>(deadline: Instant, f: F) -> F::Output {
    let deadline = current().map_or(deadline, |outer| outer.min(deadline));
    DEADLINE.scope(deadline, f).await
}

/// The deadline of the running request, if one was set.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// `limit` from now, or sooner when the request's deadline comes first.
pub fn within(limit: Duration) -> Instant {
    let own = Instant::now() + limit;
    current().map_or(own, |deadline| deadline.min(own))
}

/// The invocation's deadline (`deadline_ms`, milliseconds since the epoch, from the Lambda
/// context) as an [`Instant`], less [`MARGIN`]. `None` when the context carries no usable
/// deadline: none at all, or one already past when the invocation arrives, which Lambda never
/// sends (cargo-lambda's emulator sends a duration, `600000`, not a time).
pub fn from_epoch_millis(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis();
    let left = u128::from(deadline_ms).checked_sub(now_ms).filter(|&ms| ms > 0)?;
    let left = Duration::from_millis(u64::try_from(left).ok()?);
    Some(Instant::now() + left.saturating_sub(MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch_ms_in(d: Duration) -> u64 {
        (SystemTime::now() + d).duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
    }

    #[test]
    fn the_lambda_deadline_keeps_a_margin() {
        let at = from_epoch_millis(epoch_ms_in(Duration::from_secs(3))).unwrap();
        let left = at.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(3) - MARGIN && left > Duration::from_millis(2_500), "{left:?}");
        let soon = from_epoch_millis(epoch_ms_in(Duration::from_millis(100))).unwrap();
        assert!(soon <= Instant::now(), "less than the margin left: already due");
        for unusable in [0, 1, 600_000, epoch_ms_in(Duration::ZERO) - 5] {
            assert_eq!(from_epoch_millis(unusable), None, "{unusable}");
        }
    }

    #[tokio::test]
    async fn the_sooner_deadline_wins() {
        assert!(current().is_none());
        let soon = Instant::now() + Duration::from_millis(100);
        scope(soon, async {
            assert_eq!(current(), Some(soon));
            assert_eq!(within(Duration::from_secs(5)), soon);
            assert!(within(Duration::from_millis(10)) < soon);
            scope(soon + Duration::from_secs(9), async { assert_eq!(current(), Some(soon)) }).await;
        })
        .await;
    }
}
