//! `list-recordings` Lambda: INIT, then serve.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run(shared::Uses::VideoSdkApi, list_recordings::handler).await
}
