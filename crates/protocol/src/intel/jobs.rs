//! Result keys and follow-up handles of Sova Intel jobs (§5.11, §6). Data only: no I/O.
//!
//! | Job | Result key |
//! |---|---|
//! | holders | `holder-profiles:result:{jobId}` |
//! | holders/agent | `holder-profiles:agent:result:{jobId}` |
//! | similarity | `similarity:result:{requestId}` |
//! | similarity/agent | `similarity:agent:result:{requestId}` |
//! | deep | `holder-profiles:result:{holderProfiles.jobId}` and `similarity.resultKey` |
//!
//! Server-returned keys (`resultKey`, `agentResultKey`) are preferred; keys are built only
//! when the server did not send one. The handles are the crate-wide resumable
//! [`JobHandle`](crate::jobs::JobHandle) that [`crate::jobs::Poller`] drives.

use super::endpoints::{JobStatusRequest, WalletHudRequest, WalletProfileRequest};
use super::types::{
    BatchHudQueuedEntry, DeepJobAccepted, HolderProfilesAgentJobAccepted, JobAccepted,
    SimilarityAgentJobAccepted, WalletQueued,
};
use crate::jobs::{FollowUp, JobHandle};

/// Which stored result a POST job produces; fixes the key format and the result type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobKind {
    /// Full holder profiles ([`HolderProfilesResult`](super::HolderProfilesResult)), keyed by
    /// `jobId`.
    HolderProfiles,
    /// Agent holder profiles ([`AgentHolderProfilesResult`](super::AgentHolderProfilesResult)),
    /// keyed by `jobId`.
    HolderProfilesAgent,
    /// Full similarity ([`SimilarityResult`](super::SimilarityResult)), keyed by `requestId`.
    Similarity,
    /// Agent similarity ([`AgentSimilarityResult`](super::AgentSimilarityResult)), keyed by
    /// `requestId`.
    SimilarityAgent,
}

impl JobKind {
    /// The key prefix, up to and including the last `:`.
    pub fn key_prefix(self) -> &'static str {
        match self {
            JobKind::HolderProfiles => "holder-profiles:result:",
            JobKind::HolderProfilesAgent => "holder-profiles:agent:result:",
            JobKind::Similarity => "similarity:result:",
            JobKind::SimilarityAgent => "similarity:agent:result:",
        }
    }

    /// Whether the key is built from the `requestId` (similarity) rather than the `jobId`
    /// (holder profiles).
    pub fn keyed_by_request_id(self) -> bool {
        matches!(self, JobKind::Similarity | JobKind::SimilarityAgent)
    }

    /// Builds the result key from the ids of the 202, picking the right one.
    ///
    /// ```
    /// use sova_protocol::intel::JobKind;
    /// assert_eq!(JobKind::HolderProfiles.result_key("job-1", "req-1"), "holder-profiles:result:job-1");
    /// assert_eq!(JobKind::Similarity.result_key("job-1", "req-1"), "similarity:result:req-1");
    /// ```
    pub fn result_key(self, job_id: &str, request_id: &str) -> String {
        let id = if self.keyed_by_request_id() {
            request_id
        } else {
            job_id
        };
        format!("{}{id}", self.key_prefix())
    }
}

fn key_or_build(server: Option<&String>, kind: JobKind, job_id: &str, request_id: &str) -> String {
    match server {
        Some(k) if !k.trim().is_empty() => k.clone(),
        _ => kind.result_key(job_id, request_id),
    }
}

fn fetch(job_id: &str, result_key: String) -> JobHandle {
    JobHandle {
        job_id: Some(job_id.to_owned()),
        follow_up: FollowUp::FetchResult { result_key },
        also: Vec::new(),
        queued_at_unix: None,
        origin: None,
        payment: None,
    }
}

impl JobAccepted {
    /// The result key of a holders job: `holder-profiles:result:{jobId}`.
    pub fn holder_profiles_result_key(&self) -> String {
        key_or_build(
            self.result_key.as_ref(),
            JobKind::HolderProfiles,
            &self.job_id,
            &self.request_id,
        )
    }

    /// The result key of a similarity job: `similarity:result:{requestId}`.
    pub fn similarity_result_key(&self) -> String {
        key_or_build(
            self.result_key.as_ref(),
            JobKind::Similarity,
            &self.job_id,
            &self.request_id,
        )
    }

    /// The follow-up of `POST /intel/token/{mint}/holders`: poll `jobId`, fetch
    /// [`JobAccepted::holder_profiles_result_key`].
    pub fn holder_profiles_handle(&self) -> JobHandle {
        fetch(&self.job_id, self.holder_profiles_result_key())
    }

    /// The follow-up of `POST /intel/wallets/similarity`: poll `jobId`, fetch
    /// [`JobAccepted::similarity_result_key`].
    pub fn similarity_handle(&self) -> JobHandle {
        fetch(&self.job_id, self.similarity_result_key())
    }

    /// The status request to poll.
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.job_id.clone())
    }
}

impl HolderProfilesAgentJobAccepted {
    /// The compact result's key: `agentResultKey`, else `holder-profiles:agent:result:{jobId}`.
    pub fn agent_result_key(&self) -> String {
        key_or_build(
            self.agent_result_key.as_ref(),
            JobKind::HolderProfilesAgent,
            &self.job_id,
            &self.request_id,
        )
    }

    /// The full result's key: `resultKey`, else `holder-profiles:result:{jobId}`.
    pub fn full_result_key(&self) -> String {
        key_or_build(
            self.result_key.as_ref(),
            JobKind::HolderProfiles,
            &self.job_id,
            &self.request_id,
        )
    }

    /// The follow-up for the compact (agent) result.
    pub fn handle(&self) -> JobHandle {
        fetch(&self.job_id, self.agent_result_key())
    }

    /// The follow-up for the full result, stored by the same job.
    pub fn full_result_handle(&self) -> JobHandle {
        fetch(&self.job_id, self.full_result_key())
    }

    /// The status request to poll.
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.job_id.clone())
    }
}

impl SimilarityAgentJobAccepted {
    /// The compact result's key: `agentResultKey`, else `similarity:agent:result:{requestId}`.
    pub fn agent_result_key(&self) -> String {
        key_or_build(
            self.agent_result_key.as_ref(),
            JobKind::SimilarityAgent,
            &self.job_id,
            &self.request_id,
        )
    }

    /// The full result's key: `resultKey`, else `similarity:result:{requestId}`.
    pub fn full_result_key(&self) -> String {
        key_or_build(
            self.result_key.as_ref(),
            JobKind::Similarity,
            &self.job_id,
            &self.request_id,
        )
    }

    /// The follow-up for the compact (agent) result.
    pub fn handle(&self) -> JobHandle {
        fetch(&self.job_id, self.agent_result_key())
    }

    /// The follow-up for the full result, stored by the same job.
    pub fn full_result_handle(&self) -> JobHandle {
        fetch(&self.job_id, self.full_result_key())
    }

    /// The status request to poll.
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.job_id.clone())
    }
}

impl DeepJobAccepted {
    /// The holder-profiles key: `holder-profiles:result:{holderProfiles.jobId}`.
    pub fn holder_profiles_result_key(&self) -> String {
        let hp = &self.holder_profiles;
        JobKind::HolderProfiles.result_key(&hp.job_id, hp.request_id.as_deref().unwrap_or_default())
    }

    /// The similarity key: `similarity.resultKey`, else
    /// `similarity:result:{similarity.requestId}`.
    pub fn similarity_result_key(&self) -> String {
        let s = &self.similarity;
        key_or_build(
            s.result_key.as_ref(),
            JobKind::Similarity,
            s.job_id.as_deref().unwrap_or_default(),
            &s.request_id,
        )
    }

    /// The holder-profiles half alone: poll `holderProfiles.jobId`, then fetch
    /// [`DeepJobAccepted::holder_profiles_result_key`].
    pub fn holder_profiles_handle(&self) -> JobHandle {
        fetch(
            &self.holder_profiles.job_id,
            self.holder_profiles_result_key(),
        )
    }

    /// The whole bundle: poll the **holder** job (the similarity job does not exist yet and
    /// `similarity.jobId` is `null`), then poll the similarity key while it answers 404
    /// ([`FollowUp::PollResultKey`]); the holder result key is in `also`.
    pub fn handle(&self) -> JobHandle {
        JobHandle {
            job_id: Some(self.holder_profiles.job_id.clone()),
            follow_up: FollowUp::PollResultKey {
                result_key: self.similarity_result_key(),
            },
            also: vec![self.holder_profiles_result_key()],
            queued_at_unix: None,
            origin: None,
            payment: None,
        }
    }

    /// The status request to poll first (the holder job).
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.holder_profiles.job_id.clone())
    }
}

impl WalletQueued {
    /// The status request to poll before calling the GET again with `X-Prepaid-Job-Id`.
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.job_id.clone())
    }
}

impl BatchHudQueuedEntry {
    /// The status request to poll before calling batch-hud again.
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.job_id.clone())
    }
}

fn prepaid_recall(endpoint: &str, address: &str, queued: &WalletQueued) -> JobHandle {
    JobHandle {
        job_id: Some(queued.job_id.clone()),
        follow_up: FollowUp::PrepaidRecall {
            endpoint: endpoint.to_owned(),
            address: address.to_owned(),
            prepaid_job_id: queued.prepaid_id().to_owned(),
        },
        also: Vec::new(),
        queued_at_unix: None,
        origin: None,
        payment: None,
    }
}

impl WalletProfileRequest {
    /// The follow-up of a 202: poll `jobId`, then call again with `X-Prepaid-Job-Id`.
    pub fn follow_up(&self, queued: &WalletQueued) -> JobHandle {
        prepaid_recall("wallet_profile", &self.address, queued)
    }

    /// The re-call after the job completed (`prepaidJobId`, else `jobId`).
    pub fn recall(&self, queued: &WalletQueued) -> Self {
        self.clone().prepaid_job_id(queued.prepaid_id())
    }
}

impl WalletHudRequest {
    /// The follow-up of a 202: poll `jobId`, then call again with `X-Prepaid-Job-Id`.
    pub fn follow_up(&self, queued: &WalletQueued) -> JobHandle {
        prepaid_recall("wallet_hud", &self.address, queued)
    }

    /// The re-call after the job completed (`prepaidJobId`, else `jobId`).
    pub fn recall(&self, queued: &WalletQueued) -> Self {
        self.clone().prepaid_job_id(queued.prepaid_id())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::Endpoint;
    use crate::intel::{DeepHolderProfilesJob, DeepSimilarityJob, JobStatus, ResultByKeyRequest};
    use crate::jobs::JobState;

    fn accepted(result_key: Option<&str>) -> JobAccepted {
        JobAccepted {
            status: "queued".into(),
            job_id: "job-1".into(),
            request_id: "req-1".into(),
            monitoring_url: Some("/api/v1/jobs/job-1".into()),
            result_key: result_key.map(str::to_owned),
            extra: Map::new(),
        }
    }

    fn key(h: &JobHandle) -> &str {
        match &h.follow_up {
            FollowUp::FetchResult { result_key } | FollowUp::PollResultKey { result_key } => {
                result_key
            }
            other => panic!("no result key in {other:?}"),
        }
    }

    #[test]
    fn keys_use_the_documented_id() {
        assert_eq!(
            JobKind::HolderProfiles.result_key("j", "r"),
            "holder-profiles:result:j"
        );
        assert_eq!(
            JobKind::HolderProfilesAgent.result_key("j", "r"),
            "holder-profiles:agent:result:j"
        );
        assert_eq!(
            JobKind::Similarity.result_key("j", "r"),
            "similarity:result:r"
        );
        assert_eq!(
            JobKind::SimilarityAgent.result_key("j", "r"),
            "similarity:agent:result:r"
        );
    }

    #[test]
    fn job_accepted_handles() {
        let a = accepted(None);
        let h = a.holder_profiles_handle();
        assert_eq!(h.job_id.as_deref(), Some("job-1"));
        assert_eq!(key(&h), "holder-profiles:result:job-1");
        assert!(h.also.is_empty());
        let s = a.similarity_handle();
        assert_eq!(key(&s), "similarity:result:req-1");
        assert_eq!(a.status_request().job_id, "job-1");
        // A server-sent key wins; a blank one does not.
        assert_eq!(
            accepted(Some("custom:key")).holder_profiles_result_key(),
            "custom:key"
        );
        assert_eq!(
            accepted(Some(" ")).similarity_result_key(),
            "similarity:result:req-1"
        );
        // The handle survives the crate-wide encoding.
        assert_eq!(JobHandle::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn agent_handles_fall_back_to_built_keys() {
        let a: HolderProfilesAgentJobAccepted =
            serde_json::from_value(json!({"status":"queued","jobId":"j","requestId":"r"})).unwrap();
        assert_eq!(key(&a.handle()), "holder-profiles:agent:result:j");
        assert_eq!(key(&a.full_result_handle()), "holder-profiles:result:j");
        let s: SimilarityAgentJobAccepted = serde_json::from_value(json!({
            "status": "queued", "jobId": "j", "requestId": "r",
            "agentResultKey": "similarity:agent:result:SERVER"
        }))
        .unwrap();
        assert_eq!(key(&s.handle()), "similarity:agent:result:SERVER");
        assert_eq!(s.full_result_key(), "similarity:result:r");
        assert_eq!(s.status_request().job_id, "j");
    }

    #[test]
    fn deep_without_result_key_builds_from_request_id() {
        let d = DeepJobAccepted {
            status: "queued".into(),
            token_mint: None,
            top_n: None,
            message: None,
            holder_profiles: DeepHolderProfilesJob {
                job_id: "hp".into(),
                request_id: None,
                monitoring_url: None,
                extra: Map::new(),
            },
            similarity: DeepSimilarityJob {
                job_id: None,
                request_id: "sr".into(),
                result_key: None,
                message: None,
                extra: Map::new(),
            },
            extra: Map::new(),
        };
        assert_eq!(
            key(&d.holder_profiles_handle()),
            "holder-profiles:result:hp"
        );
        let h = d.handle();
        assert_eq!(h.job_id.as_deref(), Some("hp"));
        assert_eq!(
            h.follow_up,
            FollowUp::PollResultKey {
                result_key: "similarity:result:sr".into()
            }
        );
        assert_eq!(h.also, vec!["holder-profiles:result:hp".to_owned()]);
        assert_eq!(d.status_request().job_id, "hp");
    }

    #[test]
    fn get_fallback_follow_up_and_recall() {
        const WALLET: &str = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
        let q: WalletQueued =
            serde_json::from_value(json!({"status":"queued","jobId":"j-1","message":"queued"}))
                .unwrap();
        let req = WalletHudRequest::new(WALLET);
        let h = req.follow_up(&q);
        assert_eq!(h.job_id.as_deref(), Some("j-1"));
        assert_eq!(
            h.follow_up,
            FollowUp::PrepaidRecall {
                endpoint: "wallet_hud".into(),
                address: WALLET.into(),
                prepaid_job_id: "j-1".into(),
            }
        );
        assert!(ResultByKeyRequest::<serde_json::Value>::for_handle(&h).is_none());
        // Without prepaidJobId the jobId is sent back.
        assert_eq!(req.recall(&q).prepaid_job_id.as_deref(), Some("j-1"));
        let q: WalletQueued = serde_json::from_value(
            json!({"status":"queued","jobId":"j-1","prepaidJobId":"p-1","message":"queued"}),
        )
        .unwrap();
        let profile = WalletProfileRequest::new(WALLET);
        assert!(matches!(profile.follow_up(&q).follow_up,
            FollowUp::PrepaidRecall { ref endpoint, ref prepaid_job_id, .. } if endpoint == "wallet_profile" && prepaid_job_id == "p-1"));
        assert_eq!(profile.recall(&q).name(), "intel.wallet_profile");
        assert_eq!(profile.recall(&q).prepaid_job_id.as_deref(), Some("p-1"));
    }

    #[test]
    fn job_status_maps_to_the_poll_state() {
        let st = |v| serde_json::from_value::<JobStatus>(v).unwrap().state();
        assert_eq!(
            st(json!({"status":"completed","progress":100})),
            JobState::Completed
        );
        assert_eq!(
            st(json!({"status":"active","progress":5})),
            JobState::Pending
        );
        assert_eq!(st(json!({"status":"paused"})), JobState::Pending);
        assert_eq!(st(json!({"status":"waiting-children"})), JobState::Pending);
        assert_eq!(
            st(json!({"status":"failed","error":"RPC timeout"})),
            JobState::Failed(Some("RPC timeout".into()))
        );
        assert_eq!(st(json!({"status":"failed"})), JobState::Failed(None));
        assert_eq!(
            st(json!({"status":"error","failedReason":"x"})),
            JobState::Failed(Some("x".into()))
        );
    }
}
