//! An inline recipient list as the API stores it: a JSON Lines object in the stack's lists
//! bucket, one per campaign, so a run reads inline and uploaded lists alike.

use super::recipient::Recipient;
use super::recipient_list::{ListFormat, RecipientList};
use crate::CampaignId;

/// Prefix of the keys of inline lists in the lists bucket.
pub const INLINE_PREFIX: &str = "inline/";

/// Where `campaign`'s inline list is stored in `bucket`: `inline/<campaignId>.jsonl`.
pub fn inline_list(bucket: &str, campaign: &CampaignId) -> RecipientList {
    RecipientList {
        bucket: bucket.to_owned(),
        key: format!("{INLINE_PREFIX}{campaign}.jsonl"),
        format: ListFormat::JsonLines,
    }
}

/// The object's body: one `{"id","address","vars"}` per line, in the request's order.
pub fn inline_list_body(recipients: &[Recipient]) -> Vec<u8> {
    let mut body = Vec::with_capacity(recipients.len() * 64);
    for recipient in recipients {
        // A recipient is strings only: serializing it cannot fail.
        if let Ok(line) = serde_json::to_vec(recipient) {
            body.extend_from_slice(&line);
            body.push(b'\n');
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::recipient::parse_json_row;

    #[test]
    fn each_campaign_gets_its_own_json_lines_object() {
        let list = inline_list("lists", &CampaignId::new("c1"));
        assert_eq!(list.to_string(), "s3://lists/inline/c1.jsonl");
        assert_eq!(list.format, ListFormat::JsonLines);
        assert_ne!(inline_list("lists", &CampaignId::new("c2")), list);
    }

    #[test]
    fn the_body_reads_back_as_the_same_recipients_in_order() {
        let recipients: Vec<Recipient> = serde_json::from_str(
            r#"[{"id":"r1","address":"a@example.com","vars":{"name":"Ann \"A\"\nB"}},
                {"id":"r2","address":"b@example.com"}]"#,
        )
        .unwrap();
        let body = inline_list_body(&recipients);
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        for (line, expected) in lines.iter().zip(&recipients) {
            assert_eq!(&parse_json_row(line).unwrap(), expected);
        }
    }
}
