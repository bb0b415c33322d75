//! Property-based fuzzing of `videosdk-webhook` (see `testkit::fuzz::fuzz_webhook`): arbitrary
//! bodies and headers never panic, never answer 5xx, and nothing is accepted (published) without
//! a valid signature. `make fuzz` runs it for 10 minutes.
#![recursion_limit = "256"]

#[test]
fn arbitrary_deliveries_never_panic_never_5xx_never_publish_unsigned() {
    testkit::fuzz::fuzz_webhook(videosdk_webhook::handler);
}
