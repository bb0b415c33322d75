//! `end-recording` Lambda: INIT, then serve.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::app::run(shared::Uses::VideoSdkApi, end_recording::handler).await
}
