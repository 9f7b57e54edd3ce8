//! Lambda's event source mappings, read and switched on or off (`GetEventSourceMapping`,
//! `UpdateEventSourceMapping` with `Enabled`): pausing an SQS consumer disables its mapping,
//! so Lambda stops receiving from the queue and the messages wait there. The client's
//! endpoint is chosen as [`FunctionInvoker`](super::FunctionInvoker)'s is: the standard one
//! on AWS, the local runtime's Lambda API (`AWS_ENDPOINT_URL_LAMBDA`) locally.

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError;
use aws_sdk_lambda::operation::update_event_source_mapping::UpdateEventSourceMappingError;

/// A mapping as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingState {
    /// `Enabled`, `Disabled`, or a transition (`Enabling`, `Disabling`, `Updating`, …).
    pub state: String,
    /// Why it is in that state (`User action`, …), when Lambda says.
    pub reason: Option<String>,
}

impl MappingState {
    /// The state of a Get or Update answer's `state` and `stateTransitionReason`.
    fn of(state: Option<&str>, reason: Option<&str>) -> Self {
        Self {
            state: state.unwrap_or("Unknown").to_owned(),
            reason: reason.map(str::to_owned),
        }
    }

    /// Whether the mapping is disabled or on its way there (no new batches once done).
    pub fn stopping(&self) -> bool {
        matches!(self.state.as_str(), "Disabled" | "Disabling")
    }

    /// Whether the mapping is enabled or on its way there.
    pub fn running(&self) -> bool {
        matches!(self.state.as_str(), "Enabled" | "Enabling")
    }
}

/// Why a mapping could not be read or switched.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// No mapping has this UUID (`ResourceNotFoundException`).
    #[error("no such event source mapping")]
    NotFound,
    /// Lambda could not be reached or refused the request (throttled, denied, in use).
    #[error("event source mapping request failed: {0}")]
    Unavailable(String),
}

/// The event source mappings of the stack, over one Lambda client.
#[derive(Debug, Clone)]
pub struct EventSourceMappings {
    client: aws_sdk_lambda::Client,
}

impl EventSourceMappings {
    /// Mappings over `client`, sent to `endpoint` instead of the client's own when given.
    pub fn new(client: &aws_sdk_lambda::Client, endpoint: Option<&str>) -> Self {
        let client = match endpoint {
            Some(url) => aws_sdk_lambda::Client::from_conf(
                client.config().to_builder().endpoint_url(url).build(),
            ),
            None => client.clone(),
        };
        Self { client }
    }

    /// The state of mapping `uuid`.
    pub async fn state(&self, uuid: &str) -> Result<MappingState, MappingError> {
        let output = self
            .client
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(|error| match &error {
                SdkError::ServiceError(service)
                    if matches!(
                        service.err(),
                        GetEventSourceMappingError::ResourceNotFoundException(_)
                    ) =>
                {
                    MappingError::NotFound
                }
                _ => unavailable(&error),
            })?;
        Ok(MappingState::of(
            output.state(),
            output.state_transition_reason(),
        ))
    }

    /// Enables or disables mapping `uuid`; answers its state after the request.
    pub async fn set_enabled(
        &self,
        uuid: &str,
        enabled: bool,
    ) -> Result<MappingState, MappingError> {
        let output = self
            .client
            .update_event_source_mapping()
            .uuid(uuid)
            .enabled(enabled)
            .send()
            .await
            .map_err(|error| match &error {
                SdkError::ServiceError(service)
                    if matches!(
                        service.err(),
                        UpdateEventSourceMappingError::ResourceNotFoundException(_)
                    ) =>
                {
                    MappingError::NotFound
                }
                _ => unavailable(&error),
            })?;
        Ok(MappingState::of(
            output.state(),
            output.state_transition_reason(),
        ))
    }
}

fn unavailable<E: std::error::Error + 'static>(error: &E) -> MappingError {
    MappingError::Unavailable(
        aws_smithy_types::error::display::DisplayErrorContext(error).to_string(),
    )
}
