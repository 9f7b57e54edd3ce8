//! Email through Amazon SES v2 `SendEmail`, one attempt per call, its answer classified as a
//! [`SendOutcome`]. SES takes no idempotency token: a call whose answer is lost after the
//! request left may have been sent, and is `Unknown` (the run's ambiguity policy decides).

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use lifecycle_domain::delivery::provider_response::SendOutcome;

use crate::aws::Describe;

/// One email's parts.
#[derive(Debug, Clone, Copy)]
pub struct Email<'a> {
    pub from: &'a str,
    /// One email to every address (SES: at most 50).
    pub to: &'a [String],
    pub subject: &'a str,
    pub text: Option<&'a str>,
    pub html: Option<&'a str>,
}

/// Sends email with SES v2; cheap to clone.
#[derive(Debug, Clone)]
pub struct EmailSender {
    sesv2: aws_sdk_sesv2::Client,
}

impl EmailSender {
    /// Sends with `sesv2` (whose SDK retries are off: one attempt per call).
    pub fn new(sesv2: aws_sdk_sesv2::Client) -> Self {
        Self { sesv2 }
    }

    /// The account's sending rate, `MaxSendRate` (one `GetAccount`).
    pub async fn max_send_rate(&self) -> Result<f64, String> {
        let account = self
            .sesv2
            .get_account()
            .send()
            .await
            .map_err(|error| error.describe("GetAccount").to_string())?;
        account
            .send_quota()
            .map(|quota| quota.max_send_rate())
            .filter(|rate| *rate > 0.0)
            .ok_or_else(|| "GetAccount gave no sending rate".to_owned())
    }

    /// Sends one email (one `SendEmail`) and says what it came to.
    pub async fn send(&self, email: Email<'_>) -> SendOutcome {
        let utf8 = |text: &str| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .expect("data is set")
        };
        let mut body = Body::builder();
        if let Some(text) = email.text {
            body = body.text(utf8(text));
        }
        if let Some(html) = email.html {
            body = body.html(utf8(html));
        }
        let message = Message::builder()
            .subject(utf8(email.subject))
            .body(body.build())
            .build();
        let result = self
            .sesv2
            .send_email()
            .from_email_address(email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.to_vec()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(_) => SendOutcome::Delivered,
            Err(error) => classify(&error),
        }
    }
}

/// What a failed `SendEmail` came to.
fn classify(error: &SdkError<SendEmailError, HttpResponse>) -> SendOutcome {
    let described = error.describe("SendEmail");
    let reason = format!("{}: {}", described.code, described.message);
    match described.code.as_str() {
        "TooManyRequestsException"
        | "LimitExceededException"
        | "Throttling"
        | "ThrottlingException" => SendOutcome::Throttled {
            retry_after_ms: None,
        },
        // The account cannot send for now: nothing was sent; retried later.
        "AccountSuspendedException" | "SendingPausedException" => SendOutcome::Transient(reason),
        // No answer after the request left: SES may have sent it.
        "Timeout" | "ResponseError" => SendOutcome::Unknown(reason),
        "DispatchFailure" if refused_connection(error) => SendOutcome::Transient(reason),
        "DispatchFailure" => SendOutcome::Unknown(reason),
        "ConstructionFailure" => SendOutcome::Transient(reason),
        _ => match described.status {
            Some(status) if status >= 500 => SendOutcome::Transient(reason),
            // MessageRejected, MailFromDomainNotVerifiedException, BadRequestException, …
            _ => SendOutcome::Rejected(reason),
        },
    }
}

/// Whether the connection was refused (or the host unknown): the request never left.
fn refused_connection(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            );
        }
        source = cause.source();
    }
    false
}
