//! `videosdk-webhook`: receives VideoSDK's signed webhooks and publishes each verified delivery
//! to EventBridge (contract: "videosdk-webhook"). The signature is the authentication: 401 means
//! nothing was published; 503 means VideoSDK should deliver again (the `id`, the body's SHA-256,
//! lets consumers drop repeats).

use std::time::SystemTime;

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::State;
use shared::http::{ApiError, ok, respond};
use shared::webhook;

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    shared::metrics::webhook_received();
    respond(receive(state, &req).await)
}

async fn receive(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    webhook::precheck(req)?;
    let hooks = state.webhooks.as_ref().ok_or(ApiError::Misconfigured)?;
    let key = hooks.keys.key(state.videosdk.as_ref(), &state.secrets).await?;
    let delivery = webhook::verify(req, &key, SystemTime::now())?;
    if hooks.bus_broken {
        return Err(ApiError::EventBusUnavailable);
    }
    webhook::publish(&delivery, hooks.bus.as_ref()).await?;
    Ok(ok(&json!({"received": true, "id": delivery.id})))
}
