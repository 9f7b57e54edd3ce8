//! A small IAM policy evaluator for the functions in `template.yaml`.
//!
//! The local emulator enforces no IAM, so this crate is the only check that every AWS call a
//! Lambda function makes is allowed by that function's policy: build the [`Policy`] from the
//! function's SAM properties with [`FunctionPolicy::from_sam_properties`], turn each request an
//! SDK interceptor sees into a [`Call`] with [`Call::for_request`] (ARNs from [`arn`]), and
//! assert [`Policy::denied`] is empty.
//!
//! Only identity-policy `Allow`/`Deny` statements with `Action`/`NotAction` and `Resource` are
//! modelled; anything else (conditions, managed policies, SAM policy templates, …) is rejected
//! with [`PolicyError::Unsupported`] rather than ignored, so a passing check is a proof.

pub mod arn;
mod call;
mod error;
mod policy;
mod sam;
mod wildcard;

pub use call::Call;
pub use error::PolicyError;
pub use policy::{Effect, Policy, Statement};
pub use sam::FunctionPolicy;
