//! `get-token` Lambda: INIT, then mint participant tokens.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run_limited(
        env!("CARGO_PKG_NAME"),
        shared::Uses::TokensOnly,
        &[shared::config::Action::Token],
        get_token::handler,
    )
    .await
}
