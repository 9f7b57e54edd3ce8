//! The planning-queue message: which run to plan (sent when the run is created, when a
//! planner runs out of time, and by the sweeper for a run stuck mid-plan).

use serde::{Deserialize, Serialize};

use super::run::RunId;
use crate::CampaignId;

/// One run to plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJob {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Its run.
    pub run_id: RunId,
}

/// The message body is not a plan job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a delivery planning message: {0}")]
pub struct MalformedPlanJob(String);

impl PlanJob {
    /// Reads a message body, checking the ids.
    pub fn parse(body: &str) -> Result<Self, MalformedPlanJob> {
        let job: Self =
            serde_json::from_str(body).map_err(|error| MalformedPlanJob(error.to_string()))?;
        if !job.campaign_id.is_well_formed() || !job.run_id.is_well_formed() {
            return Err(MalformedPlanJob("campaignId or runId is malformed".into()));
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

    #[test]
    fn round_trips_and_refuses_malformed_ids() {
        let job = PlanJob {
            campaign_id: CampaignId::new("c1"),
            run_id: RunId::new("20261202T090000000Z"),
        };
        assert_eq!(PlanJob::parse(&job.to_body()).unwrap(), job);
        assert!(PlanJob::parse(r#"{"campaignId":"c 1","runId":"20261202T090000000Z"}"#).is_err());
        assert!(PlanJob::parse(r#"{"campaignId":"c1","runId":"now"}"#).is_err());
        assert!(PlanJob::parse("[]").is_err());
    }
}
