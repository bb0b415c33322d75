//! `videosdk-webhook`: receives VideoSDK's signed webhooks and publishes each verified delivery
//! to EventBridge (contract: "videosdk-webhook"), at most once. A delivery must carry this
//! deployment's key in its URL (404 otherwise, before anything else); the signature is the
//! authentication: 401 means nothing was published; 503 means VideoSDK should deliver again (the
//! `id`, the body's SHA-256, lets consumers drop repeats the record did not catch). Published at
//! least once, and at most once but for one edge: a publish that timed out after EventBridge
//! took the event is published again on VideoSDK's retry.

use std::time::SystemTime;

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::State;
use shared::http::{ApiError, ok, respond};
use shared::webhook::{self, Claim};

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    shared::metrics::webhook_received();
    respond(receive(state, &req).await)
}

async fn receive(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    if let Err(refused) = webhook::check_key(req, state.config.webhooks.key.as_ref()) {
        if webhook::unaddressed(req) {
            webhook::note_unaddressed(req, state.webhooks.as_ref().map(|h| &h.keys));
        }
        return Err(refused);
    }
    webhook::precheck(req)?;
    let hooks = state.webhooks.as_ref().ok_or(ApiError::Misconfigured)?;
    let api = state.videosdk.as_ref();
    let key = hooks.keys.key(api, &state.secrets).await?;
    let now = SystemTime::now();
    let delivery = match webhook::verify(req, &key, now) {
        // VideoSDK may have rotated its key: an old fetched key is fetched again (rarely).
        Err(ApiError::InvalidSignature) => match hooks.keys.newer_than(&key, api, &state.secrets).await {
            Some(newer) => webhook::verify(req, &newer, now)?,
            None => return Err(ApiError::InvalidSignature),
        },
        other => other?,
    };
    if hooks.bus_broken {
        return Err(ApiError::EventBusUnavailable);
    }
    let claim = match &hooks.published {
        Some(published) => published.claim(&delivery.id, now).await,
        None => Claim::Unchecked(None),
    };
    match claim {
        Claim::Duplicate => {
            shared::tracing::info!(id = %delivery.id, webhook_type = ?delivery.webhook_type, "a repeated webhook: already published");
            return Ok(ok(&json!({"received": true, "id": delivery.id, "duplicate": true})));
        }
        // Only a published id is a duplicate: if the publish in progress fails, the retry publishes.
        Claim::Pending { retry_after } => {
            shared::tracing::info!(id = %delivery.id, retry_after, "a repeated webhook still being published: retry asked");
            shared::metrics::webhook_pending();
            return Err(ApiError::WebhookPending { retry_after });
        }
        Claim::New(_) | Claim::Unchecked(_) => {}
    }
    let result = webhook::publish(&delivery, hooks.bus.as_ref()).await;
    if let Some(published) = &hooks.published {
        match (&result, claim) {
            (Ok(()), Claim::New(mine)) => published.published(&delivery.id, mine, now).await,
            // Not remembered: VideoSDK's retry publishes it. A claim whose write timed out may
            // have been written after all: released too (only ever our own claim).
            (Err(_), Claim::New(mine) | Claim::Unchecked(Some(mine))) => published.release(&delivery.id, mine).await,
            _ => {}
        }
    }
    result?;
    Ok(ok(&json!({"received": true, "id": delivery.id})))
}
