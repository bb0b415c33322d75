//! Every way a request can fail, as one enum. `http` maps each variant to its status, `code` and
//! envelope; the modules below it (the VideoSDK client among them) only name the failure.

use crate::credentials::SecretUnavailable;

/// Every way a request can fail. `http` gives each its status and `code`: the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error("Unknown field \"{0}\". Remove it; see the API documentation for the accepted fields.")]
    UnknownField(String),
    #[error("The request body is larger than 16 KiB.")]
    PayloadTooLarge,
    #[error("The webhook body is larger than 64 KiB.")]
    WebhookTooLarge,
    #[error("Method {method} is not allowed here; use {}.", allowed.join(" or "))]
    MethodNotAllowed { method: String, allowed: Vec<String> },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// The agent is not one the operator lists in `AGENTS`.
    #[error("{0}")]
    AgentNotAllowed(String),
    /// The version named is not the one the operator pinned for the agent.
    #[error("{0}")]
    AgentVersionNotAllowed(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("VideoSDK rejected the request: {0}")]
    UpstreamRejected(String),
    #[error("VideoSDK is rate limiting this server; retry later.")]
    RateLimited { retry_after: Option<String> },
    #[error("VideoSDK did not accept this server's credentials; the operator should check the API key and secret.")]
    UpstreamAuth,
    #[error("{0}")]
    UpstreamError(String),
    #[error("VideoSDK did not answer in time; retry later.")]
    UpstreamTimeout,
    #[error(
        "The server cannot reach its VideoSDK credentials right now; retry shortly. The operator should check the function log."
    )]
    SecretUnavailable,
    #[error("The webhook signature is missing or does not match the body; nothing was published.")]
    InvalidSignature,
    #[error("The key that webhooks are verified with cannot be had right now; retry later.")]
    WebhookKeyUnavailable,
    #[error("The event bus did not accept the event; retry later (the id lets consumers drop repeats).")]
    EventBusUnavailable,
    #[error("Too many requests from this caller; retry in {retry_after} s.")]
    CallerRateLimited { retry_after: u64 },
    #[error("The server is misconfigured; the operator should check the function log.")]
    Misconfigured,
    #[error("The server is misconfigured ({}); the operator should check the function log.", settings.join(" with "))]
    InvalidSetting { settings: Vec<&'static str> },
    #[error("An unexpected error occurred; retry later.")]
    Internal,
    /// The account-wide budget of an action is spent for this window (`BUDGETS`).
    #[error("This server's {action} budget is spent for now; retry in {retry_after} s.")]
    BudgetExhausted { action: &'static str, retry_after: u64 },
    /// Another delivery of the same webhook is being published right now: VideoSDK should retry
    /// (if that publish fails, the retry publishes it).
    #[error("This delivery is being published by another request; retry in {retry_after} s.")]
    WebhookPending { retry_after: u64 },
    /// Another error, answered with its status and code and these `details` (what did happen).
    #[error("{0}")]
    WithDetails(Box<ApiError>, serde_json::Value),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::InvalidField { field: field.to_owned(), message: message.into() }
    }
}

impl From<SecretUnavailable> for ApiError {
    fn from(_: SecretUnavailable) -> Self {
        ApiError::SecretUnavailable
    }
}
