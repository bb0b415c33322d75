//! `agent-token` Lambda: INIT, then serve.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run_limited(
        env!("CARGO_PKG_NAME"),
        shared::Uses::TokensOnly,
        &[shared::config::Action::Token],
        agent_token::handler,
    )
    .await
}
