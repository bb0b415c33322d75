//! Everything the VideoSDK Lambda functions share: token claims and the policy that decides
//! them, configuration, the secret, the VideoSDK REST client and the HTTP envelope.
//!
//! Data flows one way: event → [`http::Fields`] and [`ids`] (parse) → [`caller`] and [`policy`]
//! (decide) → [`claims`] or [`videosdk`] (sign or call) → [`http`] (respond).

pub mod app;
pub mod caller;
pub mod claims;
pub mod client_api;
pub mod config;
pub mod deadline;
pub mod http;
pub mod ids;
pub mod livestream;
pub mod net;
pub mod policy;
pub mod secret;
pub mod videosdk;

pub use app::{State, Uses};
pub use http::ApiError;
pub use tracing;

#[cfg(feature = "testing")]
pub mod fuzz;
#[cfg(feature = "testing")]
pub mod testing;
