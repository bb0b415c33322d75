//! Receiving VideoSDK's webhooks: the per-deployment key in the URL, the key they are verified
//! with (pinned, or fetched and cached, fetched again when a signature fails with an old one),
//! the checks in the contract's order, the EventBridge event a verified delivery becomes, and
//! the record that makes a delivery published at most once. Nothing is published, and the body
//! is never logged, unless the signature verifies.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_http::Request;
use lambda_http::http::Method;
use serde_json::{Value, json};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::claims::rfc3339_utc;
use crate::config::WebhookKey;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::http::{body_bytes, require_method};
use crate::secret::SecretStore;
use crate::signature::{self, PublicKey};
use crate::videosdk::VideoSdk;

/// Largest webhook body accepted.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;
/// The header VideoSDK signs deliveries with.
pub const SIGNATURE_HEADER: &str = "videosdk-signature";
/// How long a failed key fetch blocks the next one.
const FETCH_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Where the webhook key comes from.
pub enum KeyStore {
    /// `VIDEOSDK_WEBHOOK_PUBLIC_KEY`.
    Pinned(Arc<PublicKey>),
    /// `GET /v2/public/rsa-public-key`, fetched once and kept (fetched again after a failed
    /// signature when older than `refetch_after`).
    Fetched { state: Mutex<Fetched>, refetch_after: Duration },
}

#[derive(Default)]
pub struct Fetched {
    key: Option<Arc<PublicKey>>,
    /// When the key in hand was fetched, or last fetched again after a failed signature.
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyStore::Pinned(_) => f.write_str("KeyStore::Pinned"),
            KeyStore::Fetched { .. } => f.write_str("KeyStore::Fetched"),
        }
    }
}

impl KeyStore {
    /// The pinned key, or one fetched and fetched again after a failed signature once it is
    /// `refetch_after` old (`WEBHOOK_KEY_REFETCH_SECONDS`, 10 minutes by default).
    pub fn new(pinned: Option<PublicKey>, refetch_after: Duration) -> KeyStore {
        match pinned {
            Some(key) => KeyStore::Pinned(Arc::new(key)),
            None => KeyStore::fetched(refetch_after),
        }
    }

    /// A fetched key, fetched again after a failed signature once it is `refetch_after` old.
    pub fn fetched(refetch_after: Duration) -> KeyStore {
        KeyStore::Fetched { state: Mutex::new(Fetched::default()), refetch_after }
    }

    fn fetched_state(&self) -> Option<std::sync::MutexGuard<'_, Fetched>> {
        match self {
            KeyStore::Pinned(_) => None,
            KeyStore::Fetched { state, .. } => Some(state.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// After `used` failed to verify a signature: a newer key, when the key in hand was fetched
    /// (never pinned), is `used`, is older than the refetch age, and no refetch happened within
    /// that age. `None`: the failure stands.
    pub async fn newer_than(
        &self,
        used: &Arc<PublicKey>,
        api: Option<&VideoSdk>,
        secrets: &SecretStore,
    ) -> Option<Arc<PublicKey>> {
        let KeyStore::Fetched { refetch_after, .. } = self else { return None };
        {
            let mut fetched = self.fetched_state()?;
            let current = fetched.key.as_ref().is_some_and(|k| Arc::ptr_eq(k, used));
            let old = fetched.fetched_at.is_some_and(|at| at.elapsed() >= *refetch_after);
            if !current || !old {
                return None;
            }
            // At most once per refetch age, whatever the outcome.
            fetched.fetched_at = Some(Instant::now());
        }
        match crate::videosdk::webhooks::public_key(api?, secrets).await {
            Ok(key) if key != **used => {
                let key = Arc::new(key);
                if let Some(mut fetched) = self.fetched_state() {
                    fetched.key = Some(key.clone());
                }
                tracing::warn!("VideoSDK's webhook public key changed; verifying with the new one");
                Some(key)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(code = e.code(), cause = %e, "could not fetch VideoSDK's webhook public key again");
                None
            }
        }
    }

    /// The key in hand (pinned, or fetched before), never fetching one.
    pub fn in_hand(&self) -> Option<Arc<PublicKey>> {
        match self {
            KeyStore::Pinned(key) => Some(key.clone()),
            KeyStore::Fetched { .. } => self.fetched_state()?.key.clone(),
        }
    }

    /// The key, fetched from VideoSDK when not pinned and not yet had. A failure answers 503
    /// (VideoSDK retries the delivery) and blocks another fetch for a second.
    pub async fn key(&self, api: Option<&VideoSdk>, secrets: &SecretStore) -> Result<Arc<PublicKey>, ApiError> {
        if let KeyStore::Pinned(key) = self {
            return Ok(key.clone());
        }
        {
            let mut fetched = self.fetched_state().ok_or(ApiError::Internal)?;
            if let Some(key) = &fetched.key {
                return Ok(key.clone());
            }
            if fetched.last_attempt.is_some_and(|at| at.elapsed() < FETCH_RETRY_AFTER) {
                return Err(ApiError::WebhookKeyUnavailable);
            }
            fetched.last_attempt = Some(Instant::now());
        }
        let api = api.ok_or(ApiError::WebhookKeyUnavailable)?;
        match crate::videosdk::webhooks::public_key(api, secrets).await {
            Ok(key) => {
                let key = Arc::new(key);
                if let Some(mut fetched) = self.fetched_state() {
                    fetched.key = Some(key.clone());
                    fetched.fetched_at = Some(Instant::now());
                }
                tracing::info!("fetched VideoSDK's webhook public key");
                Ok(key)
            }
            Err(e) => {
                tracing::warn!(code = e.code(), cause = %e, "could not fetch VideoSDK's webhook public key; answering 503");
                Err(ApiError::WebhookKeyUnavailable)
            }
        }
    }
}

/// A delivery that verified, as published.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Hex SHA-256 of the raw body: the same delivery always has the same id.
    pub id: String,
    pub webhook_type: String,
    /// `data.meetingId` or `data.roomId`, for the log.
    pub room_id: Option<String>,
    /// The EventBridge `Detail`.
    pub detail: Value,
}

/// With `WEBHOOK_KEY` set, the delivery's URL must end in `/videosdk-webhook/<key>` (the path
/// parameter `key`, else the last path segment), compared in constant time: 404 otherwise,
/// before anything else. Unset: any path.
pub fn check_key(req: &Request, key: Option<&WebhookKey>) -> Result<(), ApiError> {
    use lambda_http::RequestExt;
    let Some(key) = key else { return Ok(()) };
    let path = req.uri().path();
    let given = req
        .path_parameters_ref()
        .and_then(|p| p.first("key"))
        .map(str::to_owned)
        .or_else(|| path.trim_end_matches('/').rsplit('/').next().map(str::to_owned))
        .unwrap_or_default();
    if key.matches(&given) {
        return Ok(());
    }
    tracing::warn!("refused a webhook delivery without this deployment's key in its URL");
    Err(ApiError::NotFound("No such webhook endpoint.".into()))
}

/// Whether `req` came to the bare `/videosdk-webhook` route, without any key in its path: a
/// room created before `WEBHOOK_KEY` existed still reports there.
pub fn unaddressed(req: &Request) -> bool {
    use lambda_http::RequestExt;
    let keyed = req.path_parameters_ref().and_then(|p| p.first("key")).is_some();
    !keyed && req.uri().path().trim_end_matches('/').rsplit('/').next() == Some("videosdk-webhook")
}

/// A delivery to the bare route while `WEBHOOK_KEY` is set: counted (`WebhookUnaddressed`), and
/// when its signature verifies with a key already in hand (none is fetched for it), the room it
/// names is logged, so the operator knows which rooms to move to the keyed URL. Answered 404.
pub fn note_unaddressed(req: &Request, keys: Option<&KeyStore>) {
    crate::metrics::webhook_unaddressed();
    let key = keys.and_then(KeyStore::in_hand);
    let verified = match key {
        Some(key) if precheck(req).is_ok() => verify(req, &key, SystemTime::now()).ok(),
        _ => None,
    };
    match verified {
        Some(delivery) => tracing::warn!(
            room_id = ?delivery.room_id.as_deref().unwrap_or("none"),
            webhook_type = ?delivery.webhook_type,
            "a verified webhook came to /videosdk-webhook without this deployment's key: the room was created before WEBHOOK_KEY (see the upgrade note); answered 404"
        ),
        None => tracing::warn!("a webhook came to /videosdk-webhook without this deployment's key; answered 404"),
    }
}

/// The checks before anything else is done: POST, the body size, and a signature header that
/// is there and is base64. A refusal here needs no key.
pub fn precheck(req: &Request) -> Result<(), ApiError> {
    require_method(req, &[Method::POST])?;
    if body_bytes(req).len() > MAX_WEBHOOK_BYTES {
        return Err(ApiError::WebhookTooLarge);
    }
    signature::decode_signature(signature_header(req)).map_err(|_| ApiError::InvalidSignature)?;
    Ok(())
}

fn signature_header(req: &Request) -> Option<&str> {
    req.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok())
}

/// Verifies `req`'s body against `key` and reads it: 401 when the signature does not match,
/// 400 when the verified body is not a JSON object with a string `webhookType`.
pub fn verify(req: &Request, key: &PublicKey, now: SystemTime) -> Result<Delivery, ApiError> {
    let body = body_bytes(req);
    key.verify(body, signature_header(req)).map_err(|e| {
        tracing::warn!(cause = %e, bytes = body.len(), "refused a webhook whose signature does not verify");
        ApiError::InvalidSignature
    })?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::MalformedJson("The webhook body is not valid JSON.".into()))?;
    let webhook_type = match value.get("webhookType") {
        Some(Value::String(t)) if (1..=128).contains(&t.len()) && !t.chars().any(char::is_control) => t.clone(),
        _ => {
            return Err(ApiError::invalid(
                "webhookType",
                "The webhook body must be a JSON object with a string webhookType.",
            ));
        }
    };
    let data = value.get("data").cloned().unwrap_or(Value::Null);
    let room_id = ["meetingId", "roomId"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .map(|r| r.chars().take(128).collect());
    let id = signature::sha256_hex(body);
    let received_at = rfc3339_utc(now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0));
    let detail = json!({"id": id, "webhookType": webhook_type, "data": data, "receivedAt": received_at});
    Ok(Delivery { id, webhook_type, room_id, detail })
}

/// Publishes a verified delivery (or, without a bus, logs it): 503 when the bus refuses.
pub async fn publish(delivery: &Delivery, bus: Option<&EventBus>) -> Result<(), ApiError> {
    let Some(bus) = bus else {
        tracing::info!(
            webhook_type = ?delivery.webhook_type,
            id = %delivery.id,
            room_id = ?delivery.room_id.as_deref().unwrap_or("none"),
            "verified webhook (EVENT_BUS_NAME is unset: logged, not published)"
        );
        return Ok(());
    };
    match bus.publish(&delivery.webhook_type, &delivery.detail.to_string()).await {
        Ok(()) => {
            tracing::info!(
                webhook_type = ?delivery.webhook_type,
                id = %delivery.id,
                room_id = ?delivery.room_id.as_deref().unwrap_or("none"),
                bus = bus.name(),
                "published a verified webhook"
            );
            Ok(())
        }
        Err(e) => {
            tracing::error!(cause = %e, id = %delivery.id, bus = bus.name(), "could not publish a verified webhook; answering 503");
            Err(ApiError::EventBusUnavailable)
        }
    }
}

/// Longest wait for the delivery record; past it, the event is published unchecked.
pub const DEDUPE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a claim taken by a publish in progress holds off a repeat (a crashed publish's claim
/// lapses after it, so VideoSDK's retry publishes the event).
const CLAIM_SECONDS: u64 = 60;

/// Remembers published deliveries (`WEBHOOK_DEDUPE_TABLE`, item `webhook#<id>`, TTL `expiresAt`),
/// so each is published at most once while remembered.
pub struct Published {
    client: aws_sdk_dynamodb::Client,
    table: String,
    seconds: u64,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published").field("table", &self.table).finish_non_exhaustive()
    }
}

/// What the record says of a verified delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not seen: this invocation publishes it (and must record or release it). The claim's own
    /// id: only that claim is recorded as published or released.
    New(ClaimId),
    /// Already published within the window.
    Duplicate,
    /// Claimed by another delivery that has not published it yet: answer 503 with
    /// `Retry-After` (the claim's remaining seconds), so that if that publish fails, VideoSDK's
    /// retry publishes the event.
    Pending { retry_after: u64 },
    /// The table could not be asked in time: publish anyway (at least once), counted. The claim
    /// may have been written after all (`Some`): released after a failed publish.
    Unchecked(Option<ClaimId>),
}

/// `call` within [`DEDUPE_TIMEOUT`] (or what is left of the request's deadline); `None` past it.
async fn bounded<F: std::future::Future>(call: F) -> Option<F::Output> {
    tokio::time::timeout_at(crate::deadline::within(DEDUPE_TIMEOUT).into(), call).await.ok()
}

/// One claim's own id (`claimId` in the record), so a delivery only ever records or releases its
/// own claim, never one another delivery made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimId(uuid::Uuid);

/// What an existing record of a delivery means at `now`: published (a duplicate), or claimed
/// by a publish not done yet (pending, for the claim's remaining seconds, at least 1).
fn held_claim(item: Option<&std::collections::HashMap<String, AttributeValue>>, now: u64) -> Claim {
    let number = |name: &str| item?.get(name)?.as_n().ok()?.parse::<u64>().ok();
    if number("publishedAt").is_some() {
        return Claim::Duplicate;
    }
    let claim_until = number("claimUntil").unwrap_or(now + CLAIM_SECONDS);
    Claim::Pending { retry_after: claim_until.saturating_sub(now).clamp(1, CLAIM_SECONDS) }
}

impl Published {
    /// The table `table`, reached through the process's AWS SDK configuration (call during INIT).
    pub async fn new(table: String, seconds: u64) -> Result<Published, crate::net::NetError> {
        let sdk = crate::secret::aws_sdk_config().await?;
        Ok(Published::with_client(aws_sdk_dynamodb::Client::new(&sdk), table, seconds))
    }

    pub fn with_client(client: aws_sdk_dynamodb::Client, table: String, seconds: u64) -> Published {
        Published { client, table, seconds }
    }

    fn key(id: &str) -> AttributeValue {
        AttributeValue::S(format!("webhook#{id}"))
    }

    /// Claims delivery `id` with one conditional write: new unless published within the window
    /// (a duplicate) or claimed by a publish still in progress (pending).
    pub async fn claim(&self, id: &str, now: SystemTime) -> Claim {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mine = ClaimId(uuid::Uuid::new_v4());
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", Published::key(id))
            .item("expiresAt", AttributeValue::N((now + self.seconds).to_string()))
            .item("claimUntil", AttributeValue::N((now + CLAIM_SECONDS).to_string()))
            .item("claimId", AttributeValue::S(mine.0.to_string()))
            .condition_expression(
                "attribute_not_exists(pk) OR expiresAt < :now OR (attribute_not_exists(publishedAt) AND claimUntil < :now)",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        let cause = match bounded(put).await {
            Some(Ok(_)) => return Claim::New(mine),
            Some(Err(SdkError::ServiceError(e))) => match e.err() {
                PutItemError::ConditionalCheckFailedException(held) => return held_claim(held.item(), now),
                _ => format!("DynamoDB refused: {}", DisplayErrorContext(&SdkError::ServiceError(e))),
            },
            Some(Err(e)) => format!("DynamoDB refused: {}", DisplayErrorContext(&e)),
            None => "DynamoDB did not answer in time".to_owned(),
        };
        crate::metrics::webhook_dedupe_unchecked();
        tracing::warn!(table = %self.table, id = %id, cause = %cause, "could not check whether the webhook was already published; publishing it (at least once)");
        // A write that timed out may still land: its claim is ours to release.
        Claim::Unchecked(Some(mine))
    }

    /// Records our claim of the delivery as published (best effort: if this fails, the claim
    /// lapses and a repeat after it is published again, at least once). Only our own claim: a
    /// record another delivery made is left as it is.
    pub async fn published(&self, id: &str, claim: ClaimId, now: SystemTime) {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Published::key(id))
            .update_expression("SET publishedAt = :now")
            .condition_expression("claimId = :mine")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":mine", AttributeValue::S(claim.0.to_string()))
            .send();
        if !matches!(bounded(update).await, Some(Ok(_))) {
            tracing::warn!(table = %self.table, id = %id, "could not record the webhook as published");
        }
    }

    /// Forgets our claim whose publish failed, so VideoSDK's retry publishes the event (if this
    /// fails too, the claim lapses after a minute). Never another delivery's claim, and never a
    /// published record.
    pub async fn release(&self, id: &str, claim: ClaimId) {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", Published::key(id))
            .condition_expression("claimId = :mine AND attribute_not_exists(publishedAt)")
            .expression_attribute_values(":mine", AttributeValue::S(claim.0.to_string()))
            .send();
        match bounded(delete).await {
            Some(Ok(_)) => {}
            Some(Err(SdkError::ServiceError(e)))
                if matches!(
                    e.err(),
                    aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_)
                ) => {}
            _ => {
                tracing::warn!(table = %self.table, id = %id, "could not release the claim of an unpublished webhook; it lapses in a minute")
            }
        }
    }
}
