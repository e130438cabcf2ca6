//! Progress notifications during job waits: every job status read the SDK makes is sent to the
//! client as `notifications/progress` (status, percent, elapsed) when the request carries a
//! progress token.

use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RequestContext};
use tokio::sync::mpsc;

/// Sends the SDK's job status reads to the client, in order, from a task of its own (the
/// SDK's callback is synchronous). Dropped with the waiting client; the task then ends.
#[derive(Clone)]
pub(crate) struct Reporter {
    tx: mpsc::UnboundedSender<sova::intel::Progress>,
}

impl Reporter {
    /// A reporter for this request, when it asked for progress (`_meta.progressToken`).
    pub(crate) fn for_request(ctx: &RequestContext<RoleServer>, what: &str) -> Option<Reporter> {
        let token = ctx.meta.get_progress_token()?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(forward(ctx.peer.clone(), token, what.to_owned(), rx));
        Some(Reporter { tx })
    }

    pub(crate) fn report(&self, p: &sova::intel::Progress) {
        let _ = self.tx.send(p.clone());
    }
}

async fn forward(
    peer: Peer<RoleServer>,
    token: ProgressToken,
    what: String,
    mut rx: mpsc::UnboundedReceiver<sova::intel::Progress>,
) {
    let mut n = 0u32;
    while let Some(p) = rx.recv().await {
        n += 1;
        let percent = p.percent.map(|x| format!(", {x:.0}%")).unwrap_or_default();
        let message = format!(
            "{what}: job {} {}{percent}, {:.0} s elapsed",
            p.job_id,
            p.status,
            p.waited.as_secs_f64()
        );
        // `progress` must increase: the count of status reads; the percent is in the message.
        let param =
            ProgressNotificationParam::new(token.clone(), f64::from(n)).with_message(message);
        if peer.notify_progress(param).await.is_err() {
            break;
        }
    }
}
