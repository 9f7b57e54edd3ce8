//! Tests of delivery validation: every channel accepted, every bad field named.

use serde_json::{Value, json};

use super::*;
use crate::validation::FieldErrors;

fn validate(body: Value) -> Result<DeliverySpec, Vec<(String, String)>> {
    let delivery: NewDelivery = serde_json::from_value(body).unwrap();
    let mut errors = FieldErrors::default();
    match delivery.validate(&mut errors) {
        Some(spec) if errors.is_empty() => Ok(spec),
        _ => Err(errors.0.into_iter().collect()),
    }
}

fn fields(body: Value) -> Vec<String> {
    validate(body)
        .unwrap_err()
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

fn email() -> Value {
    json!({
        "channel": "email",
        "from": "offers@example.com",
        "subject": "Hi {{name}}",
        "text": "Hello {{name}}",
        "recipients": [{"id": "r1", "address": "ann@example.com", "vars": {"name": "Ann"}}]
    })
}

#[test]
fn accepts_the_readme_email_example() {
    let spec = validate(email()).unwrap();
    assert_eq!(spec.message.channel(), Channel::Email);
    assert_eq!(spec.on_ambiguous, AmbiguousPolicy::Skip);
    let Recipients::Inline(recipients) = spec.recipients else {
        panic!("inline expected")
    };
    assert_eq!(recipients.len(), 1);
    assert_eq!(recipients[0].vars["name"], "Ann");
}

#[test]
fn accepts_webhooks_events_and_stored_lists() {
    let webhook = validate(json!({
        "channel": "webhook",
        "payload": {"offer": "{{code}}"},
        "secretRef": "ssm:/campaigns/hook",
        "recipientsUri": "s3://lists/spring.csv"
    }))
    .unwrap();
    assert_eq!(webhook.on_ambiguous, AmbiguousPolicy::Resend);
    assert!(
        matches!(webhook.recipients, Recipients::Stored(ref list) if list.format == ListFormat::Csv)
    );
    let event = validate(json!({
        "channel": "event",
        "onAmbiguous": "skip",
        "recipients": [{"id": "u1", "address": "user-1"}, {"id": "u1", "address": "user-1"}]
    }))
    .unwrap();
    assert_eq!(event.on_ambiguous, AmbiguousPolicy::Skip);
    assert!(
        matches!(event.recipients, Recipients::Inline(ref list) if list.len() == 2),
        "repeated ids are kept: the run sends them once and counts the rest"
    );
}

#[test]
fn a_spec_is_stored_and_read_back_unchanged() {
    let spec = validate(email()).unwrap();
    let stored = serde_json::to_value(&spec).unwrap();
    assert_eq!(stored["message"]["channel"], "email");
    assert_eq!(
        serde_json::from_value::<DeliverySpec>(stored).unwrap(),
        spec
    );
}

#[test]
fn a_spec_with_any_problem_is_not_returned() {
    let mut body = email();
    body["detail"] = json!({});
    let delivery: NewDelivery = serde_json::from_value(body).unwrap();
    let mut errors = FieldErrors::default();
    assert!(delivery.validate(&mut errors).is_none());
    assert_eq!(errors.0.keys().collect::<Vec<_>>(), vec!["delivery.detail"]);
}

#[test]
fn names_a_missing_or_unknown_channel() {
    assert_eq!(
        validate(json!({"recipientsUri": "s3://lists/a.csv"})).unwrap_err(),
        vec![(
            "delivery.channel".to_owned(),
            "is required: email, webhook or event".to_owned()
        )]
    );
    assert_eq!(
        fields(json!({"channel": "sms", "recipientsUri": "s3://lists/a.csv"})),
        vec!["delivery.channel"]
    );
}

#[test]
fn names_every_bad_email_field() {
    let mut body = email();
    body["from"] = json!("not-an-address");
    body["subject"] = json!("Hi\nthere");
    body["text"] = json!("{{unclosed");
    body["payload"] = json!({});
    body["onAmbiguous"] = json!("maybe");
    assert_eq!(
        fields(body),
        vec![
            "delivery.from",
            "delivery.onAmbiguous",
            "delivery.payload",
            "delivery.subject",
            "delivery.text"
        ]
    );
    let bodyless = json!({"channel": "email", "from": "a@example.com", "subject": "x",
        "recipientsUri": "s3://lists/a.csv"});
    assert_eq!(
        validate(bodyless).unwrap_err(),
        vec![(
            "delivery.text".to_owned(),
            "text or html (or both) is required for email".to_owned()
        )]
    );
    let html_only = json!({"channel": "email", "from": "a@example.com", "subject": "x",
        "html": "<p>hi</p>", "recipientsUri": "s3://lists/a.csv"});
    assert!(validate(html_only).is_ok());
    let mut blank = email();
    blank["subject"] = json!("  ");
    assert_eq!(fields(blank), vec!["delivery.subject"]);
    let mut long = email();
    long["subject"] = json!("x".repeat(999));
    assert_eq!(fields(long), vec!["delivery.subject"]);
    let mut at_limit = email();
    at_limit["subject"] = json!("é".repeat(spec::MAX_SUBJECT_CHARS));
    assert!(validate(at_limit).is_ok());
    let missing = json!({"channel": "email", "text": "x", "recipientsUri": "s3://lists/a.csv"});
    assert_eq!(fields(missing), vec!["delivery.from", "delivery.subject"]);
}

#[test]
fn names_every_bad_webhook_field() {
    assert_eq!(
        fields(json!({"channel": "webhook", "subject": "x", "recipientsUri": "s3://lists/a.csv"})),
        vec!["delivery.payload", "delivery.secretRef", "delivery.subject"]
    );
    assert_eq!(
        fields(
            json!({"channel": "webhook", "payload": [1], "secretRef": "whsec_x",
            "recipientsUri": "s3://lists/a.csv"})
        ),
        vec!["delivery.payload", "delivery.secretRef"]
    );
    assert_eq!(
        fields(
            json!({"channel": "webhook", "payload": {"a": "{{"}, "secretRef": "ssm:/x",
            "recipientsUri": "s3://lists/a.csv"})
        ),
        vec!["delivery.payload"]
    );
}

#[test]
fn names_bad_event_fields() {
    assert_eq!(
        fields(
            json!({"channel": "event", "detail": "text", "from": "a@example.com",
            "recipientsUri": "s3://lists/a.csv"})
        ),
        vec!["delivery.detail", "delivery.from"]
    );
}

#[test]
fn needs_exactly_one_valid_recipient_source() {
    let mut neither = email();
    neither.as_object_mut().unwrap().remove("recipients");
    assert_eq!(fields(neither), vec!["delivery.recipients"]);
    let mut both = email();
    both["recipientsUri"] = json!("s3://lists/a.csv");
    assert_eq!(fields(both), vec!["delivery.recipientsUri"]);
    let mut bad_uri = email();
    bad_uri.as_object_mut().unwrap().remove("recipients");
    bad_uri["recipientsUri"] = json!("https://example.com/list.csv");
    assert_eq!(fields(bad_uri), vec!["delivery.recipientsUri"]);
    for bad in [json!([]), json!({"id": "r1"}), json!("r1")] {
        let mut body = email();
        body["recipients"] = bad;
        assert_eq!(fields(body), vec!["delivery.recipients"]);
    }
}

#[test]
fn the_inline_limit_is_ten_thousand() {
    let recipient = json!({"id": "r", "address": "a@example.com", "vars": {"name": "A"}});
    let mut at_limit = email();
    at_limit["recipients"] = Value::Array(vec![recipient.clone(); spec::MAX_INLINE_RECIPIENTS]);
    assert!(validate(at_limit).is_ok());
    let mut over = email();
    over["recipients"] = Value::Array(vec![recipient; spec::MAX_INLINE_RECIPIENTS + 1]);
    assert_eq!(fields(over), vec!["delivery.recipients"]);
}

#[test]
fn names_each_bad_recipient_field_by_its_index() {
    let mut body = email();
    body["recipients"] = json!([
        {"id": "r1", "address": "ann@example.com", "vars": {"name": "Ann"}},
        {"id": "", "address": "ann@", "vars": {"name": "Bob"}},
        {"id": "r3", "address": "c@example.com"},
        {"id": "r4", "address": "d@example.com", "vars": {"name": 4}},
        {"id": 5, "address": "e@example.com", "vars": {"name": "E"}, "email": "x"},
        "r6"
    ]);
    let errors = validate(body).unwrap_err();
    let listed: Vec<(&str, &str)> = errors
        .iter()
        .map(|(f, m)| (f.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                "delivery.recipients[1].address",
                "must be an email address like ann@example.com"
            ),
            (
                "delivery.recipients[1].id",
                "is required and must not be blank"
            ),
            (
                "delivery.recipients[2].vars",
                "lacks name (used by the message)"
            ),
            ("delivery.recipients[3].vars", "'name' must be a string"),
            (
                "delivery.recipients[4].email",
                "is not a recipient field (variables go in vars)"
            ),
            ("delivery.recipients[4].id", "is required (a string)"),
            (
                "delivery.recipients[5].id",
                "a recipient must be an object {id, address, vars}"
            ),
        ]
    );
}

#[test]
fn addresses_are_checked_for_the_channel() {
    let body = json!({"channel": "webhook", "payload": {}, "secretRef": "ssm:/x",
        "recipients": [{"id": "r1", "address": "ann@example.com"},
                       {"id": "r2", "address": "https://hooks.example.com/a"}]});
    assert_eq!(fields(body), vec!["delivery.recipients[0].address"]);
}

#[test]
fn ten_problems_are_all_listed_without_a_count() {
    let mut body = email();
    body["recipients"] = Value::Array(vec![
        json!({"id": "r", "address": "bad", "vars": {"name": "x"}});
        spec::MAX_LISTED_RECIPIENT_ERRORS
    ]);
    let errors = validate(body).unwrap_err();
    assert_eq!(errors.len(), spec::MAX_LISTED_RECIPIENT_ERRORS);
    assert!(
        errors
            .iter()
            .all(|(field, _)| field != "delivery.recipients")
    );
}

#[test]
fn long_lists_of_problems_are_cut_with_a_count() {
    let mut body = email();
    body["recipients"] = Value::Array(vec![
        json!({"id": "r", "address": "bad", "vars": {"name": "x"}});
        25
    ]);
    let errors = validate(body).unwrap_err();
    assert_eq!(errors.len(), spec::MAX_LISTED_RECIPIENT_ERRORS + 1);
    assert!(errors.contains(&(
        "delivery.recipients".to_owned(),
        "25 recipients have problems; the first 10 are listed".to_owned()
    )));
}
