//! Recipient addresses, checked per channel: an email address, an HTTPS endpoint, or (for
//! events) any identifier the subscriber understands.

use serde::{Deserialize, Serialize};

/// Longest email address (RFC 5321's path limit, less the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest webhook URL or event address.
pub const MAX_ADDRESS_CHARS: usize = 2048;

/// How a run reaches its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Amazon SES v2 `SendEmail`, one message per recipient.
    Email,
    /// An HTTPS POST per recipient, signed per Standard Webhooks.
    Webhook,
    /// One `RecipientDelivery` event per recipient on the lifecycle bus.
    Event,
}

impl Channel {
    /// The wire name (`email`, `webhook`, `event`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Event => "event",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Email, Self::Webhook, Self::Event]
            .into_iter()
            .find(|channel| channel.as_str() == name)
    }

    /// Why `address` cannot be used on this channel, if it cannot.
    pub fn check_address(self, address: &str) -> Result<(), &'static str> {
        match self {
            Self::Email => check_email(address),
            Self::Webhook => check_endpoint(address),
            Self::Event => check_event_address(address),
        }
    }
}

/// A plain `local@domain.tld` address: no display name, no spaces or quotes, a dotted
/// domain of letters, digits and hyphens.
fn check_email(address: &str) -> Result<(), &'static str> {
    const PROBLEM: &str = "must be an email address like ann@example.com";
    if address.chars().count() > MAX_EMAIL_CHARS {
        return Err("must be at most 254 characters");
    }
    let (local, domain) = address.rsplit_once('@').ok_or(PROBLEM)?;
    let local_ok = (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"@<>()[]\\,;:\"".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(PROBLEM)
    }
}

/// An `https://` URL with a host; plain `http://` only to this machine (local receivers).
fn check_endpoint(address: &str) -> Result<(), &'static str> {
    const PROBLEM: &str = "must be an https:// URL (http:// only for localhost)";
    if address.len() > MAX_ADDRESS_CHARS {
        return Err("must be at most 2048 characters");
    }
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(PROBLEM);
    }
    let (scheme, rest) = address.split_once("://").ok_or(PROBLEM)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host_and_port.starts_with('[') {
        host_and_port
            .split_once(']')
            .map_or("", |(host, _)| host.trim_start_matches('['))
    } else {
        host_and_port.split(':').next().unwrap_or_default()
    };
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "::1");
    match scheme.to_ascii_lowercase().as_str() {
        _ if host.is_empty() => Err(PROBLEM),
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(PROBLEM),
    }
}

fn check_event_address(address: &str) -> Result<(), &'static str> {
    if address.trim().is_empty() {
        Err("is required and must not be blank")
    } else if address.chars().count() > MAX_ADDRESS_CHARS {
        Err("must be at most 2048 characters")
    } else if address.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_have_stable_wire_names() {
        for channel in [Channel::Email, Channel::Webhook, Channel::Event] {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
            assert_eq!(
                serde_json::to_value(channel).unwrap(),
                serde_json::Value::String(channel.as_str().into())
            );
        }
        assert_eq!(Channel::parse("sms"), None);
        assert_eq!(Channel::parse("Email"), None);
    }

    #[test]
    fn accepts_plain_email_addresses() {
        for ok in [
            "ann@example.com",
            "first.last+tag@mail.example.co.uk",
            "o'brien@exämple.de",
            "x@a-b.io",
        ] {
            assert_eq!(Channel::Email.check_address(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_email_addresses() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "ann@@example.com",
            "ann smith@example.com",
            "Ann <ann@example.com>",
            ".ann@example.com",
            "ann.@example.com",
            "a..b@example.com",
            "ann@-example.com",
            "ann@example..com",
            "ann@exa_mple.com",
            "ann@example.com\n",
        ] {
            assert!(Channel::Email.check_address(bad).is_err(), "{bad:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Channel::Email.check_address(&long_local).is_err());
        let at_limit = format!(
            "a@{}.{}.{}.{}.com",
            "b".repeat(62),
            "b".repeat(61),
            "b".repeat(61),
            "b".repeat(61)
        );
        assert_eq!(at_limit.len(), MAX_EMAIL_CHARS);
        assert_eq!(Channel::Email.check_address(&at_limit), Ok(()));
        let long = format!("a@{}.com", "b".repeat(250));
        assert_eq!(
            Channel::Email.check_address(&long),
            Err("must be at most 254 characters")
        );
    }

    #[test]
    fn webhooks_need_https_except_to_this_machine() {
        for ok in [
            "https://hooks.example.com/campaigns",
            "HTTPS://example.com",
            "https://user@example.com:8443/x?y=1",
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
        ] {
            assert_eq!(Channel::Webhook.check_address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com/hook",
            "ftp://example.com",
            "https://",
            "https:///path",
            "example.com/hook",
            "https://exa mple.com",
            "http://localhost.example.com/",
        ] {
            assert!(Channel::Webhook.check_address(bad).is_err(), "{bad:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_ADDRESS_CHARS));
        assert!(Channel::Webhook.check_address(&long).is_err());
        let prefix = "https://example.com/";
        let at_limit = format!("{prefix}{}", "a".repeat(MAX_ADDRESS_CHARS - prefix.len()));
        assert_eq!(Channel::Webhook.check_address(&at_limit), Ok(()));
    }

    #[test]
    fn event_addresses_are_any_printable_identifier() {
        assert_eq!(Channel::Event.check_address("user-42"), Ok(()));
        assert!(Channel::Event.check_address("  ").is_err());
        assert!(Channel::Event.check_address("a\u{0}b").is_err());
        assert!(
            Channel::Event
                .check_address(&"x".repeat(MAX_ADDRESS_CHARS + 1))
                .is_err()
        );
        assert_eq!(
            Channel::Event.check_address(&"x".repeat(MAX_ADDRESS_CHARS)),
            Ok(())
        );
    }
}
