//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` headers of a delivery, and their check.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::run::RunId;
use crate::CampaignId;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a receiver's clock may be from the timestamp (the spec's advice: five minutes).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// A signing key: the bytes behind `whsec_<base64>`, ready to sign.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

/// Shows no key material.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// The secret is not `whsec_` followed by base64 of 24 to 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signing secret must be whsec_ followed by base64 of 24 to 64 bytes")]
pub struct InvalidSecret;

impl SigningKey {
    /// Reads a `whsec_…` secret.
    pub fn parse(secret: &str) -> Result<Self, InvalidSecret> {
        let encoded = secret
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(InvalidSecret)?;
        let bytes = BASE64.decode(encoded).map_err(|_| InvalidSecret)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(InvalidSecret);
        }
        <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| InvalidSecret)
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.mac(id, timestamp, body)))
    }

    /// Whether any `v1,` entry of a (space-separated) `webhook-signature` header matches, and
    /// the timestamp is within [`TOLERANCE_SECONDS`] of `now_seconds`: what a receiver checks.
    pub fn verify(
        &self,
        id: &str,
        timestamp: i64,
        body: &[u8],
        header: &str,
        now_seconds: i64,
    ) -> bool {
        if (now_seconds - timestamp).abs() > TOLERANCE_SECONDS {
            return false;
        }
        header.split(' ').any(|entry| {
            entry
                .strip_prefix("v1,")
                .and_then(|encoded| BASE64.decode(encoded).ok())
                .is_some_and(|signature| {
                    let mut mac = self.0.clone();
                    feed(&mut mac, id, timestamp, body);
                    mac.verify_slice(&signature).is_ok()
                })
        })
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = self.0.clone();
        feed(&mut mac, id, timestamp, body);
        mac.finalize().into_bytes().to_vec()
    }
}

fn feed(mac: &mut Hmac<Sha256>, id: &str, timestamp: i64, body: &[u8]) {
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

/// The `webhook-id` of a recipient's delivery in a run: the same on every attempt (so a
/// receiver drops a resend), different for every (campaign, run, recipient).
pub fn webhook_id(campaign: &CampaignId, run: &RunId, recipient_id: &str) -> String {
    let name = format!("{campaign}\n{run}\n{recipient_id}");
    let id = uuid::Uuid::new_v5(&DELIVERY_NAMESPACE, name.as_bytes());
    format!("msg_{}", id.simple())
}

/// The UUID v5 namespace of delivery ids (a fixed random UUID).
const DELIVERY_NAMESPACE: uuid::Uuid = uuid::uuid!("6f1c2a9e-3d4b-4c8a-9f0e-5b7d2e1a8c34");

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries (webhooks.test.ts):
    /// secret, id, timestamp and body, and the signature they expect.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn debug_output_shows_no_key_material() {
        let key = SigningKey::parse(SPEC_SECRET).unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
    }

    #[test]
    fn signs_like_the_reference_implementation() {
        let key = SigningKey::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            key.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn verifies_its_own_signatures_and_nothing_else() {
        let key = SigningKey::parse(SPEC_SECRET).unwrap();
        let now = SPEC_TIMESTAMP + 10;
        let body = SPEC_BODY.as_bytes();
        assert!(key.verify(SPEC_ID, SPEC_TIMESTAMP, body, SPEC_SIGNATURE, now));
        let rotated = format!("v1,bm90IGl0 {SPEC_SIGNATURE}");
        assert!(key.verify(SPEC_ID, SPEC_TIMESTAMP, body, &rotated, now));
        assert!(!key.verify(SPEC_ID, SPEC_TIMESTAMP, b"{}", SPEC_SIGNATURE, now));
        assert!(!key.verify("msg_other", SPEC_TIMESTAMP, body, SPEC_SIGNATURE, now));
        assert!(!key.verify(SPEC_ID, SPEC_TIMESTAMP, body, "v2,abc", now));
        assert_eq!(TOLERANCE_SECONDS, 300);
        let last_second = SPEC_TIMESTAMP + TOLERANCE_SECONDS;
        assert!(key.verify(SPEC_ID, SPEC_TIMESTAMP, body, SPEC_SIGNATURE, last_second));
        let too_late = SPEC_TIMESTAMP + TOLERANCE_SECONDS + 1;
        assert!(!key.verify(SPEC_ID, SPEC_TIMESTAMP, body, SPEC_SIGNATURE, too_late));
        let other = SigningKey::parse(&format!("whsec_{}", BASE64.encode([7u8; 32]))).unwrap();
        assert!(!other.verify(SPEC_ID, SPEC_TIMESTAMP, body, SPEC_SIGNATURE, now));
    }

    #[test]
    fn refuses_malformed_secrets() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_not base64!",
            &format!("whsec_{}", BASE64.encode([1u8; 23])),
            &format!("whsec_{}", BASE64.encode([1u8; 65])),
        ] {
            assert!(SigningKey::parse(bad).is_err(), "{bad}");
        }
        assert!(SigningKey::parse(&format!("whsec_{}", BASE64.encode([1u8; 64]))).is_ok());
    }

    #[test]
    fn delivery_ids_are_stable_per_recipient_and_run() {
        let campaign = CampaignId::new("c1");
        let run = RunId::new("20261202T090000000Z");
        let id = webhook_id(&campaign, &run, "r1");
        assert!(id.starts_with("msg_") && id.len() == 36, "{id}");
        assert_eq!(webhook_id(&campaign, &run, "r1"), id);
        assert_ne!(webhook_id(&campaign, &run, "r2"), id);
        assert_ne!(
            webhook_id(&campaign, &RunId::new("20261203T090000000Z"), "r1"),
            id
        );
        assert_ne!(webhook_id(&CampaignId::new("c2"), &run, "r1"), id);
    }
}
