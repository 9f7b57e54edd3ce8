//! Fault injection for tests and chaos runs: an SDK interceptor that turns real AWS
//! responses into failures, so the real classification, retry and breaker code runs against
//! them. Configured per operation and rate, e.g.
//! `FAULT_INJECTION="*=0.1:mixed"` or `"DynamoDB.TransactWriteItems=0.2:timeout,SQS.*=0.05:500"`.
//!
//! Every faulted request still makes its HTTP round trip; what reaches AWS and what comes
//! back is changed:
//! - `throttle`: the request is spoiled on the way out (unknown target, so nothing is
//!   applied) and the answer becomes HTTP 400 `ThrottlingException`;
//! - `500`: the same, answered with HTTP 500 `InternalServerError`;
//! - `timeout`: the request goes through unchanged and *is applied*, but its answer is lost —
//!   the call fails like a timed-out read (code `Timeout`): the ambiguous case exactly-once
//!   effects must survive;
//! - `mixed`: one of the three at random.
//!
//! The injected answer is in the request's protocol: an XML `ErrorResponse` for the query
//! protocol (SNS: form-encoded requests), `{"__type": …}` JSON for the others (DynamoDB, SQS,
//! EventBridge, SES v2, SSM, Secrets Manager), so the SDK reads its error code as it would a
//! real one's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// The environment variable holding the rules.
pub const FAULT_INJECTION_VARIABLE: &str = "FAULT_INJECTION";

/// One kind of injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttle,
    ServerError,
    Timeout,
    /// One of the above, chosen per request.
    Mixed,
}

impl Fault {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "throttle" => Some(Self::Throttle),
            "500" => Some(Self::ServerError),
            "timeout" => Some(Self::Timeout),
            "mixed" => Some(Self::Mixed),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::ServerError => "500",
            Self::Timeout => "timeout",
            Self::Mixed => "mixed",
        }
    }
}

/// One rule: which operations (`Service.Operation`, `Service.*` or `*`), how often, what.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub target: String,
    pub rate: f64,
    pub fault: Fault,
}

impl FaultRule {
    fn matches(&self, operation: &str) -> bool {
        match self.target.as_str() {
            "*" => true,
            target => match target.strip_suffix(".*") {
                Some(service) => operation.split('.').next() == Some(service),
                None => target == operation,
            },
        }
    }
}

/// The rules could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{FAULT_INJECTION_VARIABLE}: rule {rule:?}: {problem} (form: <Service.Operation|Service.*|*>=<rate 0-1>:<throttle|500|timeout|mixed>)"
)]
pub struct FaultRuleError {
    pub rule: String,
    pub problem: &'static str,
}

/// Parses comma-separated rules.
pub fn parse_rules(text: &str) -> Result<Vec<FaultRule>, FaultRuleError> {
    text.split(',')
        .map(str::trim)
        .filter(|rule| !rule.is_empty())
        .map(|rule| {
            let error = |problem| FaultRuleError {
                rule: rule.to_owned(),
                problem,
            };
            let (target, spec) = rule.split_once('=').ok_or_else(|| error("no '='"))?;
            let (rate, fault) = spec.split_once(':').ok_or_else(|| error("no ':'"))?;
            let rate: f64 = rate.parse().map_err(|_| error("rate is not a number"))?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(error("rate is not between 0 and 1"));
            }
            let fault = Fault::parse(fault).ok_or_else(|| error("unknown fault"))?;
            if target.is_empty() {
                return Err(error("empty target"));
            }
            Ok(FaultRule {
                target: target.to_owned(),
                rate,
                fault,
            })
        })
        .collect()
}

/// The fault chosen for the current attempt, and whether the request speaks the query
/// protocol (kept in the request's config bag between the transmit and deserialization
/// hooks).
#[derive(Debug, Clone, Copy)]
struct AttemptFault {
    fault: Option<Fault>,
    query_protocol: bool,
}

impl Storable for AttemptFault {
    type Storer = StoreReplace<Self>;
}

/// The lost answer of a `timeout` fault.
#[derive(Debug, thiserror::Error)]
#[error("injected fault: the response was lost (read timed out)")]
pub struct InjectedTimeout;

/// The interceptor; clones share the rules and the counts.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector {
    rules: Arc<Vec<FaultRule>>,
    injected: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl FaultInjector {
    pub fn new(rules: Vec<FaultRule>) -> Self {
        Self {
            rules: Arc::new(rules),
            injected: Arc::default(),
        }
    }

    /// The injector configured by `FAULT_INJECTION`, `None` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>, FaultRuleError> {
        let text = std::env::var(FAULT_INJECTION_VARIABLE).unwrap_or_default();
        let rules = parse_rules(&text)?;
        Ok((!rules.is_empty()).then(|| Self::new(rules)))
    }

    /// Faults injected so far, keyed `Service.Operation:fault`.
    pub fn injected(&self) -> BTreeMap<String, u64> {
        self.injected.lock().expect("injector lock").clone()
    }

    /// Total faults injected so far.
    pub fn total(&self) -> u64 {
        self.injected.lock().expect("injector lock").values().sum()
    }

    fn pick(&self, operation: &str) -> Option<Fault> {
        let rule = self.rules.iter().find(|rule| rule.matches(operation))?;
        let roll = lifecycle_domain::jitter::millis(999_999) as f64 / 1_000_000.0;
        if roll >= rule.rate {
            return None;
        }
        Some(match rule.fault {
            Fault::Mixed => [Fault::Throttle, Fault::ServerError, Fault::Timeout]
                [lifecycle_domain::jitter::millis(2) as usize],
            fault => fault,
        })
    }
}

impl Intercept for FaultInjector {
    fn name(&self) -> &'static str {
        "FaultInjector"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = match cfg.load::<Metadata>() {
            Some(metadata) => format!("{}.{}", metadata.service(), metadata.name()),
            None => return Ok(()),
        };
        let fault = self.pick(&operation);
        let query_protocol = context
            .request()
            .headers()
            .get("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        cfg.interceptor_state().store_put(AttemptFault {
            fault,
            query_protocol,
        });
        let Some(fault) = fault else {
            return Ok(());
        };
        *self
            .injected
            .lock()
            .expect("injector lock")
            .entry(format!("{operation}:{}", fault.name()))
            .or_insert(0) += 1;
        if fault != Fault::Timeout {
            // Spoil the request so AWS applies nothing: an unknown operation, an empty body.
            let request = context.request_mut();
            request
                .headers_mut()
                .insert("x-amz-target", "FaultInjection.Refused");
            request.headers_mut().insert("content-length", "2");
            *request.body_mut() = SdkBody::from("{}");
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(AttemptFault {
            fault: Some(fault),
            query_protocol,
        }) = cfg.load::<AttemptFault>().copied()
        else {
            return Ok(());
        };
        let status = match fault {
            Fault::Timeout | Fault::Mixed => return Err(Box::new(InjectedTimeout)),
            Fault::Throttle => 400,
            Fault::ServerError => 500,
        };
        let (content_type, code, body) = error_answer(fault, query_protocol);
        let response = context.response_mut();
        *response.status_mut() = StatusCode::try_from(status).expect("valid status");
        if let Some(content_type) = content_type {
            response.headers_mut().insert("content-type", content_type);
        }
        response.headers_mut().insert("x-amzn-ErrorType", code);
        response.headers_mut().remove("x-amzn-query-error");
        *response.body_mut() = SdkBody::from(body);
        Ok(())
    }
}

/// The answer of an injected throttle or server error: its content type (XML for the query
/// protocol; the JSON protocols keep the answer's), error code and body.
fn error_answer(
    fault: Fault,
    query_protocol: bool,
) -> (Option<&'static str>, &'static str, String) {
    let server = fault == Fault::ServerError;
    if query_protocol {
        let (code, party) = if server {
            ("InternalError", "Receiver")
        } else {
            ("Throttling", "Sender")
        };
        let body = format!(
            "<ErrorResponse><Error><Type>{party}</Type><Code>{code}</Code><Message>injected fault</Message></Error><RequestId>injected-fault</RequestId></ErrorResponse>"
        );
        return (Some("text/xml"), code, body);
    }
    let code = if server {
        "InternalServerError"
    } else {
        "ThrottlingException"
    };
    let body = format!(r#"{{"__type":"{code}","message":"injected fault"}}"#);
    (None, code, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_match_by_operation_service_or_all() {
        let rules = parse_rules("DynamoDB.Query=0.5:throttle, SQS.*=1:500,*=0.1:mixed").unwrap();
        assert_eq!(rules.len(), 3);
        assert!(rules[0].matches("DynamoDB.Query"));
        assert!(!rules[0].matches("DynamoDB.PutItem"));
        assert!(rules[1].matches("SQS.SendMessageBatch"));
        assert!(!rules[1].matches("SQSX.SendMessageBatch"));
        assert!(rules[2].matches("EventBridge.PutEvents"));
        assert_eq!(parse_rules("").unwrap(), []);
    }

    #[test]
    fn bad_rules_are_rejected_with_the_reason() {
        for (text, problem) in [
            ("DynamoDB.Query", "no '='"),
            ("*=0.1", "no ':'"),
            ("*=x:500", "rate is not a number"),
            ("*=1.5:500", "rate is not between 0 and 1"),
            ("*=0.1:explode", "unknown fault"),
        ] {
            assert_eq!(parse_rules(text).unwrap_err().problem, problem, "{text}");
        }
    }

    #[test]
    fn an_injected_error_speaks_the_request_protocol() {
        let (content_type, code, body) = error_answer(Fault::Throttle, true);
        assert_eq!((content_type, code), (Some("text/xml"), "Throttling"));
        assert!(body.contains("<Code>Throttling</Code>"), "{body}");
        let (_, code, body) = error_answer(Fault::ServerError, true);
        assert_eq!(code, "InternalError");
        assert!(body.contains("<Type>Receiver</Type>"), "{body}");
        let (content_type, code, body) = error_answer(Fault::ServerError, false);
        assert_eq!((content_type, code), (None, "InternalServerError"));
        assert_eq!(
            body,
            r#"{"__type":"InternalServerError","message":"injected fault"}"#
        );
    }

    #[test]
    fn the_rate_is_honoured() {
        let injector = FaultInjector::new(parse_rules("*=0.1:throttle").unwrap());
        let hits = (0..20_000)
            .filter(|_| injector.pick("SQS.SendMessageBatch").is_some())
            .count();
        assert!((1_600..2_400).contains(&hits), "{hits} of 20000");
        let never = FaultInjector::new(parse_rules("SQS.*=1:500").unwrap());
        assert!(never.pick("DynamoDB.Query").is_none());
        assert_eq!(never.pick("SQS.ReceiveMessage"), Some(Fault::ServerError));
    }
}
