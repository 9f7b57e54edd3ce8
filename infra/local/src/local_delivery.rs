//! What `make local` adds for bulk deliveries beyond the template's resources: a verified SES
//! sender identity (the emulator, like SES, refuses email from an unverified sender) and a
//! webhook signing secret in SSM under the stack's webhooks path (where the delivery sender's
//! policy lets it read). Both are idempotent: running again keeps them.

use lifecycle_adapters::aws::AwsClients;

/// The sender identity verified locally unless `LOCAL_EMAIL_SENDER` names another.
pub const DEFAULT_LOCAL_SENDER: &str = "campaigns@example.com";

/// The local webhook signing secret (for local runs only: a real deployment stores its own).
pub const LOCAL_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtb25seS13ZWJob29rLXNlY3JldC0zMmI=";

/// What was provisioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFixtures {
    /// The verified sender address.
    pub sender: String,
    /// The webhook secret's reference, as a campaign names it (`ssm:/<stack>/webhooks/local`).
    pub webhook_secret_ref: String,
}

/// Verifies `sender` in SES and stores [`LOCAL_WEBHOOK_SECRET`] as the SSM `SecureString`
/// `/<stack_name>/webhooks/local`.
pub async fn provision_delivery_fixtures(
    clients: &AwsClients,
    stack_name: &str,
    sender: &str,
) -> Result<DeliveryFixtures, String> {
    let created = clients
        .delivery
        .sesv2
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await;
    if let Err(error) = created
        && !error
            .as_service_error()
            .is_some_and(|e| e.is_already_exists_exception())
    {
        return Err(format!(
            "SES identity {sender}: {}",
            aws_sdk_sesv2::error::DisplayErrorContext(error)
        ));
    }
    let parameter = format!("/{stack_name}/webhooks/local");
    clients
        .delivery
        .ssm
        .put_parameter()
        .name(&parameter)
        .value(LOCAL_WEBHOOK_SECRET)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(|error| {
            format!(
                "SSM parameter {parameter}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(error)
            )
        })?;
    Ok(DeliveryFixtures {
        sender: sender.to_owned(),
        webhook_secret_ref: format!("ssm:{parameter}"),
    })
}
