//! Retrying a model call, for every provider client: a call that failed before any of its answer was streamed
//! (connection refused, overloaded, a 5xx, the stream cut before the first text) is tried again with jittered
//! exponential backoff — or after the server's `retry-after` — up to a number of times; one that failed after
//! streaming is not (the user has seen text: repeating it would duplicate it).
use std::time::Duration;

use rand::Rng;

use super::llm::{LlmError, ModelTurn, Usage};
use crate::api::reasons::ModelFailure;

/// How one attempt ended, when it did not produce a turn.
#[derive(Debug)]
pub enum Attempt {
    /// Worth retrying (nothing streamed yet); `retry_after` when the server said how long to wait.
    Retry {
        /// What went wrong, as the user may read it if no retry works.
        failure: ModelFailure,
        /// The server's `retry-after`.
        retry_after: Option<Duration>,
    },
    /// Final.
    Fail(LlmError),
}

impl Attempt {
    /// A retryable failure with no advice on when.
    pub fn retry(failure: ModelFailure) -> Self {
        Self::Retry { failure, retry_after: None }
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff (doubled each time, jittered ×0.5–1.5, at most 8 s).
    pub base: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): the server's `retry-after` (at most 30 s), else backoff.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(Duration::from_secs(30));
        }
        let base = self.base.as_secs_f64() * 2f64.powi(attempt as i32);
        Duration::from_secs_f64((base * rand::rng().random_range(0.5..1.5)).min(8.0))
    }

    /// Runs `attempt` until it produces a turn, fails for good, or the retries are spent.
    pub async fn run<F, Fut>(&self, mut attempt: F) -> Result<ModelTurn, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ModelTurn, Attempt>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Ok(turn) => return Ok(turn),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry { failure, .. }) if tries >= self.max_retries => {
                    return Err(LlmError { failure, after_output: false, usage: Usage::default() });
                }
                Err(Attempt::Retry { failure, retry_after }) => {
                    let wait = self.backoff(tries, retry_after);
                    tracing::warn!(attempt = tries, ?wait, %failure, "model call failed before output; retrying");
                    tokio::time::sleep(wait).await;
                    tries += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_until_spent_and_never_after_output() {
        let policy = RetryPolicy { max_retries: 2, base: Duration::from_millis(1) };
        let calls = AtomicU32::new(0);
        let spent = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Attempt::retry(ModelFailure::Overloaded))
            })
            .await
            .expect_err("spent");
        assert_eq!((calls.load(Ordering::SeqCst), spent.failure), (3, ModelFailure::Overloaded));

        let calls = AtomicU32::new(0);
        let fail = LlmError { failure: ModelFailure::StreamEnded, after_output: true, usage: Usage::default() };
        let failed = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Attempt::Fail(fail.clone()))
            })
            .await
            .expect_err("final");
        assert_eq!((calls.load(Ordering::SeqCst), failed.after_output), (1, true));
        assert_eq!(policy.backoff(0, Some(Duration::from_secs(99))), Duration::from_secs(30));
    }
}
