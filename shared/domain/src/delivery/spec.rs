//! Validation of a campaign's `delivery`: the channel, its message, the recipients (inline or
//! an S3 list) and the policy for recipients whose delivery is ambiguous. Every problem is
//! reported against its field (`delivery.subject`, `delivery.recipients[3].address`, …).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::address::Channel;
use super::ledger::AmbiguousPolicy;
use super::message::{EmailMessage, EventMessage, Message, WebhookMessage};
use super::recipient::{Recipient, check_recipient_id};
use super::recipient_list::RecipientList;
use super::secret_ref::SecretRef;
use super::template::{PayloadTemplate, Template, Variables};
use crate::validation::FieldErrors;

/// Most recipients accepted inline; larger lists go in an S3 object (`recipientsUri`).
pub const MAX_INLINE_RECIPIENTS: usize = 10_000;
/// Most recipient problems listed one by one (a count stands for the rest).
pub const MAX_LISTED_RECIPIENT_ERRORS: usize = 10;
/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 998;

/// A delivery as requested, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewDelivery {
    /// `email`, `webhook` or `event` (required).
    pub channel: Option<String>,
    /// Email sender.
    pub from: Option<String>,
    /// Email subject.
    pub subject: Option<String>,
    /// Email plain-text body.
    pub text: Option<String>,
    /// Email HTML body.
    pub html: Option<String>,
    /// Webhook JSON body.
    pub payload: Option<Value>,
    /// Webhook signing secret location (`ssm:…` or `secretsmanager:…`).
    pub secret_ref: Option<String>,
    /// Event extra detail.
    pub detail: Option<Value>,
    /// Inline recipients (up to [`MAX_INLINE_RECIPIENTS`]).
    pub recipients: Option<Value>,
    /// An S3 recipient list instead.
    pub recipients_uri: Option<String>,
    /// `resend` or `skip` for recipients whose delivery is ambiguous after a crash.
    pub on_ambiguous: Option<String>,
}

/// Where a run's recipients come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Recipients {
    /// Listed in the request (the API stores them as a list before creating the campaign).
    Inline(Vec<Recipient>),
    /// An S3 object.
    Stored(RecipientList),
}

/// A delivery that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySpec {
    /// What is sent.
    pub message: Message,
    /// To whom.
    pub recipients: Recipients,
    /// What a resumed run does with a recipient whose send may have happened.
    pub on_ambiguous: AmbiguousPolicy,
}

impl NewDelivery {
    /// Checks every field; problems are added to `errors` under `delivery.<field>`.
    pub fn validate(&self, errors: &mut FieldErrors) -> Option<DeliverySpec> {
        let before = errors.0.len();
        let channel = match self.channel.as_deref() {
            None => {
                errors.add("delivery.channel", "is required: email, webhook or event");
                None
            }
            Some(name) => Channel::parse(name).or_else(|| {
                errors.add("delivery.channel", "must be email, webhook or event");
                None
            }),
        };
        let message = channel.and_then(|channel| self.message(channel, errors));
        let recipients = self.recipients(channel, message.as_ref(), errors);
        let on_ambiguous = match self.on_ambiguous.as_deref() {
            None => channel.map(AmbiguousPolicy::default_for),
            Some(text) => AmbiguousPolicy::parse(text).or_else(|| {
                errors.add("delivery.onAmbiguous", "must be resend or skip");
                None
            }),
        };
        match (message, recipients, on_ambiguous) {
            (Some(message), Some(recipients), Some(on_ambiguous)) if errors.0.len() == before => {
                Some(DeliverySpec {
                    message,
                    recipients,
                    on_ambiguous,
                })
            }
            _ => None,
        }
    }

    fn message(&self, channel: Channel, errors: &mut FieldErrors) -> Option<Message> {
        let foreign: &[(&str, bool)] = match channel {
            Channel::Email => &[
                ("payload", self.payload.is_some()),
                ("secretRef", self.secret_ref.is_some()),
                ("detail", self.detail.is_some()),
            ],
            Channel::Webhook => &[
                ("from", self.from.is_some()),
                ("subject", self.subject.is_some()),
                ("text", self.text.is_some()),
                ("html", self.html.is_some()),
                ("detail", self.detail.is_some()),
            ],
            Channel::Event => &[
                ("from", self.from.is_some()),
                ("subject", self.subject.is_some()),
                ("text", self.text.is_some()),
                ("html", self.html.is_some()),
                ("payload", self.payload.is_some()),
                ("secretRef", self.secret_ref.is_some()),
            ],
        };
        for (field, _) in foreign.iter().filter(|(_, present)| *present) {
            errors.add(
                format!("delivery.{field}"),
                format!("is not used by the {} channel", channel.as_str()),
            );
        }
        match channel {
            Channel::Email => self.email(errors).map(Message::Email),
            Channel::Webhook => self.webhook(errors).map(Message::Webhook),
            Channel::Event => self.event(errors).map(Message::Event),
        }
    }

    fn email(&self, errors: &mut FieldErrors) -> Option<EmailMessage> {
        let from = match self.from.as_deref() {
            None => {
                errors.add("delivery.from", "is required for email (a verified sender)");
                None
            }
            Some(from) => match Channel::Email.check_address(from) {
                Ok(()) => Some(from.to_owned()),
                Err(problem) => {
                    errors.add("delivery.from", problem);
                    None
                }
            },
        };
        let subject = match self.subject.as_deref() {
            Some(subject) if subject.trim().is_empty() => {
                errors.add("delivery.subject", "must not be blank");
                None
            }
            Some(subject) if subject.chars().count() > MAX_SUBJECT_CHARS => {
                errors.add("delivery.subject", "must be at most 998 characters");
                None
            }
            Some(subject) if subject.contains(['\r', '\n']) => {
                errors.add("delivery.subject", "must not contain line breaks");
                None
            }
            Some(subject) => template(errors, "delivery.subject", subject),
            None => {
                errors.add("delivery.subject", "is required for email");
                None
            }
        };
        let text = self
            .text
            .as_deref()
            .map(|text| template(errors, "delivery.text", text));
        let html = self
            .html
            .as_deref()
            .map(|html| template(errors, "delivery.html", html));
        if text.is_none() && html.is_none() {
            errors.add(
                "delivery.text",
                "text or html (or both) is required for email",
            );
        }
        Some(EmailMessage {
            from: from?,
            subject: subject?,
            text: text.flatten(),
            html: html.flatten(),
        })
    }

    fn webhook(&self, errors: &mut FieldErrors) -> Option<WebhookMessage> {
        let payload = match &self.payload {
            None => {
                errors.add(
                    "delivery.payload",
                    "is required for webhook (a JSON object)",
                );
                None
            }
            Some(payload) => payload_template(errors, "delivery.payload", payload),
        };
        let secret_ref = match self.secret_ref.as_deref() {
            None => {
                errors.add(
                    "delivery.secretRef",
                    "is required for webhook: ssm:<parameter> or secretsmanager:<secret>",
                );
                None
            }
            Some(text) => SecretRef::parse(text)
                .map_err(|problem| errors.add("delivery.secretRef", problem))
                .ok(),
        };
        Some(WebhookMessage {
            payload: payload?,
            secret_ref: secret_ref?,
        })
    }

    fn event(&self, errors: &mut FieldErrors) -> Option<EventMessage> {
        match &self.detail {
            None => Some(EventMessage { detail: None }),
            Some(detail) => {
                payload_template(errors, "delivery.detail", detail).map(|detail| EventMessage {
                    detail: Some(detail),
                })
            }
        }
    }

    fn recipients(
        &self,
        channel: Option<Channel>,
        message: Option<&Message>,
        errors: &mut FieldErrors,
    ) -> Option<Recipients> {
        match (&self.recipients, self.recipients_uri.as_deref()) {
            (Some(_), Some(_)) => {
                errors.add(
                    "delivery.recipientsUri",
                    "give either recipients or recipientsUri, not both",
                );
                None
            }
            (None, None) => {
                errors.add(
                    "delivery.recipients",
                    "is required (or recipientsUri: an S3 list)",
                );
                None
            }
            (None, Some(uri)) => RecipientList::parse_uri(uri)
                .map(Recipients::Stored)
                .map_err(|problem| errors.add("delivery.recipientsUri", problem))
                .ok(),
            (Some(list), None) => {
                inline_recipients(list, channel, message, errors).map(Recipients::Inline)
            }
        }
    }
}

fn template(errors: &mut FieldErrors, field: &str, text: &str) -> Option<Template> {
    Template::parse(text)
        .map_err(|problem| errors.add(field, problem.to_string()))
        .ok()
}

fn payload_template(
    errors: &mut FieldErrors,
    field: &str,
    value: &Value,
) -> Option<PayloadTemplate> {
    if !value.is_object() {
        errors.add(field, "must be a JSON object");
        return None;
    }
    PayloadTemplate::parse(value.clone())
        .map_err(|problem| errors.add(field, format!("a string value {problem}")))
        .ok()
}

/// Reads the inline list, checking each recipient's id, address (for the channel) and
/// variables (for the message). Repeated ids are kept: the run sends them once and counts
/// the rest as duplicates.
fn inline_recipients(
    list: &Value,
    channel: Option<Channel>,
    message: Option<&Message>,
    errors: &mut FieldErrors,
) -> Option<Vec<Recipient>> {
    let Some(items) = list.as_array() else {
        errors.add("delivery.recipients", "must be an array of recipients");
        return None;
    };
    if items.is_empty() || items.len() > MAX_INLINE_RECIPIENTS {
        errors.add(
            "delivery.recipients",
            format!(
                "must list 1 to {MAX_INLINE_RECIPIENTS} recipients (use recipientsUri for more)"
            ),
        );
        return None;
    }
    let needed: Vec<&str> = message.map(Message::variables).unwrap_or_default();
    let mut recipients = Vec::with_capacity(items.len());
    let mut bad = 0usize;
    for (index, item) in items.iter().enumerate() {
        let problems = recipient_problems(item, channel, &needed);
        if problems.is_empty() {
            if let Ok(recipient) = serde_json::from_value::<Recipient>(item.clone()) {
                recipients.push(recipient);
            }
            continue;
        }
        bad += 1;
        if bad <= MAX_LISTED_RECIPIENT_ERRORS {
            for (field, problem) in problems {
                errors.add(format!("delivery.recipients[{index}].{field}"), problem);
            }
        }
    }
    if bad > MAX_LISTED_RECIPIENT_ERRORS {
        errors.add(
            "delivery.recipients",
            format!(
                "{bad} recipients have problems; the first {MAX_LISTED_RECIPIENT_ERRORS} are listed"
            ),
        );
    }
    (bad == 0).then_some(recipients)
}

/// What is wrong with one inline recipient, field by field.
fn recipient_problems(
    item: &Value,
    channel: Option<Channel>,
    needed: &[&str],
) -> Vec<(String, String)> {
    let Some(fields) = item.as_object() else {
        return vec![(
            "id".into(),
            "a recipient must be an object {id, address, vars}".into(),
        )];
    };
    let mut problems = Vec::new();
    match fields.get("id") {
        Some(Value::String(id)) => {
            if let Err(problem) = check_recipient_id(id) {
                problems.push(("id".into(), problem.to_owned()));
            }
        }
        _ => problems.push(("id".into(), "is required (a string)".into())),
    }
    match fields.get("address") {
        Some(Value::String(address)) => {
            if let Some(Err(problem)) = channel.map(|c| c.check_address(address)) {
                problems.push(("address".into(), problem.to_owned()));
            }
        }
        _ => problems.push(("address".into(), "is required (a string)".into())),
    }
    if let Some(problem) = vars_problem(fields, needed) {
        problems.push(("vars".into(), problem));
    }
    for unknown in fields
        .keys()
        .filter(|key| !matches!(key.as_str(), "id" | "address" | "vars"))
    {
        problems.push((
            unknown.clone(),
            "is not a recipient field (variables go in vars)".into(),
        ));
    }
    problems
}

fn vars_problem(fields: &Map<String, Value>, needed: &[&str]) -> Option<String> {
    let vars: Variables = match fields.get("vars") {
        None => Variables::new(),
        Some(Value::Object(vars)) => {
            let mut strings = Variables::new();
            for (name, value) in vars {
                match value {
                    Value::String(text) => {
                        strings.insert(name.clone(), text.clone());
                    }
                    _ => return Some(format!("'{name}' must be a string")),
                }
            }
            strings
        }
        Some(_) => return Some("must be an object of strings".into()),
    };
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|name| !vars.contains_key(*name))
        .collect();
    (!missing.is_empty()).then(|| format!("lacks {} (used by the message)", missing.join(", ")))
}
