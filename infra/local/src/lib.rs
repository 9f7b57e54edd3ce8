//! The local stack: provisions the resources of `template.yaml` on a local AWS endpoint
//! (moto_server or LocalStack, via `AWS_ENDPOINT_URL`) and runs every function the way AWS
//! would — schedules on their template periods, SQS triggers with the template's batch size,
//! visibility timeout, partial batch failures and DLQ redrive, and the HTTP API on a local port
//! behind API Gateway's checks (SigV4 signatures, the template's access policies: [`api_auth`]).
//!
//! Everything is derived from `template.yaml`, so local resources cannot drift from what is
//! deployed — and every AWS call a function makes is checked against its policy there
//! ([`iam`]). The integration tests and `make bench` use the same code.

pub mod alert_check;
pub mod alert_receivers;
pub mod api_auth;
pub mod aws_env;
pub mod chaos_alerts;
pub mod credentials;
pub mod delivery_record;
pub mod event_source_mappings;
pub mod function_calls;
pub mod function_usage;
pub mod functions;
pub mod harness;
pub mod iam;
pub mod invocation;
pub mod lambda_api;
pub mod local_alerts;
pub mod local_delivery;
pub mod package_check;
pub mod provision;
pub mod runtime;
pub mod runtime_api_stub;
pub mod sigv4;
pub mod subscriber;
pub mod svg_plot;
pub mod template;

pub use provision::{Stack, provision, provision_template};
pub use template::Template;

/// Path of `template.yaml` at the repository root.
pub fn template_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}
