//! Saved answers that stay alive: a saved answer's steps run again on the current data — on request, or on its
//! schedule — through the same guard, deadline and per-user re-run gate as any re-run, and compared with what the
//! answer was based on (`checks::rerun`). The latest report is kept with the save; a scheduled run whose checked
//! numbers no longer hold (and did before) raises an alert for the answer's owner.
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::api::reasons::{Invalid, Limit};
use crate::api::{AnswerChecks, AppError, NumberStatus, RerunEvery, RerunReport, SavedChange};
use crate::server::agent::tools::PREVIEW_ROWS;
use crate::server::checks::rerun::{Fresh, compare};
use crate::server::checks::seen_rows;
use crate::server::duck::Duck;
use crate::server::edge::Caller;
use crate::server::state::AppState;
use crate::server::store::saved;

/// How often each instance looks for saved answers due a scheduled re-run.
const SCHEDULE_TICK: Duration = Duration::from_secs(60);

/// Re-runs `caller`'s save `saved_id` now and keeps the report with it.
pub async fn rerun(caller: &Caller, saved_id: i64) -> Result<RerunReport, AppError> {
    let state = &caller.state;
    let _entered = state
        .agent
        .reruns
        .try_enter(caller.identity.user_id)
        .ok_or(AppError::RateLimited { limit: Limit::OneAtATime, retry_after_secs: 1 })?;
    let mut tx = caller.transaction().await?;
    let (response, checks) = saved::basis(&mut tx, saved_id).await?;
    tx.commit().await?;
    let checks = basis_checks(checks).ok_or(AppError::Invalid(Invalid::NoRerunBasis))?;
    let report = run_again(&state.duck, &response, &checks).await?;
    let mut tx = caller.transaction().await?;
    saved::record_rerun(&mut tx, saved_id, &report).await?;
    tx.commit().await?;
    Ok(report)
}

/// Schedules (or stops) `caller`'s save `saved_id`.
pub async fn schedule(caller: &Caller, saved_id: i64, every: Option<RerunEvery>) -> Result<(), AppError> {
    let mut tx = caller.transaction().await?;
    saved::set_schedule(&mut tx, saved_id, every).await?;
    tx.commit().await?;
    Ok(())
}

/// The stored checks, when there are any with rows to compare.
fn basis_checks(checks: Option<Value>) -> Option<AnswerChecks> {
    checks.and_then(|c| serde_json::from_value::<AnswerChecks>(c).ok()).filter(|c| !c.sources.is_empty())
}

/// Each source of `checks` run again, compared.
async fn run_again(duck: &Duck, response: &str, checks: &AnswerChecks) -> Result<RerunReport, AppError> {
    let schema = duck.schema().await?;
    let mut now = Vec::with_capacity(checks.sources.len());
    for source in &checks.sources {
        now.push(match duck.query(&source.sql, PREVIEW_ROWS).await {
            Ok(result) => Ok(Fresh {
                columns: result.columns.iter().map(|c| c.name.clone()).collect(),
                rows: seen_rows(&result.rows),
                data_as_of: schema.data_as_of(&result.tables),
            }),
            Err(e) => Err(e.to_string()),
        });
    }
    Ok(compare(response, checks, &now, Utc::now()))
}

/// Works through the scheduled re-runs every [`SCHEDULE_TICK`] until `stop`.
pub fn run_scheduled(state: AppState, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SCHEDULE_TICK) => {}
            }
            match run_due(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reruns = n, "scheduled re-runs of saved answers done"),
                Err(e) => tracing::warn!(error = %e, "scheduled re-runs of saved answers failed; trying again later"),
            }
        }
    });
}

/// Re-runs every saved answer whose time has come, one at a time; each is claimed with `SKIP LOCKED`, so any
/// number of instances share the work without doing any twice. Returns how many ran.
pub async fn run_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    loop {
        let mut tx = state.db.begin().await?;
        let due = saved::claim_due(&mut tx).await?;
        let Some(due) = due else {
            tx.commit().await?;
            return Ok(done);
        };
        let response = due.response.unwrap_or_default();
        let report = match basis_checks(due.checks) {
            Some(checks) => run_again(&state.duck, &response, &checks).await.ok(),
            None => None,
        };
        let days = due.rerun_every.as_deref().and_then(RerunEvery::parse).map_or(1, RerunEvery::days);
        saved::finish_due(&mut tx, due.id, report.as_ref(), days).await?;
        tx.commit().await?;
        done += 1;
        let previous = due.last_rerun.and_then(|r| serde_json::from_value::<RerunReport>(r).ok());
        if let Some(report) = report
            && let Some(change) = change_of(due.question.as_deref().unwrap_or_default(), previous.as_ref(), &report)
        {
            let limits = &state.config.limits;
            crate::server::limits::alerts::saved_answer_changed(
                &state.db,
                &state.agent.http,
                limits,
                due.user_id,
                change,
            )
            .await?;
        }
    }
}

/// What to tell the owner when `report` finds checked numbers that no longer hold and `previous` had not (the
/// same change is told once, not every day); `None` when there is nothing new.
fn change_of(question: &str, previous: Option<&RerunReport>, report: &RerunReport) -> Option<SavedChange> {
    let was_broken = |index: usize| {
        previous.is_some_and(|p| p.numbers.iter().any(|n| n.index == index && n.status != NumberStatus::Holds))
    };
    let numbers: Vec<(String, NumberStatus)> = report
        .numbers
        .iter()
        .filter(|n| n.status != NumberStatus::Holds && !was_broken(n.index))
        .map(|n| (n.written.clone(), n.status.clone()))
        .collect();
    (!numbers.is_empty()).then(|| SavedChange { question: question.chars().take(80).collect(), numbers })
}
