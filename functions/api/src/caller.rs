//! Who signed a request. On AWS, API Gateway's IAM authorization puts the signing principal
//! in the request context (`requestContext.authorizer.iam.userArn`, read by `lambda_http`
//! into the request's extensions); the local runtime's gate puts its local keys' principals
//! in the same place. The API keeps apart by it what callers must not share: their
//! `Idempotency-Key`s.

use axum::http::Extensions;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

/// The caller of a request that carries no IAM identity (`GET /health`, or the router
/// called without API Gateway in front, as unit tests do).
pub(crate) const UNSIGNED: &str = "unsigned";

/// The signing principal's ARN (else its caller id, else its access key), or [`UNSIGNED`].
pub(crate) fn caller_of(extensions: &Extensions) -> String {
    let iam = match extensions.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.iam.as_ref()),
        _ => None,
    };
    iam.and_then(|iam| {
        [&iam.user_arn, &iam.caller_id, &iam.access_key]
            .into_iter()
            .flatten()
            .find(|id| !id.is_empty())
            .cloned()
    })
    .unwrap_or_else(|| UNSIGNED.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerIamDescription,
        ApiGatewayV2httpRequestContext,
    };

    fn signed(user_arn: Option<&str>, caller_id: Option<&str>) -> Extensions {
        let mut iam = ApiGatewayRequestAuthorizerIamDescription::default();
        iam.user_arn = user_arn.map(str::to_owned);
        iam.caller_id = caller_id.map(str::to_owned);
        iam.access_key = Some("AKIAEXAMPLE".to_owned());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.iam = Some(iam);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.authorizer = Some(authorizer);
        let mut extensions = Extensions::new();
        extensions.insert(RequestContext::ApiGatewayV2(context));
        extensions
    }

    #[test]
    fn the_principal_arn_names_the_caller_then_its_id_then_its_key() {
        let arn = "arn:aws:sts::123456789012:assumed-role/Ops/alice";
        assert_eq!(caller_of(&signed(Some(arn), Some("AROAX:alice"))), arn);
        assert_eq!(caller_of(&signed(None, Some("AROAX:alice"))), "AROAX:alice");
        assert_eq!(caller_of(&signed(Some(""), None)), "AKIAEXAMPLE");
    }

    #[test]
    fn a_request_without_iam_identity_is_unsigned() {
        assert_eq!(caller_of(&Extensions::new()), UNSIGNED);
        let mut unauthorized = Extensions::new();
        unauthorized.insert(RequestContext::ApiGatewayV2(
            ApiGatewayV2httpRequestContext::default(),
        ));
        assert_eq!(caller_of(&unauthorized), UNSIGNED);
    }
}
