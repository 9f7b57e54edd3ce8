//! Policies, their statements, and IAM's decision for a single call: an explicit `Deny` wins,
//! otherwise an `Allow` whose action and resource patterns both match, otherwise denied.

use crate::call::Call;
use crate::wildcard;

/// Whether a statement grants or forbids what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of an identity policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub effect: Effect,
    /// Action patterns (`dynamodb:Get*`, `sqs:*`, `*`), compared case-insensitively.
    pub actions: Vec<String>,
    /// `NotAction` patterns: when set, the statement also matches every action matching none.
    pub not_actions: Option<Vec<String>>,
    /// Resource ARN patterns, compared case-sensitively.
    pub resources: Vec<String>,
}

impl Statement {
    /// Whether this statement matches both the call's action and its resource.
    pub fn matches(&self, call: &Call) -> bool {
        let action = call.action.to_ascii_lowercase();
        let action_matches =
            |pattern: &String| wildcard::matches(&pattern.to_ascii_lowercase(), &action);
        let by_action = self.actions.iter().any(action_matches)
            || self
                .not_actions
                .as_ref()
                .is_some_and(|not| !not.iter().any(action_matches));
        by_action
            && self
                .resources
                .iter()
                .any(|pattern| wildcard::matches(pattern, &call.resource))
    }
}

/// The statements attached to one principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// IAM's decision for `call`: no matching `Deny` and at least one matching `Allow`.
    pub fn allows(&self, call: &Call) -> bool {
        let any = |effect| {
            self.statements
                .iter()
                .any(|s| s.effect == effect && s.matches(call))
        };
        !any(Effect::Deny) && any(Effect::Allow)
    }

    /// The calls this policy does not allow, in the order given.
    pub fn denied<'a>(&self, calls: impl IntoIterator<Item = &'a Call>) -> Vec<&'a Call> {
        calls
            .into_iter()
            .filter(|call| !self.allows(call))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/T";
    const INDEX: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/T/index/ByDue";

    fn statement(effect: Effect, actions: &[&str], resources: &[&str]) -> Statement {
        let strings = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect();
        let (actions, resources) = (strings(actions), strings(resources));
        Statement {
            effect,
            actions,
            not_actions: None,
            resources,
        }
    }

    fn call(action: &str, resource: &str) -> Call {
        Call {
            action: action.into(),
            resource: resource.into(),
        }
    }

    /// Asserts the decision for each `(action, resource, allowed)`.
    fn check(statements: Vec<Statement>, cases: &[(&str, &str, bool)]) {
        let policy = Policy { statements };
        for &(action, resource, expected) in cases {
            assert_eq!(
                policy.allows(&call(action, resource)),
                expected,
                "{action} on {resource}"
            );
        }
    }

    #[test]
    fn base_table_grant_does_not_cover_its_indexes() {
        let query_on =
            |resource: &str| vec![statement(Effect::Allow, &["dynamodb:Query"], &[resource])];
        check(
            query_on(TABLE),
            &[
                ("dynamodb:Query", TABLE, true),
                ("dynamodb:Query", INDEX, false),
            ],
        );
        let indexes = format!("{TABLE}/index/*");
        check(
            query_on(&indexes),
            &[
                ("dynamodb:Query", INDEX, true),
                ("dynamodb:Query", TABLE, false),
            ],
        );
    }

    #[test]
    fn explicit_deny_wins() {
        let statements = vec![
            statement(Effect::Allow, &["*"], &["*"]),
            statement(Effect::Deny, &["dynamodb:DeleteItem"], &[TABLE]),
        ];
        let cases = [
            ("dynamodb:DeleteItem", TABLE, false),
            ("dynamodb:GetItem", TABLE, true),
            ("dynamodb:DeleteItem", INDEX, true),
        ];
        check(statements, &cases);
    }

    #[test]
    fn action_patterns() {
        let queue = "arn:aws:sqs:us-east-1:123456789012:timers";
        let statements = vec![
            statement(
                Effect::Allow,
                &["DynamoDB:get*", "dynamodb:?pdateItem"],
                &[TABLE],
            ),
            statement(Effect::Allow, &["sqs:*"], &["arn:aws:sqs:*:*:timers"]),
        ];
        let cases = [
            ("dynamodb:GetItem", TABLE, true),
            ("DYNAMODB:GETITEM", TABLE, true),
            ("dynamodb:UpdateItem", TABLE, true),
            ("dynamodb:PutItem", TABLE, false),
            ("dynamodb:Query", TABLE, false),
            ("sqs:SendMessage", queue, true),
            (
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:123456789012:timers-dlq",
                false,
            ),
            ("dynamodb:GetItem", queue, false),
        ];
        check(statements, &cases);
    }

    #[test]
    fn not_action_matches_everything_else() {
        let mut all_but_delete = statement(Effect::Allow, &[], &[TABLE]);
        all_but_delete.not_actions = Some(vec!["dynamodb:DeleteItem".into()]);
        let cases = [
            ("dynamodb:GetItem", TABLE, true),
            ("dynamodb:DeleteItem", TABLE, false),
        ];
        check(vec![all_but_delete], &cases);
    }

    #[test]
    fn empty_policy_denies_and_denied_lists_exactly_the_denied_calls() {
        assert!(!Policy::default().allows(&call("dynamodb:GetItem", TABLE)));

        let policy = Policy {
            statements: vec![statement(Effect::Allow, &["dynamodb:Query"], &[TABLE])],
        };
        let calls = [
            call("dynamodb:Query", INDEX),
            call("dynamodb:Query", TABLE),
            call("dynamodb:Scan", TABLE),
        ];
        assert_eq!(policy.denied(&calls), vec![&calls[0], &calls[2]]);
    }
}
