//! `agent-token` Lambda: INIT, then serve.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run(shared::Uses::TokensOnly, agent_token::handler).await
}
