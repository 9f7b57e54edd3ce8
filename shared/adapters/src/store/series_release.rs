//! Releasing a series: its active run is over (its delivery done and, with `runDuration`,
//! its window closed), so the campaign's `activeRun` is cleared — or handed to the buffered
//! run, which starts in the same transaction (BUFFERED → PLANNING, its `CampaignRunStarted`
//! in the outbox, its window's end computed from now). Conditional on the series as read.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use lifecycle_domain::delivery::{RunId, RunStatus};
use lifecycle_domain::{Campaign, Timestamp};

use super::chain_timer::ChainNext;
use super::client::{Store, key, n, s};
use super::occurrences::series_version_guard;
use super::{StoreError, keys};

/// The writes of a release and what they start.
#[derive(Debug, Clone)]
pub(super) struct Release {
    /// The campaign's series (and the started run's start), to add to the transaction.
    pub writes: Vec<TransactWriteItem>,
    /// The buffered run started (PLANNING now): queue it for planning.
    pub started: Option<RunId>,
    /// Its window, for a series with `runDuration`: arm the RUN_CLOSE timer for it.
    pub window: Option<ChainNext>,
}

impl Store {
    /// The writes by which `run`, the active run of `read`'s series, releases it at `now`.
    pub(super) fn release_series(
        &self,
        read: &Campaign,
        run: &RunId,
        now: Timestamp,
    ) -> Result<Release, StoreError> {
        let next_version = read.series_progress.series_version + 1;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(&read.id), keys::CAMPAIGN_SK)))
            .expression_attribute_names("#activeRun", "activeRun")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":run", s(run.as_str()))
            .expression_attribute_values(":nextVersion", n(next_version))
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        let (update, version_guard) =
            series_version_guard(update, read.series_progress.series_version);
        let mut writes = Vec::new();
        let buffered = read.series_progress.buffered_run.clone();
        let closes_at = read
            .schedule
            .as_ref()
            .and_then(|series| series.run_closes_at(now, read.end_at));
        let update = match &buffered {
            Some(buffered) => {
                writes.extend(self.start_waiting_run(
                    &read.id,
                    buffered,
                    RunStatus::Buffered,
                    now,
                    closes_at,
                )?);
                update
                    .update_expression(
                        "SET #activeRun = :buffered, #seriesVersion = :nextVersion, \
                         #updatedAt = :now REMOVE #bufferedRun",
                    )
                    .expression_attribute_names("#bufferedRun", "bufferedRun")
                    .expression_attribute_values(":buffered", s(buffered.as_str()))
            }
            None => update.update_expression(
                "SET #seriesVersion = :nextVersion, #updatedAt = :now REMOVE #activeRun",
            ),
        };
        let update = update
            .condition_expression(format!("#activeRun = :run AND {version_guard}"))
            .build()?;
        writes.insert(0, TransactWriteItem::builder().update(update).build());
        let window = buffered.as_ref().zip(closes_at).map(|(run, at)| ChainNext {
            at,
            run: run.clone(),
        });
        Ok(Release {
            writes,
            started: buffered,
            window,
        })
    }
}
