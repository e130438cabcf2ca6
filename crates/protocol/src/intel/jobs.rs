//! Result keys and follow-up handles of the POST jobs (§5.11, §6.2). Data only: no I/O.
//!
//! | Job | Result key |
//! |---|---|
//! | holders | `holder-profiles:result:{jobId}` |
//! | holders/agent | `holder-profiles:agent:result:{jobId}` |
//! | similarity | `similarity:result:{requestId}` |
//! | similarity/agent | `similarity:agent:result:{requestId}` |
//! | deep | both of holders and similarity (the similarity key as returned) |
//!
//! Server-returned keys (`resultKey`, `agentResultKey`) are preferred; keys are built only
//! when the server did not send one.

use serde::{Deserialize, Serialize};

use super::endpoints::{JobStatusRequest, ResultByKeyRequest};
use super::types::{
    BatchHudQueuedEntry, DeepJobAccepted, HolderProfilesAgentJobAccepted, JobAccepted, SimilarityAgentJobAccepted,
    WalletQueued,
};

/// Which stored result a job produces. The variant fixes the key format and the result type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobKind {
    /// Full holder profiles ([`HolderProfilesResult`](super::HolderProfilesResult)), keyed by `jobId`.
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
        let id = if self.keyed_by_request_id() { request_id } else { job_id };
        format!("{}{id}", self.key_prefix())
    }
}

/// What to do after a POST job was accepted: poll [`JobHandle::job_id`], then fetch
/// [`JobHandle::result_key`] within 15 minutes. Serializable, so a caller whose polling budget
/// ran out can store it and resume later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobHandle {
    /// Which result the key holds.
    pub kind: JobKind,
    /// The job to poll with `GET /jobs/{jobId}` until it is `completed`.
    pub job_id: String,
    /// The key to fetch with `GET /jobs/result/by-key` afterwards.
    pub result_key: String,
    /// Host-relative status URL, when the server gave one.
    #[serde(default)]
    pub monitoring_url: Option<String>,
    /// The result is produced by a follow-up job that starts only when `job_id` completes
    /// (the similarity half of a deep bundle): after completion, keep polling the key while
    /// it answers 404 instead of treating 404 as "expired".
    #[serde(default)]
    pub result_follows_job: bool,
}

impl JobHandle {
    /// A handle for a job and an explicit key.
    pub fn new(kind: JobKind, job_id: impl Into<String>, result_key: impl Into<String>) -> Self {
        JobHandle {
            kind,
            job_id: job_id.into(),
            result_key: result_key.into(),
            monitoring_url: None,
            result_follows_job: false,
        }
    }

    /// The status request to poll.
    pub fn status_request(&self) -> JobStatusRequest {
        JobStatusRequest::new(self.job_id.clone())
    }

    /// The result request, decoded as `T` (the type matching [`JobHandle::kind`], or
    /// `serde_json::Value`).
    pub fn result_request<T>(&self) -> ResultByKeyRequest<T> {
        ResultByKeyRequest::new(self.result_key.clone())
    }

    fn with_monitoring_url(mut self, url: Option<&String>) -> Self {
        self.monitoring_url = url.cloned();
        self
    }
}

fn key_or_build(server: Option<&String>, kind: JobKind, job_id: &str, request_id: &str) -> String {
    match server {
        Some(k) if !k.trim().is_empty() => k.clone(),
        _ => kind.result_key(job_id, request_id),
    }
}

impl JobAccepted {
    /// The result key of a holders job: `holder-profiles:result:{jobId}`.
    pub fn holder_profiles_result_key(&self) -> String {
        key_or_build(self.result_key.as_ref(), JobKind::HolderProfiles, &self.job_id, &self.request_id)
    }

    /// The result key of a similarity job: `similarity:result:{requestId}`.
    pub fn similarity_result_key(&self) -> String {
        key_or_build(self.result_key.as_ref(), JobKind::Similarity, &self.job_id, &self.request_id)
    }

    /// The follow-up of `POST /intel/token/{mint}/holders`.
    pub fn holder_profiles_handle(&self) -> JobHandle {
        JobHandle::new(JobKind::HolderProfiles, self.job_id.clone(), self.holder_profiles_result_key())
            .with_monitoring_url(self.monitoring_url.as_ref())
    }

    /// The follow-up of `POST /intel/wallets/similarity`.
    pub fn similarity_handle(&self) -> JobHandle {
        JobHandle::new(JobKind::Similarity, self.job_id.clone(), self.similarity_result_key())
            .with_monitoring_url(self.monitoring_url.as_ref())
    }
}

impl HolderProfilesAgentJobAccepted {
    /// The compact result's key: `agentResultKey`, else `holder-profiles:agent:result:{jobId}`.
    pub fn agent_result_key(&self) -> String {
        key_or_build(self.agent_result_key.as_ref(), JobKind::HolderProfilesAgent, &self.job_id, &self.request_id)
    }

    /// The full result's key: `resultKey`, else `holder-profiles:result:{jobId}`.
    pub fn full_result_key(&self) -> String {
        key_or_build(self.result_key.as_ref(), JobKind::HolderProfiles, &self.job_id, &self.request_id)
    }

    /// The follow-up for the compact (agent) result.
    pub fn handle(&self) -> JobHandle {
        JobHandle::new(JobKind::HolderProfilesAgent, self.job_id.clone(), self.agent_result_key())
            .with_monitoring_url(self.monitoring_url.as_ref())
    }

    /// The follow-up for the full result, stored by the same job.
    pub fn full_result_handle(&self) -> JobHandle {
        JobHandle::new(JobKind::HolderProfiles, self.job_id.clone(), self.full_result_key())
            .with_monitoring_url(self.monitoring_url.as_ref())
    }
}

impl SimilarityAgentJobAccepted {
    /// The compact result's key: `agentResultKey`, else `similarity:agent:result:{requestId}`.
    pub fn agent_result_key(&self) -> String {
        key_or_build(self.agent_result_key.as_ref(), JobKind::SimilarityAgent, &self.job_id, &self.request_id)
    }

    /// The full result's key: `resultKey`, else `similarity:result:{requestId}`.
    pub fn full_result_key(&self) -> String {
        key_or_build(self.result_key.as_ref(), JobKind::Similarity, &self.job_id, &self.request_id)
    }

    /// The follow-up for the compact (agent) result.
    pub fn handle(&self) -> JobHandle {
        JobHandle::new(JobKind::SimilarityAgent, self.job_id.clone(), self.agent_result_key())
            .with_monitoring_url(self.monitoring_url.as_ref())
    }

    /// The follow-up for the full result, stored by the same job.
    pub fn full_result_handle(&self) -> JobHandle {
        JobHandle::new(JobKind::Similarity, self.job_id.clone(), self.full_result_key())
            .with_monitoring_url(self.monitoring_url.as_ref())
    }
}

impl DeepJobAccepted {
    /// The holder-profiles half: poll `holderProfiles.jobId`, then fetch
    /// `holder-profiles:result:{holderProfiles.jobId}`.
    pub fn holder_profiles_handle(&self) -> JobHandle {
        let hp = &self.holder_profiles;
        let key = JobKind::HolderProfiles.result_key(&hp.job_id, hp.request_id.as_deref().unwrap_or_default());
        JobHandle::new(JobKind::HolderProfiles, hp.job_id.clone(), key).with_monitoring_url(hp.monitoring_url.as_ref())
    }

    /// The similarity key: `similarity.resultKey`, else `similarity:result:{similarity.requestId}`.
    pub fn similarity_result_key(&self) -> String {
        let s = &self.similarity;
        key_or_build(s.result_key.as_ref(), JobKind::Similarity, s.job_id.as_deref().unwrap_or_default(), &s.request_id)
    }

    /// The similarity half: poll the **holder** job (the similarity job does not exist yet and
    /// `similarity.jobId` is `null`), then poll the similarity key while it answers 404
    /// ([`JobHandle::result_follows_job`] is set).
    pub fn similarity_handle(&self) -> JobHandle {
        let mut h = JobHandle::new(JobKind::Similarity, self.holder_profiles.job_id.clone(), self.similarity_result_key())
            .with_monitoring_url(self.holder_profiles.monitoring_url.as_ref());
        h.result_follows_job = true;
        h
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

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::intel::{DeepHolderProfilesJob, DeepSimilarityJob, HolderProfilesResult};

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

    #[test]
    fn keys_use_the_documented_id() {
        assert_eq!(JobKind::HolderProfiles.result_key("j", "r"), "holder-profiles:result:j");
        assert_eq!(JobKind::HolderProfilesAgent.result_key("j", "r"), "holder-profiles:agent:result:j");
        assert_eq!(JobKind::Similarity.result_key("j", "r"), "similarity:result:r");
        assert_eq!(JobKind::SimilarityAgent.result_key("j", "r"), "similarity:agent:result:r");
    }

    #[test]
    fn job_accepted_handles() {
        let a = accepted(None);
        let h = a.holder_profiles_handle();
        assert_eq!((h.job_id.as_str(), h.result_key.as_str()), ("job-1", "holder-profiles:result:job-1"));
        assert_eq!(h.monitoring_url.as_deref(), Some("/api/v1/jobs/job-1"));
        let s = a.similarity_handle();
        assert_eq!((s.job_id.as_str(), s.result_key.as_str()), ("job-1", "similarity:result:req-1"));
        assert_eq!(s.status_request().job_id, "job-1");
        let r = h.result_request::<HolderProfilesResult>();
        assert_eq!(r.key, "holder-profiles:result:job-1");
        // A server-sent key wins; a blank one does not.
        assert_eq!(accepted(Some("custom:key")).holder_profiles_result_key(), "custom:key");
        assert_eq!(accepted(Some(" ")).similarity_result_key(), "similarity:result:req-1");
    }

    #[test]
    fn agent_handles_fall_back_to_built_keys() {
        let a: HolderProfilesAgentJobAccepted =
            serde_json::from_value(json!({"status":"queued","jobId":"j","requestId":"r"})).unwrap();
        assert_eq!(a.handle().result_key, "holder-profiles:agent:result:j");
        assert_eq!(a.full_result_key(), "holder-profiles:result:j");
        let s: SimilarityAgentJobAccepted = serde_json::from_value(
            json!({"status":"queued","jobId":"j","requestId":"r","agentResultKey":"similarity:agent:result:SERVER"}),
        )
        .unwrap();
        assert_eq!(s.handle().result_key, "similarity:agent:result:SERVER");
        assert_eq!(s.handle().kind, JobKind::SimilarityAgent);
        assert_eq!(s.full_result_handle().result_key, "similarity:result:r");
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
        assert_eq!(d.holder_profiles_handle().result_key, "holder-profiles:result:hp");
        let s = d.similarity_handle();
        assert_eq!((s.job_id.as_str(), s.result_key.as_str()), ("hp", "similarity:result:sr"));
        assert!(s.result_follows_job);
    }

    #[test]
    fn handles_round_trip_as_json() {
        let h = accepted(None).similarity_handle();
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains(r#""kind":"similarity""#), "{text}");
        assert_eq!(serde_json::from_str::<JobHandle>(&text).unwrap(), h);
        let minimal: JobHandle =
            serde_json::from_value(json!({"kind":"holder_profiles","jobId":"j","resultKey":"k"})).unwrap();
        assert_eq!(minimal, JobHandle::new(JobKind::HolderProfiles, "j", "k"));
    }
}
