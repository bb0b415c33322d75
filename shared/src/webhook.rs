//! Receiving VideoSDK's webhooks: the key they are verified with (pinned, or fetched once per
//! container and cached), the checks in the contract's order, and the EventBridge event a
//! verified delivery becomes. Nothing is published, and the body is never logged, unless the
//! signature verifies.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_http::Request;
use lambda_http::http::Method;
use serde_json::{Value, json};

use crate::claims::rfc3339_utc;
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
    /// `GET /v2/public/rsa-public-key`, fetched once and kept.
    Fetched(Mutex<Fetched>),
}

#[derive(Default)]
pub struct Fetched {
    key: Option<Arc<PublicKey>>,
    last_attempt: Option<Instant>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyStore::Pinned(_) => f.write_str("KeyStore::Pinned"),
            KeyStore::Fetched(_) => f.write_str("KeyStore::Fetched"),
        }
    }
}

impl KeyStore {
    pub fn new(pinned: Option<PublicKey>) -> KeyStore {
        match pinned {
            Some(key) => KeyStore::Pinned(Arc::new(key)),
            None => KeyStore::Fetched(Mutex::new(Fetched::default())),
        }
    }

    fn fetched(&self) -> Option<std::sync::MutexGuard<'_, Fetched>> {
        match self {
            KeyStore::Pinned(_) => None,
            KeyStore::Fetched(m) => Some(m.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// The key, fetched from VideoSDK when not pinned and not yet had. A failure answers 503
    /// (VideoSDK retries the delivery) and blocks another fetch for a second.
    pub async fn key(&self, api: Option<&VideoSdk>, secrets: &SecretStore) -> Result<Arc<PublicKey>, ApiError> {
        if let KeyStore::Pinned(key) = self {
            return Ok(key.clone());
        }
        {
            let mut fetched = self.fetched().ok_or(ApiError::Internal)?;
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
                if let Some(mut fetched) = self.fetched() {
                    fetched.key = Some(key.clone());
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
