//! `get-token` Lambda: INIT, then mint participant tokens.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run(shared::Uses::TokensOnly, get_token::handler).await
}
