//! Secrets — webhook signing keys, the alert fan-out's Slack webhook URL — read from SSM
//! Parameter Store (a `SecureString`, decrypted) or Secrets Manager (the `SecretString`) and
//! kept for a few minutes per instance: a batch of webhooks signs with one read, and a
//! rotated secret is picked up within the cache time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifecycle_domain::delivery::secret_ref::SecretRef;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use lifecycle_resilience::{AwsError, Resilience};

use crate::aws::{Describe, SendWith};

/// How long a secret read is used before it is read again.
pub const SECRET_CACHE: Duration = Duration::from_secs(300);

/// A signing secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No such parameter or secret.
    #[error("the signing secret {0} does not exist")]
    NotFound(SecretRef),
    /// The function may not read it.
    #[error("the signing secret {0} may not be read (access denied)")]
    Denied(SecretRef),
    /// It is not a `whsec_…` secret.
    #[error("the signing secret {0} is not whsec_ followed by base64 of 24 to 64 bytes")]
    Invalid(SecretRef),
    /// It is empty (or not a string).
    #[error("the secret {0} has no value")]
    Empty(SecretRef),
    /// Another failure (after the resilience layer's retries).
    #[error("{0}")]
    Failed(AwsError),
}

impl SecretError {
    /// Whether a retry later may succeed (the others need an operator).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    fn of(reference: &SecretRef, error: AwsError) -> Self {
        match (error.code.as_str(), error.status) {
            ("ParameterNotFound" | "ResourceNotFoundException", _) => {
                Self::NotFound(reference.clone())
            }
            ("AccessDeniedException" | "AccessDenied", _) | (_, Some(403)) => {
                Self::Denied(reference.clone())
            }
            _ => Self::Failed(error),
        }
    }
}

/// Secrets with a per-instance cache; clones share it.
#[derive(Clone)]
pub struct SigningSecrets {
    ssm: aws_sdk_ssm::Client,
    secretsmanager: aws_sdk_secretsmanager::Client,
    resilience: Resilience,
    cache: Arc<Mutex<HashMap<SecretRef, (Instant, String)>>>,
}

impl std::fmt::Debug for SigningSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSecrets").finish_non_exhaustive()
    }
}

impl SigningSecrets {
    /// Secrets read with these clients, through `resilience`.
    pub fn new(
        ssm: aws_sdk_ssm::Client,
        secretsmanager: aws_sdk_secretsmanager::Client,
        resilience: Resilience,
    ) -> Self {
        Self {
            ssm,
            secretsmanager,
            resilience,
            cache: Arc::default(),
        }
    }

    /// The key `reference` names (see [`SigningSecrets::text`]).
    pub async fn key(&self, reference: &SecretRef) -> Result<SigningKey, SecretError> {
        let secret = self.text(reference).await?;
        SigningKey::parse(&secret).map_err(|_| SecretError::Invalid(reference.clone()))
    }

    /// The secret `reference` names: from the cache if read less than [`SECRET_CACHE`] ago,
    /// otherwise one `GetParameter` or `GetSecretValue`.
    pub async fn text(&self, reference: &SecretRef) -> Result<String, SecretError> {
        if let Some((read_at, secret)) = self.cache.lock().expect("secret cache").get(reference)
            && read_at.elapsed() < SECRET_CACHE
        {
            return Ok(secret.clone());
        }
        let secret = self.read(reference).await?;
        self.cache
            .lock()
            .expect("secret cache")
            .insert(reference.clone(), (Instant::now(), secret.clone()));
        Ok(secret)
    }

    async fn read(&self, reference: &SecretRef) -> Result<String, SecretError> {
        let value = match reference {
            SecretRef::Parameter(name) => self
                .ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send_with(&self.resilience)
                .await
                .map_err(|error| SecretError::of(reference, error.describe("GetParameter")))?
                .parameter
                .and_then(|parameter| parameter.value),
            SecretRef::Secret(id) => {
                self.secretsmanager
                    .get_secret_value()
                    .secret_id(id)
                    .send_with(&self.resilience)
                    .await
                    .map_err(|error| SecretError::of(reference, error.describe("GetSecretValue")))?
                    .secret_string
            }
        };
        value
            .filter(|value| !value.is_empty())
            .ok_or_else(|| SecretError::Empty(reference.clone()))
    }
}
