//! Verified numbers over the real demo data: the offline model's answers, scripted answers written the way a model
//! writes them (rounded, scaled, in two languages, with made-up figures among them), and the whole path through the
//! server (the `checked` event, the stored check).
//!
//! The figure tests print what they measure (`cargo nextest run checks --no-capture`).
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tradechat::api::CheckSource;
use tradechat::api::{AnswerChecks, Verdict};
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, sse, stream};
use tradechat::server::agent::offline::OfflineModel;
use tradechat::server::agent::{AgentLimits, TradingAgent};
use tradechat::server::checks::check;
use tradechat::server::duck::Duck;

use crate::helpers::{AppOptions, TestUser, demo_duck, model_env, spawn_app_with};

const LIMITS: AgentLimits = AgentLimits { max_tool_rounds: 4, max_tool_calls_per_round: 8, max_tokens: 1024 };

/// Ten symbols of the demo data at the tests' scale (a subset of the instruments: whichever the scale keeps).
async fn symbols(duck: &Duck) -> Vec<String> {
    let result = duck.query("SELECT symbol FROM instruments ORDER BY symbol LIMIT 10", 10).await.expect("symbols");
    let symbols: Vec<String> = result.rows.iter().filter_map(|r| r[0].as_str().map(str::to_owned)).collect();
    assert_eq!(symbols.len(), 10, "the demo data has ten instruments: {symbols:?}");
    symbols
}

#[tokio::test]
async fn the_offline_models_answers_state_only_numbers_their_steps_returned() {
    let duck = demo_duck();
    let schema = duck.schema().await.expect("schema");
    let model = Arc::new(OfflineModel::new(duck.clone(), Duration::ZERO));
    let symbols = symbols(&duck).await;
    let mut questions: Vec<String> = Vec::new();
    for symbol in &symbols {
        questions.push(format!("What is the latest price of {symbol}?"));
        questions.push(format!("30-day return of {symbol}"));
        questions.push(format!("VWAP of {symbol}"));
        questions.push(format!("chart {symbol}"));
        questions.push(format!("Какая последняя цена {symbol}?"));
    }
    questions.extend(
        [
            "Top movers today",
            "How is my portfolio doing?",
            "лидеры роста и падения сегодня",
            "как дела у моего портфеля?",
        ]
        .map(String::from),
    );
    questions.push(format!("90-day return of {} and {}", symbols[0], symbols[1]));
    questions.push(format!("year to date return of {} and {}", symbols[2], symbols[3]));
    let (mut answers, mut numbers, mut checked, mut slowest) = (0usize, 0usize, 0usize, Duration::ZERO);
    let mut misses = Vec::new();
    for question in &questions {
        let agent = TradingAgent::new(
            model.clone(),
            duck.clone(),
            schema.clone(),
            LIMITS,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        );
        let output = agent.run(question, &[], &|_| {}, &CancellationToken::new()).await;
        let started = Instant::now();
        let checks = check(question, &output.response, output.evidence.clone());
        slowest = slowest.max(started.elapsed());
        // An answer from data (not the "what I can answer" reply) that states numbers.
        if output.evidence.is_empty() || checks.numbers.is_empty() {
            continue;
        }
        answers += 1;
        numbers += checks.numbers.len();
        checked += checks.checked();
        for n in checks.numbers.iter().filter(|n| matches!(n.verdict, Verdict::Unverified)) {
            misses.push(format!("{question}: {}", &output.response[n.start as usize..n.end as usize]));
        }
        assert!(checks.checked() > 0, "{question}: {}", output.response);
    }
    println!(
        "offline model: {answers} answers with numbers of {} questions, {numbers} numbers, {checked} checked ({:.1} %), \
         slowest check {:.2} ms; unverified: {misses:?}",
        questions.len(),
        100.0 * checked as f64 / numbers as f64,
        slowest.as_secs_f64() * 1000.0
    );
    assert!(answers >= 50, "only {answers} answers stated numbers");
    // The offline model writes only cells: every number it states must be found.
    assert_eq!(checked, numbers, "unverified numbers in the offline model's answers: {misses:?}");
}

/// A symbol's last six daily bars, newest first: (date, open, high, low, close, volume) and the query.
async fn bars(duck: &Duck, symbol: &str) -> (CheckSource, Vec<(String, f64, f64, f64, f64, f64)>) {
    let sql = format!(
        "SELECT date, open, high, low, close, volume FROM daily_bars WHERE symbol = '{symbol}' ORDER BY date DESC \
         LIMIT 6"
    );
    let result = duck.query(&sql, 50).await.expect("bars");
    let f = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).expect("number");
    let rows = result
        .rows
        .iter()
        .map(|r| (r[0].as_str().unwrap_or_default().to_owned(), f(&r[1]), f(&r[2]), f(&r[3]), f(&r[4]), f(&r[5])))
        .collect();
    let evidence = CheckSource {
        step: 0,
        sql,
        columns: result.columns.iter().map(|c| c.name.clone()).collect(),
        rows: result.rows.clone(),
        data_as_of: None,
    };
    (evidence, rows)
}

#[tokio::test]
async fn scripted_answers_have_their_real_figures_checked_and_their_made_up_ones_flagged() {
    let duck = demo_duck();
    let symbols = symbols(&duck).await;
    let (mut real, mut real_checked, mut made_up, mut made_up_flagged, mut answers) = (0, 0, 0, 0, 0);
    let mut missed = Vec::new();
    let mut slowest = Duration::ZERO;
    for (s, symbol) in symbols.iter().enumerate() {
        let (evidence, rows) = bars(&duck, symbol).await;
        let (date, open, high, low, close, volume) = rows[0].clone();
        let prev = rows[1].4;
        let first = rows[rows.len() - 1].4;
        let change = (close - prev) / prev * 100.0;
        let period = (close - first) / first * 100.0;
        // Figures no result holds: a "target" and a "consensus" a model might invent.
        let (target, consensus) = (close * 1.137 + 0.77, 17.0 + s as f64);
        let ru = |x: f64, d: usize| format!("{x:.d$}").replace('.', ",");
        // Five ways a model writes the same facts; the made-up figures are the last two of each.
        let variants: Vec<(String, usize, usize)> = vec![
            (
                format!(
                    "**{symbol}** closed at **{close:.2}** on {date}, {change:+.2}% from the previous close of \
                     {prev:.2}. The day's range was {low:.2} – {high:.2}. Analysts' target is {target:.2}, from \
                     {consensus} analysts."
                ),
                5,
                2,
            ),
            (
                format!(
                    "{symbol} opened at ${open:.2} and finished the day at ${close:.2} (high ${high:.1}, low ${low:.1}) \
                     on volume of {:.1}K. Over the last {} sessions it moved {period:+.1}%. Fair value: ${target:.1}.",
                    volume / 1e3,
                    rows.len(),
                ),
                6,
                1,
            ),
            (
                format!(
                    "| date | close | change |\n|---|---|---|\n| {date} | {close:.2} | {change:.2}% |\n\nThe close is \
                     {:.1} points {} the open; the stop should sit near {target:.2}.",
                    (close - open).abs(),
                    if close >= open { "above" } else { "below" }
                ),
                3,
                1,
            ),
            (
                format!(
                    "{symbol} закрылся на {} ({} % к предыдущему закрытию {}). Диапазон дня: {} – {}. Целевая цена \
                     аналитиков — {}.",
                    ru(close, 2),
                    ru(change, 1),
                    ru(prev, 2),
                    ru(low, 2),
                    ru(high, 2),
                    ru(target, 2)
                ),
                5,
                1,
            ),
            (
                format!(
                    "- Close: {close:.3}\n- Open: {open:.3}\n- Change on the day: {:.2}%\n- 6-session change: \
                     {period:.2}%\n- Implied volatility: {:.1}%\n- Put/call ratio: {:.2}",
                    (close - open) / open * 100.0,
                    9.5 + s as f64 * 1.3,
                    0.6 + s as f64 * 0.071
                ),
                4,
                2,
            ),
        ];
        for (answer, real_here, made_up_here) in variants {
            answers += 1;
            let started = Instant::now();
            let checks = check(&format!("How did {symbol} trade?"), &answer, vec![evidence.clone()]);
            slowest = slowest.max(started.elapsed());
            assert_eq!(checks.numbers.len(), real_here + made_up_here, "{answer}\n{:?}", checks.numbers);
            // The made-up figures come last in each variant.
            let (head, tail) = checks.numbers.split_at(real_here);
            real += real_here;
            real_checked += head.iter().filter(|n| !matches!(n.verdict, Verdict::Unverified)).count();
            made_up += made_up_here;
            made_up_flagged += tail.iter().filter(|n| matches!(n.verdict, Verdict::Unverified)).count();
            for n in head.iter().filter(|n| matches!(n.verdict, Verdict::Unverified)) {
                missed.push(answer[n.start as usize..n.end as usize].to_owned());
            }
            for n in tail.iter().filter(|n| !matches!(n.verdict, Verdict::Unverified)) {
                missed.push(format!(
                    "made up but checked: {} ({:?})",
                    &answer[n.start as usize..n.end as usize],
                    n.verdict
                ));
            }
        }
    }
    println!(
        "scripted answers: {answers}; real figures {real_checked}/{real} checked ({:.1} %); made-up figures \
         {made_up_flagged}/{made_up} flagged unverified ({:.1} %); slowest check {:.2} ms; misses: {missed:?}",
        100.0 * (real_checked as f64) / (real as f64),
        100.0 * (made_up_flagged as f64) / (made_up as f64),
        slowest.as_secs_f64() * 1000.0
    );
    assert_eq!(answers, 50);
    assert!((real_checked as f64) >= 0.95 * (real as f64), "real figures missed: {missed:?}");
    assert!((made_up_flagged as f64) >= 0.9 * (made_up as f64), "made-up figures checked: {missed:?}");
}

#[tokio::test]
async fn a_streamed_answer_carries_its_checks_and_its_stored_exchange_keeps_them() {
    let duck = demo_duck();
    let (_, rows) = bars(&duck, "NOVA").await;
    let close = rows[0].4;
    let sql = "SELECT date, close FROM daily_bars WHERE symbol = 'NOVA' ORDER BY date DESC LIMIT 1";
    let fake = FakeAnthropic::start().await.expect("fake");
    let r1 = sse::tool_round("toolu_1", "run_sql", &json!({ "sql": sql }), 1000, 20);
    let answer = format!("NOVA last closed at **{close:.2}**; its 52-week high is 999.99.");
    fake.script([stream(r1), stream(sse::text_answer(&answer, 1100, 30))]);
    let app = spawn_app_with(AppOptions { env: model_env(&fake, &[]), ..AppOptions::default() }).await;
    let user = TestUser::sign_up(&app, "checks@example.com").await;

    let events = user.ask("What did NOVA close at?").await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let at = kinds.iter().position(|k| *k == "checked").expect("a checked event");
    assert_eq!(kinds[at + 1], "done", "the check comes right before the end");
    let checks: AnswerChecks = serde_json::from_value(events[at].data["checks"].clone()).expect("checks");
    let said: Vec<&str> = checks.numbers.iter().map(|n| &answer[n.start as usize..n.end as usize]).collect();
    assert_eq!(said, vec![format!("{close:.2}").as_str(), "999.99"]);
    assert!(matches!(checks.numbers[0].verdict, Verdict::Verified { .. }));
    assert_eq!(checks.numbers[1].verdict, Verdict::Unverified);
    let source = &checks.sources[0];
    assert_eq!(
        (source.sql.as_str(), source.columns.as_slice()),
        (sql, ["date".to_owned(), "close".to_owned()].as_slice())
    );
    assert!(
        source.data_as_of.as_deref().is_some_and(|d| d.starts_with("2026-11-")),
        "data as of the newest bar the tables hold: {:?}",
        source.data_as_of
    );

    // Stored with the exchange: the conversation shows the same check after a reload.
    let conversation_id = events[0].data["conversation_id"].as_str().expect("conversation").to_owned();
    let (status, exchanges) = user.server_fn("conversations/get", &[("conversation_id", &conversation_id)]).await;
    assert_eq!(status, 200);
    let stored: AnswerChecks = serde_json::from_value(exchanges[0]["checks"].clone()).expect("stored checks");
    assert_eq!(stored.numbers, checks.numbers);
    // The stream carries only the cited rows; the log keeps every row the model saw (for re-runs).
    assert_eq!(stored.cited_only(), checks);
    assert_eq!(stored.sources[0].rows.len(), 1);
}

#[tokio::test]
async fn a_saved_answer_reruns_on_current_data_and_its_schedule_raises_an_alert_when_a_number_changes() {
    use tradechat::api::{NumberStatus, RerunReport};
    use tradechat::server::config::DuckConfig;

    // A DuckDB file of this test's own, to change the data under the saved answer.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("live.duckdb");
    std::fs::copy(crate::helpers::demo_duckdb(), &path).expect("copy");
    let duck = Duck::new(DuckConfig { path: path.clone(), ..demo_duck().config().clone() });
    let symbol = symbols(&duck).await.remove(0);
    let (_, rows) = bars(&duck, &symbol).await;
    let (date, close) = (rows[0].0.clone(), rows[0].4);
    let sql = format!("SELECT date, close FROM daily_bars WHERE symbol = '{symbol}' ORDER BY date DESC LIMIT 3");
    let fake = FakeAnthropic::start().await.expect("fake");
    let r1 = sse::tool_round("toolu_1", "run_sql", &json!({ "sql": sql }), 1000, 20);
    let answer = format!("{symbol} closed at **{close:.2}** on {date}.");
    fake.script([stream(r1), stream(sse::text_answer(&answer, 1100, 30))]);
    let app =
        spawn_app_with(AppOptions { duckdb_path: path.clone(), env: model_env(&fake, &[]), ..AppOptions::default() })
            .await;
    let user = TestUser::sign_up(&app, "rerun@example.com").await;
    let events = user.ask(&format!("What did {symbol} close at?")).await;
    let chat_log_id = events.last().expect("done").data["chat_log_id"].as_i64().expect("logged");
    let (status, star) = user.server_fn("saved/star", &[("chat_log_id", &chat_log_id.to_string())]).await;
    assert_eq!(status, 200);
    let saved_id = star["id"].as_i64().expect("saved id").to_string();
    let rerun = || async {
        let (status, report) = user.server_fn("saved/rerun", &[("saved_id", &saved_id)]).await;
        assert_eq!(status, 200, "{report}");
        serde_json::from_value::<RerunReport>(report).expect("report")
    };

    // The schedule's time comes (the clock is moved, not waited for).
    let make_due = || async {
        sqlx::query("UPDATE saved_chats SET next_rerun_at = now() - interval '1 minute'")
            .execute(&app.state.db)
            .await
            .expect("due");
    };

    // The same data: nothing changed, the number holds.
    let report = rerun().await;
    assert_eq!(report.numbers.len(), 1);
    assert_eq!(report.numbers[0].status, NumberStatus::Holds);
    assert_eq!((report.steps[0].changed_cells, report.steps[0].unchanged_rows), (0, 3));

    // Scheduled daily: nothing is due for a day.
    assert_eq!(user.server_fn("saved/schedule", &[("saved_id", &saved_id), ("every", "daily")]).await.0, 200);
    assert_eq!(user.server_fn("saved/schedule", &[("saved_id", &saved_id), ("every", "hourly")]).await.0, 400);
    assert_eq!(tradechat::server::saved_rerun::run_due(&app.state).await.expect("run due"), 0);

    // The latest close is corrected in the file; the schedule's time comes.
    {
        let conn = duckdb::Connection::open(&path).expect("open rw");
        conn.execute(
            &format!("UPDATE daily_bars SET close = close + 1.5 WHERE symbol = '{symbol}' AND date = '{date}'"),
            [],
        )
        .expect("update");
    }
    make_due().await;
    assert_eq!(tradechat::server::saved_rerun::run_due(&app.state).await.expect("run due"), 1);
    let (message, kind): (String, String) =
        sqlx::query_as("SELECT message, kind FROM alerts WHERE user_id = (SELECT user_id FROM saved_chats LIMIT 1)")
            .fetch_one(&app.state.db)
            .await
            .expect("an alert for the owner");
    assert_eq!(kind, "saved_changed");
    assert!(message.contains(&format!("{close:.2} is now {:.2}", close + 1.5)), "{message}");
    // The owner's usage page gets it as data, which the page words in the reader's language.
    let (status, usage) = user.server_fn("usage/mine", &[]).await;
    assert_eq!(status, 200, "{usage}");
    let changed = &usage["alerts"][0]["notice"]["SavedChanged"][0];
    assert!(changed["question"].as_str().is_some_and(|q| q.contains(symbol.as_str())), "{usage}");
    let (written, status) = (&changed["numbers"][0][0], &changed["numbers"][0][1]);
    assert_eq!((written.as_str(), status["kind"].as_str()), (Some(format!("{close:.2}").as_str()), Some("changed")));
    let now: f64 = status["now"].as_str().and_then(|n| n.parse().ok()).expect("a number");
    assert!((now - (close + 1.5)).abs() < 0.01, "{usage}");
    let next_in: f64 = sqlx::query_scalar("SELECT extract(epoch FROM next_rerun_at - now())::float8 FROM saved_chats")
        .fetch_one(&app.state.db)
        .await
        .expect("next");
    assert!(next_in > 86_000.0, "the next run is a day later: {next_in}");

    // The page's report is the scheduled one; a manual re-run says the same, cell by cell.
    let report = rerun().await;
    assert!(matches!(&report.numbers[0].status, NumberStatus::Changed { .. }), "{:?}", report.numbers);
    let change = &report.steps[0].changed[0];
    assert_eq!((change.row.as_str(), change.column.as_str()), (date.as_str(), "close"));
    assert!(change.change_pct.is_some_and(|p| p > 0.0));
    // Told once: the same change on the next scheduled run raises nothing new.
    make_due().await;
    assert_eq!(tradechat::server::saved_rerun::run_due(&app.state).await.expect("run due"), 1);
    let alerts: String = sqlx::query_scalar("SELECT message FROM alerts").fetch_one(&app.state.db).await.expect("one");
    assert_eq!(alerts, message, "no second report of the same change");

    // Nobody else can re-run it.
    let intruder = TestUser::sign_up(&app, "intruder@example.com").await;
    assert_eq!(intruder.server_fn("saved/rerun", &[("saved_id", &saved_id)]).await.0, 404);
}
