//! Where a webhook's signing secret lives: an SSM parameter or a Secrets Manager secret. The
//! campaign stores only this reference, never the secret.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A reference to a signing secret, written `ssm:<parameter name>` or
/// `secretsmanager:<secret name or ARN>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// An SSM Parameter Store parameter (a `SecureString`, read with decryption).
    Parameter(String),
    /// A Secrets Manager secret's `SecretString`.
    Secret(String),
}

const PARAMETER_PREFIX: &str = "ssm:";
const SECRET_PREFIX: &str = "secretsmanager:";

impl SecretRef {
    /// Parses `ssm:/path/name` or `secretsmanager:name`.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const PROBLEM: &str = "must be ssm:<parameter name> or secretsmanager:<secret name or ARN>";
        let (reference, name) = if let Some(name) = text.strip_prefix(PARAMETER_PREFIX) {
            (Self::Parameter(name.to_owned()), name)
        } else if let Some(name) = text.strip_prefix(SECRET_PREFIX) {
            (Self::Secret(name.to_owned()), name)
        } else {
            return Err(PROBLEM);
        };
        let valid = (1..=2048).contains(&name.len())
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'/' | b'_' | b'.' | b'-' | b'+' | b'=' | b'@' | b':')
            });
        if valid { Ok(reference) } else { Err(PROBLEM) }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parameter(name) => write!(f, "{PARAMETER_PREFIX}{name}"),
            Self::Secret(name) => write!(f, "{SECRET_PREFIX}{name}"),
        }
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_stores_and_writes_them_back() {
        for (text, parsed) in [
            (
                "ssm:/campaigns/webhook-secret",
                SecretRef::Parameter("/campaigns/webhook-secret".into()),
            ),
            (
                "secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf",
                SecretRef::Secret(
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-AbCdEf".into(),
                ),
            ),
        ] {
            assert_eq!(SecretRef::parse(text).unwrap(), parsed);
            assert_eq!(parsed.to_string(), text);
            let json = serde_json::to_string(&parsed).unwrap();
            assert_eq!(serde_json::from_str::<SecretRef>(&json).unwrap(), parsed);
        }
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "ssm:",
            "whsec_abc",
            "s3://bucket/key",
            "ssm:/a b",
            "secretsmanager:x\n",
        ] {
            assert!(SecretRef::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SecretRef::parse(&format!("ssm:{}", "a".repeat(2049))).is_err());
        assert!(SecretRef::parse(&format!("ssm:{}", "a".repeat(2048))).is_ok());
        assert!(serde_json::from_str::<SecretRef>("\"nope\"").is_err());
    }
}
