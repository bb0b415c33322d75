//! `videosdk-webhook`: receives VideoSDK's signed webhooks and publishes each verified delivery
//! to EventBridge (contract: "videosdk-webhook"), at most once. A delivery must carry this
//! deployment's key in its URL (404 otherwise, before anything else); the signature is the
//! authentication: 401 means nothing was published; 503 means VideoSDK should deliver again (the
//! `id`, the body's SHA-256, lets consumers drop repeats the record did not catch).

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
    webhook::check_key(req, state.config.webhooks.key.as_ref())?;
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
        None => Claim::Unchecked,
    };
    if claim == Claim::Duplicate {
        shared::tracing::info!(id = %delivery.id, webhook_type = ?delivery.webhook_type, "a repeated webhook: already published");
        return Ok(ok(&json!({"received": true, "id": delivery.id, "duplicate": true})));
    }
    let result = webhook::publish(&delivery, hooks.bus.as_ref()).await;
    if let (Claim::New, Some(published)) = (claim, &hooks.published) {
        match &result {
            Ok(()) => published.published(&delivery.id, now).await,
            // Not remembered: VideoSDK's retry publishes it.
            Err(_) => published.release(&delivery.id).await,
        }
    }
    result?;
    Ok(ok(&json!({"received": true, "id": delivery.id})))
}
