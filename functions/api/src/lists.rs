//! The stack's lists bucket as the API uses it when a campaign with a `delivery` is created:
//! an inline list is stored there as a JSON Lines object (so runs read every list the same
//! way), and a `recipientsUri` must name an object of that bucket that exists and is not
//! empty (the delivery functions may read that bucket only). Either way the campaign is
//! stored only after its list is in place, never half-started.

use lifecycle_adapters::aws::AwsClients;
use lifecycle_adapters::config::ConfigError;
use lifecycle_adapters::delivery::{ListError, RecipientLists};
use lifecycle_domain::CampaignId;
use lifecycle_domain::delivery::inline_list::{inline_list, inline_list_body};
use lifecycle_domain::delivery::{CampaignDelivery, DeliverySpec, RecipientList, Recipients};
use lifecycle_resilience::Resilience;

use crate::ApiError;

/// The lists bucket (`LISTS_BUCKET`) and the S3 access to it.
#[derive(Debug, Clone)]
pub struct ListBucket {
    bucket: String,
    lists: RecipientLists,
}

impl ListBucket {
    /// The bucket `bucket`, reached through `lists`.
    pub fn new(bucket: impl Into<String>, lists: RecipientLists) -> Self {
        Self {
            bucket: bucket.into(),
            lists,
        }
    }

    /// The bucket named by `LISTS_BUCKET` (required), over `clients`' S3 client.
    pub fn from_env(clients: &AwsClients, resilience: Resilience) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok(), clients, resilience)
    }

    /// [`ListBucket::from_env`] with variables read through `lookup` (the local runtime's
    /// template environment).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        clients: &AwsClients,
        resilience: Resilience,
    ) -> Result<Self, ConfigError> {
        let bucket = lookup("LISTS_BUCKET")
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .ok_or(ConfigError {
                variable: "LISTS_BUCKET",
                problem: "is required (the stack's recipient lists bucket)".into(),
            })?;
        Ok(Self::new(
            bucket,
            RecipientLists::new(clients.delivery.s3.clone(), resilience),
        ))
    }

    /// The delivery to store with campaign `id`: its inline list stored, or its stored list
    /// checked. A list that is not usable is a 400 on `delivery.recipientsUri`.
    pub(crate) async fn resolve(
        &self,
        id: &CampaignId,
        spec: DeliverySpec,
    ) -> Result<CampaignDelivery, ApiError> {
        let list = match spec.recipients {
            Recipients::Inline(recipients) => {
                let list = inline_list(&self.bucket, id);
                self.lists
                    .put(&list, inline_list_body(&recipients))
                    .await
                    .map_err(|error| list_unavailable(&error))?;
                list
            }
            Recipients::Stored(list) => {
                self.check_stored(&list).await?;
                list
            }
        };
        Ok(CampaignDelivery {
            message: spec.message,
            list,
            on_ambiguous: spec.on_ambiguous,
        })
    }

    /// A stored list must be an object of the lists bucket, present and not empty.
    async fn check_stored(&self, list: &RecipientList) -> Result<(), ApiError> {
        let field = |problem: String| ApiError::field("delivery.recipientsUri", problem);
        if list.bucket != self.bucket {
            return Err(field(format!(
                "must be an object of this deployment's lists bucket: s3://{}/<key>",
                self.bucket
            )));
        }
        match self.lists.size(list).await {
            Ok(0) => Err(field("is an empty object: no recipients".into())),
            Ok(_) => Ok(()),
            Err(ListError::NotFound { .. }) => Err(field("no such object".into())),
            Err(ListError::Denied { .. }) => Err(field("cannot be read (access denied)".into())),
            Err(error) => Err(list_unavailable(&error)),
        }
    }
}

/// A failing S3: 503, logged; the body names no bucket.
fn list_unavailable(error: &ListError) -> ApiError {
    tracing::error!(error = %error, "recipient list not stored or checked");
    ApiError::dependency_unavailable()
}
