//! The deliveries-queue message: which batch of which run to send. The planner writes it;
//! the sender reads it (a message that does not parse is dead-lettered, never retried).

use serde::{Deserialize, Serialize};

use super::batch_plan::PlannedBatch;
use super::run::RunId;
use crate::CampaignId;

/// One batch to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchJob {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Its run.
    pub run_id: RunId,
    /// The batch: rows and byte range of the run's list.
    pub batch: PlannedBatch,
}

/// The message body is not a batch job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a delivery batch message: {0}")]
pub struct MalformedJob(String);

impl BatchJob {
    /// Reads a message body, checking the ids and the batch's shape.
    pub fn parse(body: &str) -> Result<Self, MalformedJob> {
        let job: Self =
            serde_json::from_str(body).map_err(|error| MalformedJob(error.to_string()))?;
        if !job.campaign_id.is_well_formed() {
            return Err(MalformedJob("campaignId is not a campaign id".into()));
        }
        if !job.run_id.is_well_formed() {
            return Err(MalformedJob("runId is not a run id".into()));
        }
        if job.batch.rows == 0 || job.batch.end_byte <= job.batch.start_byte {
            return Err(MalformedJob("the batch holds no rows".into()));
        }
        Ok(job)
    }

    /// The message body.
    pub fn to_body(&self) -> String {
        serde_json::json!(self).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> BatchJob {
        BatchJob {
            campaign_id: CampaignId::new("c-1"),
            run_id: RunId::new("20261202T090000000Z"),
            batch: PlannedBatch {
                seq: 3,
                first_row: 150,
                rows: 50,
                start_byte: 7000,
                end_byte: 9400,
            },
        }
    }

    #[test]
    fn round_trips() {
        let body = job().to_body();
        assert!(body.contains("\"firstRow\":150"), "{body}");
        assert_eq!(BatchJob::parse(&body).unwrap(), job());
    }

    #[test]
    fn refuses_what_is_not_a_batch() {
        assert!(BatchJob::parse("{}").is_err());
        assert!(BatchJob::parse("not json").is_err());
        let mut bad = job();
        bad.campaign_id = CampaignId::new("c/1");
        assert!(BatchJob::parse(&bad.to_body()).is_err());
        let mut bad = job();
        bad.run_id = RunId::new("yesterday");
        assert!(BatchJob::parse(&bad.to_body()).is_err());
        let mut bad = job();
        bad.batch.rows = 0;
        assert!(BatchJob::parse(&bad.to_body()).is_err());
        let mut bad = job();
        bad.batch.end_byte = bad.batch.start_byte;
        assert!(BatchJob::parse(&bad.to_body()).is_err());
    }
}
