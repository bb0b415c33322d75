//! The EventBridge bus verified webhooks are published to (`EVENT_BUS_NAME`): one `PutEvents`
//! entry per delivery, bounded by the request's deadline. What is published is `webhook`'s.

use std::time::Duration;

use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// Longest one publish may take, whatever the SDK's own retries.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(4);
/// The `Source` of every event.
pub const SOURCE: &str = "videosdk";

pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    name: String,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Why an event was not published; the text is for the log (it never holds the event).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PublishError(pub String);

impl EventBus {
    /// The bus `name`, reached through the process's AWS SDK configuration (call during INIT).
    pub async fn new(name: String) -> Result<EventBus, crate::net::NetError> {
        let sdk = crate::secret::aws_sdk_config().await?;
        Ok(EventBus::with_client(aws_sdk_eventbridge::Client::new(&sdk), name))
    }

    pub fn with_client(client: aws_sdk_eventbridge::Client, name: String) -> EventBus {
        EventBus { client, name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes one event; `Ok` only when EventBridge accepted it.
    pub async fn publish(&self, detail_type: &str, detail: &str) -> Result<(), PublishError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.name)
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .build();
        let until = crate::deadline::within(PUBLISH_TIMEOUT);
        let sent = tokio::time::timeout_at(until.into(), self.client.put_events().entries(entry).send()).await;
        match sent {
            Err(_) => Err(PublishError("EventBridge did not answer in time".into())),
            Ok(Err(e)) => Err(PublishError(format!("EventBridge refused: {}", DisplayErrorContext(&e)))),
            Ok(Ok(out)) if out.failed_entry_count() > 0 => {
                let entry = out.entries().first();
                let code = entry.and_then(|e| e.error_code()).unwrap_or("unknown");
                let message = entry.and_then(|e| e.error_message()).unwrap_or("");
                Err(PublishError(format!("EventBridge refused the entry: {code} {message}")))
            }
            Ok(Ok(_)) => Ok(()),
        }
    }
}
