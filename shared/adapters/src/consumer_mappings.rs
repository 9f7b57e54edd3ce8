//! Which event source mapping each SQS consumer is: `CONSUMER_<NAME>_MAPPING` holds the UUID
//! of its function's SQS event source mapping (template.yaml sets it, on the API and the
//! sweeper, to `!Ref <FunctionLogicalId><EventName>`: SAM's mapping, whose `Ref` is its
//! UUID). A consumer whose variable is unset cannot be paused by this function.

use std::collections::BTreeMap;

use lifecycle_domain::consumers::Consumer;

/// The UUID of each configured consumer's event source mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerMappings {
    uuids: BTreeMap<Consumer, String>,
}

impl ConsumerMappings {
    /// The variable naming `consumer`'s mapping, e.g. `CONSUMER_EXECUTOR_MAPPING`.
    pub fn variable(consumer: Consumer) -> String {
        format!("CONSUMER_{}_MAPPING", consumer.name().to_ascii_uppercase())
    }

    /// Reads every consumer's variable through `lookup` (blank counts as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let uuids = Consumer::ALL
            .into_iter()
            .filter_map(|consumer| {
                let uuid = lookup(&Self::variable(consumer))?.trim().to_owned();
                (!uuid.is_empty()).then_some((consumer, uuid))
            })
            .collect();
        Self { uuids }
    }

    /// The UUID of `consumer`'s mapping, if configured.
    pub fn uuid(&self, consumer: Consumer) -> Option<&str> {
        self.uuids.get(&consumer).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_consumer_has_its_variable_and_blank_ones_are_unset() {
        let mappings = ConsumerMappings::from_lookup(|name| match name {
            "CONSUMER_EXECUTOR_MAPPING" => Some(" 1b2c ".into()),
            "CONSUMER_SENDER_MAPPING" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(mappings.uuid(Consumer::Executor), Some("1b2c"));
        assert_eq!(mappings.uuid(Consumer::Sender), None);
        assert_eq!(mappings.uuid(Consumer::Planner), None);
        assert_eq!(
            ConsumerMappings::variable(Consumer::Fanout),
            "CONSUMER_FANOUT_MAPPING"
        );
    }
}
