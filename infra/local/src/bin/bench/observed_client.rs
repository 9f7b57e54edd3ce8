//! An SDK HTTP client that shows each request and its answer to an [`Observer`] on the way
//! back: how the bench's meter and request timer see what the functions send, unchanged.

use std::time::{Duration, Instant};

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;

/// One request and its answer.
pub(crate) struct Exchange<'a> {
    /// Its `x-amz-target` header (`DynamoDB_20120810.Query`, `AmazonSQS.ReceiveMessage`, …).
    pub(crate) target: &'a str,
    pub(crate) request: &'a [u8],
    pub(crate) status: u16,
    pub(crate) answer: &'a [u8],
    /// From sending the request to the last byte of its answer.
    pub(crate) elapsed: Duration,
}

/// What is shown the requests of a client built by [`sdk_config`].
pub(crate) trait Observer: std::fmt::Debug + Clone + Send + Sync + 'static {
    /// Whether requests with this `x-amz-target` are shown (the others pass untouched).
    fn observes(&self, target: &str) -> bool;
    /// Sees one request and its answer.
    fn observe(&self, exchange: &Exchange<'_>);
}

/// `base` with an HTTP client whose requests `observer` sees.
pub(crate) fn sdk_config<O: Observer>(
    base: &aws_config::SdkConfig,
    observer: O,
) -> aws_config::SdkConfig {
    let inner = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    base.to_builder()
        .http_client(Observed { inner, observer })
        .build()
}

#[derive(Debug)]
struct Observed<O> {
    inner: SharedHttpClient,
    observer: O,
}

impl<O: Observer> HttpClient for Observed<O> {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ObservedConnector {
            inner: self.inner.http_connector(settings, components),
            observer: self.observer.clone(),
        })
    }
}

#[derive(Debug)]
struct ObservedConnector<O> {
    inner: SharedHttpConnector,
    observer: O,
}

impl<O: Observer> HttpConnector for ObservedConnector<O> {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request
            .headers()
            .get("x-amz-target")
            .filter(|target| self.observer.observes(target))
            .map(str::to_owned);
        let Some(target) = target else {
            return self.inner.call(request);
        };
        let body = request
            .body()
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let (inner, observer) = (self.inner.clone(), self.observer.clone());
        HttpConnectorFuture::new(async move {
            let sent = Instant::now();
            let mut response = inner.call(request).await?;
            let answer = response
                .take_body()
                .collect()
                .await
                .map_err(ConnectorError::io)?
                .to_bytes();
            observer.observe(&Exchange {
                target: &target,
                request: &body,
                status: response.status().as_u16(),
                answer: &answer,
                elapsed: sent.elapsed(),
            });
            *response.body_mut() = SdkBody::from(answer);
            Ok(response)
        })
    }
}
