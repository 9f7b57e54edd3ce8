//! What a run sends, per channel, and its rendering for one recipient.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::address::Channel;
use super::recipient::Recipient;
use super::secret_ref::SecretRef;
use super::template::{MissingVariable, PayloadTemplate, Template};

/// The message of a run, by channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum Message {
    /// An email through Amazon SES.
    Email(EmailMessage),
    /// A signed HTTPS POST to each recipient's address.
    Webhook(WebhookMessage),
    /// A `RecipientDelivery` event on the lifecycle bus.
    Event(EventMessage),
}

/// An email: a verified sender, a subject and a text and/or HTML body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    /// The sender (an SES verified identity).
    pub from: String,
    /// The subject line.
    pub subject: Template,
    /// The plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Template>,
    /// The HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<Template>,
}

/// A webhook: the JSON body and where its signing secret lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    /// The JSON body, its string values filled per recipient.
    pub payload: PayloadTemplate,
    /// The signing secret's location.
    pub secret_ref: SecretRef,
}

/// An event: optional extra detail, filled per recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMessage {
    /// Extra JSON carried in the event's detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<PayloadTemplate>,
}

/// A message filled for one recipient, ready for its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderedMessage {
    /// The email's parts.
    Email {
        /// Sender.
        from: String,
        /// Recipient address.
        to: String,
        /// Subject line.
        subject: String,
        /// Plain-text body.
        text: Option<String>,
        /// HTML body.
        html: Option<String>,
    },
    /// The webhook's target and body, and where the key that signs it lives.
    Webhook {
        /// Endpoint URL.
        url: String,
        /// JSON body.
        body: Value,
        /// The signing secret's reference (the provider reads and caches the secret).
        secret_ref: SecretRef,
    },
    /// The event's recipient address and detail.
    Event {
        /// Recipient address.
        address: String,
        /// Extra detail, if the message has any.
        detail: Option<Value>,
    },
}

impl Message {
    /// The channel this message goes out on.
    pub const fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Webhook(_) => Channel::Webhook,
            Self::Event(_) => Channel::Event,
        }
    }

    /// Every variable the message uses, each once.
    pub fn variables(&self) -> Vec<&str> {
        let found: Vec<&str> = match self {
            Self::Email(email) => [
                Some(&email.subject),
                email.text.as_ref(),
                email.html.as_ref(),
            ]
            .into_iter()
            .flatten()
            .flat_map(Template::variables)
            .collect(),
            Self::Webhook(webhook) => webhook.payload.variables(),
            Self::Event(event) => event
                .detail
                .as_ref()
                .map(PayloadTemplate::variables)
                .unwrap_or_default(),
        };
        let mut names: Vec<&str> = Vec::with_capacity(found.len());
        for name in found {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The message filled with the recipient's variables.
    pub fn render(&self, recipient: &Recipient) -> Result<RenderedMessage, MissingVariable> {
        let vars = &recipient.vars;
        Ok(match self {
            Self::Email(email) => RenderedMessage::Email {
                from: email.from.clone(),
                to: recipient.address.clone(),
                subject: email.subject.render(vars)?,
                text: email.text.as_ref().map(|t| t.render(vars)).transpose()?,
                html: email.html.as_ref().map(|t| t.render(vars)).transpose()?,
            },
            Self::Webhook(webhook) => RenderedMessage::Webhook {
                url: recipient.address.clone(),
                body: webhook.payload.render(vars)?,
                secret_ref: webhook.secret_ref.clone(),
            },
            Self::Event(event) => RenderedMessage::Event {
                address: recipient.address.clone(),
                detail: event.detail.as_ref().map(|d| d.render(vars)).transpose()?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ann() -> Recipient {
        Recipient {
            id: "r1".into(),
            address: "ann@example.com".into(),
            vars: [("name".to_owned(), "Ann".to_owned())].into(),
        }
    }

    fn email() -> Message {
        Message::Email(EmailMessage {
            from: "offers@example.com".into(),
            subject: Template::parse("Hi {{name}}").unwrap(),
            text: Some(Template::parse("Hello {{name}}, {{code}}").unwrap()),
            html: Some(Template::parse("<p>{{name}}</p>").unwrap()),
        })
    }

    #[test]
    fn renders_an_email_for_its_recipient() {
        let mut recipient = ann();
        recipient.vars.insert("code".into(), "X1".into());
        assert_eq!(
            email().render(&recipient).unwrap(),
            RenderedMessage::Email {
                from: "offers@example.com".into(),
                to: "ann@example.com".into(),
                subject: "Hi Ann".into(),
                text: Some("Hello Ann, X1".into()),
                html: Some("<p>Ann</p>".into()),
            }
        );
        assert_eq!(email().variables(), vec!["name", "code"]);
        assert_eq!(email().render(&ann()), Err(MissingVariable("code".into())));
    }

    #[test]
    fn renders_webhooks_and_events() {
        let webhook = Message::Webhook(WebhookMessage {
            payload: PayloadTemplate::parse(json!({"hello": "{{name}}"})).unwrap(),
            secret_ref: SecretRef::parse("ssm:/hook").unwrap(),
        });
        let mut recipient = ann();
        recipient.address = "https://hooks.example.com/x".into();
        assert_eq!(
            webhook.render(&recipient).unwrap(),
            RenderedMessage::Webhook {
                url: "https://hooks.example.com/x".into(),
                body: json!({"hello": "Ann"}),
                secret_ref: SecretRef::parse("ssm:/hook").unwrap(),
            }
        );
        let bare_event = Message::Event(EventMessage { detail: None });
        assert!(bare_event.variables().is_empty());
        assert_eq!(
            bare_event.render(&ann()).unwrap(),
            RenderedMessage::Event {
                address: "ann@example.com".into(),
                detail: None
            }
        );
        let event = Message::Event(EventMessage {
            detail: Some(PayloadTemplate::parse(json!({"n": "{{name}}"})).unwrap()),
        });
        assert_eq!(event.variables(), vec!["name"]);
        assert_eq!(event.channel(), Channel::Event);
        assert_eq!(webhook.channel(), Channel::Webhook);
        assert_eq!(email().channel(), Channel::Email);
    }

    #[test]
    fn stores_as_tagged_json() {
        let stored = serde_json::to_value(email()).unwrap();
        assert_eq!(stored["channel"], "email");
        assert_eq!(stored["subject"], "Hi {{name}}");
        assert_eq!(serde_json::from_value::<Message>(stored).unwrap(), email());
    }
}
