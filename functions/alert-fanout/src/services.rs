//! The fan-out's ports over AWS: alert states and the stored configuration in DynamoDB
//! (through the store), the channels' shared breakers, and the four channels. The
//! configuration in force is the stored one, else the environment's
//! ([`FanoutSettings`]); an instance reads it at most every `ALERT_CONFIG_REFRESH_SECONDS`.

use lifecycle_domain::recovery_log::{Counts, RecoveryEvent};
use std::sync::Mutex;
use std::time::Instant;

use lifecycle_adapters::alerting::{AlertChannels, FanoutSettings, SlackClient, SnsPublisher};
use lifecycle_adapters::aws::{AwsClients, TimerQueue};
use lifecycle_adapters::config::ConfigError;
use lifecycle_adapters::delivery::queue_messages::{DeadLetters, send_to_dlq};
use lifecycle_adapters::delivery::{
    EmailSender, OutboundHttp, SigningSecrets, WebhookClient, WebhookSettings,
};
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{PendingNotification, StoredAlertState};
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::{
    AlertChannel, AlertConfig, Decision, NoiseSettings, Notification,
};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_resilience::{Admission, Dependency, ErrorClass, SERVER_ERROR, THROTTLED, TIMEOUT};

use crate::ports::{AlertPorts, PortError};

/// What the fan-out function runs on.
pub struct FanoutServices {
    /// The store, the bus and the resilience layer.
    pub services: Services,
    /// The environment's settings.
    pub settings: FanoutSettings,
    channels: AlertChannels,
    /// The alerts' DLQ (its URL `settings.dlq_url`, when set).
    dead_letters: TimerQueue,
    /// The configuration in force and when it was read.
    config: Mutex<Option<(Instant, AlertConfig)>>,
}

impl FanoutServices {
    /// Builds the fan-out over `clients`.
    pub fn new(services: Services, settings: FanoutSettings, clients: &AwsClients) -> Self {
        let delivery = &clients.delivery;
        let resilience = services.resilience.clone();
        let secrets = SigningSecrets::new(
            delivery.ssm.clone(),
            delivery.secretsmanager.clone(),
            resilience.clone(),
        );
        let webhook_settings = WebhookSettings {
            timeout: settings.http_timeout,
            ..WebhookSettings::default()
        };
        // One HTTP client for the webhook and Slack channels, built on the first post (one
        // TLS root store loaded, and none by an invocation that posts nothing).
        let http = OutboundHttp::new(webhook_settings);
        let webhooks = WebhookClient::with_http(http.clone(), secrets.clone());
        let channels = AlertChannels {
            email: EmailSender::new(delivery.sesv2.clone()),
            slack: SlackClient::new(http, secrets, services.store.clone()),
            webhooks,
            sns: SnsPublisher::new(clients.sns.clone()),
        };
        Self {
            dead_letters: TimerQueue::new(
                clients.sqs.clone(),
                settings.dlq_url.clone().unwrap_or_default(),
            )
            .with_resilience(resilience),
            channels,
            settings,
            services,
            config: Mutex::default(),
        }
    }

    /// Reads the environment and loads the AWS clients (cold start).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = FanoutSettings::from_lookup(|name| std::env::var(name).ok())?;
        let (services, clients) = Services::from_env_with_clients().await?;
        Ok(Self::new(services, settings, &clients))
    }

    fn breaker(&self, channel: AlertChannel) -> Option<&lifecycle_resilience::CircuitBreaker> {
        self.services.resilience.breaker(dependency(channel))
    }
}

/// The breaker of each channel.
pub fn dependency(channel: AlertChannel) -> Dependency {
    match channel {
        AlertChannel::Email => Dependency::AlertEmail,
        AlertChannel::Slack => Dependency::AlertSlack,
        AlertChannel::Webhook => Dependency::AlertWebhook,
        AlertChannel::Sns => Dependency::AlertSns,
    }
}

/// The error class a failed send counts as for its channel's breaker (`None`: the channel
/// is healthy — it delivered, or refused this notification for a reason of its own).
pub fn failure_class(outcome: &SendOutcome) -> Option<ErrorClass> {
    match outcome {
        SendOutcome::Delivered | SendOutcome::Rejected(_) => None,
        SendOutcome::Throttled { .. } => Some(THROTTLED),
        SendOutcome::Transient(_) => Some(SERVER_ERROR),
        SendOutcome::Unknown(_) => Some(TIMEOUT),
    }
}

fn port(error: impl std::fmt::Display) -> PortError {
    error.to_string()
}

impl AlertPorts for FanoutServices {
    async fn config(&self) -> Result<AlertConfig, PortError> {
        if let Some((read_at, config)) = &*self.config.lock().expect("alert config")
            && read_at.elapsed() < self.settings.config_refresh
        {
            return Ok(config.clone());
        }
        let config = match self.services.store.alert_config().await.map_err(port)? {
            None => self.settings.default_config.clone(),
            Some(Ok(config)) => config,
            Some(Err(invalid)) => {
                tracing::error!(
                    code = "ALERT_CONFIG_INVALID",
                    error = %invalid,
                    "the stored alert configuration is invalid; the environment's applies"
                );
                self.settings.default_config.clone()
            }
        };
        *self.config.lock().expect("alert config") = Some((Instant::now(), config.clone()));
        Ok(config)
    }

    async fn file_recovery(&self, entry: &RecoveryEvent, counts: &Counts) -> Result<(), PortError> {
        self.services
            .store
            .record_recovery(std::slice::from_ref(entry), counts, entry.at)
            .await
            .map(|_filed_now_or_before| ())
            .map_err(port)
    }

    async fn state(&self, cause: &str) -> Result<Option<StoredAlertState>, PortError> {
        self.services.store.alert_state(cause).await.map_err(port)
    }

    async fn store_decision(
        &self,
        read: Option<&StoredAlertState>,
        decision: &Decision,
        channels: &[AlertChannel],
        settings: NoiseSettings,
        now: Timestamp,
    ) -> Result<Option<StoredAlertState>, PortError> {
        self.services
            .store
            .store_alert_decision(read, decision, channels, settings, now)
            .await
            .map_err(port)
    }

    async fn settle(&self, cause: &str, sent: &PendingNotification) -> Result<bool, PortError> {
        self.services
            .store
            .settle_notification(cause, sent)
            .await
            .map_err(port)
    }

    async fn claim(
        &self,
        cause: &str,
        entry: &PendingNotification,
        until: Timestamp,
    ) -> Result<bool, PortError> {
        self.services
            .store
            .claim_notification(cause, entry, until)
            .await
            .map_err(port)
    }

    async fn defer(
        &self,
        cause: &str,
        failed: &PendingNotification,
        stored_check_at: Option<Timestamp>,
    ) -> Result<bool, PortError> {
        self.services
            .store
            .defer_notification(cause, failed, stored_check_at)
            .await
            .map_err(port)
    }

    async fn due_states(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredAlertState>, PortError> {
        self.services
            .store
            .due_alert_states(now, limit)
            .await
            .map_err(port)
    }

    async fn reschedule(
        &self,
        read: &StoredAlertState,
        settings: NoiseSettings,
    ) -> Result<bool, PortError> {
        self.services
            .store
            .reschedule_alert_check(read, settings)
            .await
            .map_err(port)
    }

    async fn admit(&self, channel: AlertChannel, now: Timestamp) -> Admission {
        match self.breaker(channel) {
            Some(breaker) => breaker.admit(now).await,
            None => Admission::Allowed,
        }
    }

    async fn record(
        &self,
        channel: AlertChannel,
        admission: &Admission,
        outcome: &SendOutcome,
        now: Timestamp,
    ) {
        if let Some(breaker) = self.breaker(channel) {
            breaker
                .record(admission, failure_class(outcome).as_ref(), now)
                .await;
        }
    }

    async fn send(
        &self,
        channel: AlertChannel,
        config: &AlertConfig,
        notification: &Notification,
        now: Timestamp,
    ) -> SendOutcome {
        self.channels.send(channel, config, notification, now).await
    }
}

impl DeadLetters for FanoutServices {
    async fn dead_letter(&self, body: &str, problem: &str, now: Timestamp) -> Result<bool, String> {
        send_to_dlq(
            &self.dead_letters,
            self.settings.dlq_url.as_deref(),
            body,
            problem,
            now,
        )
        .await
    }
}
