//! Hello world on `lambda_http`: what a Rust function costs before it does anything. `make bench`
//! measures the functions against this binary's cold start, built with the same profile and on
//! the same single-threaded runtime (a Lambda sandbox runs one invocation at a time).

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, Error>(
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"hello":"world"}"#))?,
        )
    }))
    .await
}
