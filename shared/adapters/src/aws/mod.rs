//! AWS adapters: SDK clients (with the request counter and, in tests, the fault injector and
//! the call recorder attached), the timers queue, the lifecycle event publisher and DLQ
//! redrive. The DynamoDB store lives in [`crate::store`].

#[cfg(feature = "testing")]
pub mod call_recorder;
mod clients;
mod error;
mod event_publisher;
#[cfg(feature = "invoke")]
mod event_source_mappings;
#[cfg(feature = "testing")]
pub mod fault_injection;
#[cfg(feature = "invoke")]
mod function_invoker;
#[cfg(feature = "queue-ages")]
mod queue_ages;
pub mod redrive;
mod request_counter;
mod send_with;
mod timer_queue;

#[cfg(feature = "testing")]
pub use call_recorder::{CallRecorder, CallResource, RecordedCall};
pub use clients::AwsClients;
pub use error::{Describe, RequestError};
pub use event_publisher::{EventPublisher, PublishReport};
#[cfg(feature = "invoke")]
pub use event_source_mappings::{EventSourceMappings, MappingError, MappingState};
#[cfg(feature = "testing")]
pub use fault_injection::FaultInjector;
#[cfg(feature = "invoke")]
pub use function_invoker::{FunctionInvoker, InvokeError};
#[cfg(feature = "queue-ages")]
pub use queue_ages::{LOOKBACK_MS as QUEUE_AGE_LOOKBACK_MS, OldestAge, QueueAgeError, QueueAges};
pub use redrive::{DeadLetter, Redrive, RedriveReport, RedriveRequest};
pub use request_counter::RequestCounter;
pub use send_with::SendWith;
pub use timer_queue::{QueueDepth, TimerQueue};
