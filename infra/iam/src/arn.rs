//! ARNs of the resources the functions call, in the `aws` partition, as IAM sees them.

use crate::error::PolicyError::{self, Invalid};

/// `arn:aws:dynamodb:<region>:<account>:table/<table>`.
pub fn dynamodb_table(region: &str, account: &str, table: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{account}:table/{table}")
}

/// `arn:aws:dynamodb:<region>:<account>:table/<table>/index/<index>`: a `Query` or `Scan` on
/// an index acts on this ARN, not on the table's.
pub fn dynamodb_index(region: &str, account: &str, table: &str, index: &str) -> String {
    format!("{}/index/{index}", dynamodb_table(region, account, table))
}

/// `arn:aws:sqs:<region>:<account>:<queue_name>`.
pub fn sqs_queue(region: &str, account: &str, queue_name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{queue_name}")
}

/// The queue name of a queue URL (`http://localhost:5000/123456789012/name` or
/// `https://sqs.us-east-1.amazonaws.com/123456789012/name`).
pub fn queue_name_from_url(url: &str) -> Result<&str, PolicyError> {
    queue_url_parts(url).map(|(_, name)| name)
}

/// The ARN of the queue at `url`, owned by the account the URL names.
pub fn sqs_queue_from_url(region: &str, url: &str) -> Result<String, PolicyError> {
    let (account, name) = queue_url_parts(url)?;
    Ok(sqs_queue(region, account, name))
}

/// `(account, queue name)` of a queue URL `scheme://host/<account>/<name>`.
fn queue_url_parts(url: &str) -> Result<(&str, &str), PolicyError> {
    let invalid = || Invalid(format!("not an SQS queue URL: `{url}`"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let (host, path) = rest.split_once('/').ok_or_else(invalid)?;
    match path.split('/').collect::<Vec<_>>()[..] {
        [account, name] if !host.is_empty() && !account.is_empty() && !name.is_empty() => {
            Ok((account, name))
        }
        _ => Err(invalid()),
    }
}

/// `arn:aws:events:<region>:<account>:event-bus/<bus_name>`, or `bus_name` itself when it is
/// already an ARN (`PutEvents` accepts either). An entry without a bus name targets `default`.
pub fn event_bus(region: &str, account: &str, bus_name: &str) -> String {
    if bus_name.starts_with("arn:") {
        bus_name.to_owned()
    } else {
        format!("arn:aws:events:{region}:{account}:event-bus/{bus_name}")
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`, or `name` itself when it is already
/// an ARN (`Invoke` accepts either).
pub fn lambda_function(region: &str, account: &str, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!("arn:aws:lambda:{region}:{account}:function:{name}")
    }
}

/// `arn:aws:lambda:<region>:<account>:event-source-mapping:<uuid>`.
pub fn lambda_event_source_mapping(region: &str, account: &str, uuid: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}")
}

/// `arn:aws:s3:::<bucket>/<key>` (an object) or `arn:aws:s3:::<bucket>` (no key).
pub fn s3(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}

/// `arn:aws:ses:<region>:<account>:identity/<identity>` (an address or a domain).
pub fn ses_identity(region: &str, account: &str, identity: &str) -> String {
    format!("arn:aws:ses:{region}:{account}:identity/{identity}")
}

/// `arn:aws:ssm:<region>:<account>:parameter/<name>` (a leading `/` of the name is not
/// doubled).
pub fn ssm_parameter(region: &str, account: &str, name: &str) -> String {
    let name = name.strip_prefix('/').unwrap_or(name);
    format!("arn:aws:ssm:{region}:{account}:parameter/{name}")
}

/// `arn:aws:secretsmanager:<region>:<account>:secret:<name>`, or `id` itself when it is an
/// ARN (a real secret's ARN ends in `-` and six random characters; policies name
/// `secret:<prefix>*`).
pub fn secret(region: &str, account: &str, id: &str) -> String {
    if id.starts_with("arn:") {
        id.to_owned()
    } else {
        format!("arn:aws:secretsmanager:{region}:{account}:secret:{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = "us-east-1";
    const ACCOUNT: &str = "123456789012";

    #[test]
    fn builders() {
        let cases = [
            (
                dynamodb_table(REGION, ACCOUNT, "T"),
                "arn:aws:dynamodb:us-east-1:123456789012:table/T",
            ),
            (
                dynamodb_index(REGION, ACCOUNT, "T", "ByDue"),
                "arn:aws:dynamodb:us-east-1:123456789012:table/T/index/ByDue",
            ),
            (
                sqs_queue(REGION, ACCOUNT, "timers"),
                "arn:aws:sqs:us-east-1:123456789012:timers",
            ),
            (
                event_bus(REGION, ACCOUNT, "default"),
                "arn:aws:events:us-east-1:123456789012:event-bus/default",
            ),
            (
                event_bus(REGION, ACCOUNT, "lifecycle"),
                "arn:aws:events:us-east-1:123456789012:event-bus/lifecycle",
            ),
            (
                event_bus(
                    REGION,
                    ACCOUNT,
                    "arn:aws:events:eu-west-1:999999999999:event-bus/x",
                ),
                "arn:aws:events:eu-west-1:999999999999:event-bus/x",
            ),
        ];
        for (built, expected) in cases {
            assert_eq!(built, expected);
        }
    }

    #[test]
    fn queue_urls() {
        let cases = [
            ("http://localhost:5000/123456789012/timers", Some("timers")),
            (
                "https://sqs.us-east-1.amazonaws.com/123/jobs.fifo",
                Some("jobs.fifo"),
            ),
            ("timers", None),
            ("ftp://host/123/timers", None),
            ("http://host/timers", None),
            ("http://host/123/", None),
            ("http:///123/timers", None),
            ("http://host/123/timers/extra", None),
        ];
        for (url, expected) in cases {
            assert_eq!(queue_name_from_url(url).ok(), expected, "{url}");
        }
        assert_eq!(
            sqs_queue_from_url(REGION, "http://localhost:5000/111122223333/timers"),
            Ok("arn:aws:sqs:us-east-1:111122223333:timers".to_owned())
        );
        assert!(matches!(
            sqs_queue_from_url(REGION, "timers"),
            Err(PolicyError::Invalid(_))
        ));
    }

    #[test]
    fn delivery_resource_arns() {
        assert_eq!(s3("b", Some("k/x.jsonl")), "arn:aws:s3:::b/k/x.jsonl");
        assert_eq!(s3("b", None), "arn:aws:s3:::b");
        assert_eq!(
            ses_identity("eu-west-1", "1", "a@x.com"),
            "arn:aws:ses:eu-west-1:1:identity/a@x.com"
        );
        assert_eq!(
            ssm_parameter("r", "1", "/cl/hook"),
            "arn:aws:ssm:r:1:parameter/cl/hook"
        );
        assert_eq!(
            ssm_parameter("r", "1", "hook"),
            "arn:aws:ssm:r:1:parameter/hook"
        );
        assert_eq!(
            secret("r", "1", "cl/h"),
            "arn:aws:secretsmanager:r:1:secret:cl/h"
        );
        assert_eq!(secret("r", "1", "arn:aws:x"), "arn:aws:x");
    }
}
