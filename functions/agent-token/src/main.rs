//! `agent-token` Lambda: INIT, then serve.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run_limited(shared::Uses::TokensOnly, &[shared::config::Action::Token], agent_token::handler).await
}
