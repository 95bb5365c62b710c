//! Rate limits, concurrency and budgets enforced through Postgres (across instances), cost alerts with a webhook,
//! admin-only dashboards, and dashboard numbers equal to the seed's SQL.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, Reply, sse};
use tradechat::server::limits::alerts;

use crate::helpers::{AppOptions, TestUser, create_user, log_record, model_env, next_ids, spawn_app_with};

/// A fake model whose every answer streams slowly (a run stays in flight for a few seconds).
async fn slow_model() -> FakeAnthropic {
    let fake = FakeAnthropic::start().await.expect("fake");
    fake.set_default(Reply::Stream {
        frames: sse::text_answer("A slow and careful answer about the markets.", 1000, 50),
        chunk: 16,
        delay: Duration::from_millis(60),
    });
    fake
}

#[tokio::test]
async fn twenty_parallel_requests_against_a_budget_for_five_runs_start_at_most_five() {
    let fake = slow_model().await;
    // Worst case of one Haiku run with the defaults: 7 rounds × (2048 × $5 + 30 000 × $1) / 1e6 = $0.28168.
    let app = spawn_app_with(AppOptions {
        env: model_env(
            &fake,
            &[
                ("DAILY_BUDGET_USD", "1.41"),
                ("MONTHLY_BUDGET_USD", "100"),
                ("RATE_LIMIT_PER_MINUTE", "100"),
                ("MAX_CONCURRENT_RUNS", "100"),
            ],
        ),
        ..AppOptions::default()
    })
    .await;
    assert_eq!(app.state.agent.worst_case_cost(chrono::Utc::now().date_naive()), Decimal::new(281_680, 6));
    let user = TestUser::sign_up(&app, "budget@example.com").await;
    let requests = (0..20).map(|i| {
        let user = &user;
        async move { user.start(&format!("question {i}")).await }
    });
    let responses = futures_util::future::join_all(requests).await;
    let started = responses.iter().filter(|r| r.status() == 201).count();
    let refused: Vec<&reqwest::Response> = responses.iter().filter(|r| r.status() == 429).collect();
    assert_eq!(started, 5, "exactly the five runs the budget allows start");
    assert_eq!(refused.len(), 15);
    assert!(refused.iter().all(|r| r.headers().contains_key("retry-after")));
    let body: Value = responses.into_iter().find(|r| r.status() == 429).expect("a refusal").json().await.expect("json");
    assert_eq!(body["error"], "Daily budget of $1.41 reached; resets at 00:00 UTC.");
    // The typed reason, which the browser words in its own language.
    assert_eq!(body["reason"]["RateLimited"]["limit"]["DailyBudget"]["usd"], "$1.41", "{body}");
    // Refused requests left nothing behind.
    let reservations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM run_reservations").fetch_one(&app.state.db).await.expect("count");
    assert_eq!(reservations, 5);
}

#[tokio::test]
async fn rate_and_concurrency_limits_hold_across_two_instances_on_one_postgres() {
    let fake = slow_model().await;
    let env =
        model_env(&fake, &[("RATE_LIMIT_PER_MINUTE", "3"), ("MAX_CONCURRENT_RUNS", "1"), ("DAILY_BUDGET_USD", "0")]);
    let first = spawn_app_with(AppOptions { env: env.clone(), ..AppOptions::default() }).await;
    let second =
        spawn_app_with(AppOptions { env, database_url: Some(first.database_url.clone()), ..AppOptions::default() })
            .await;
    let user = TestUser::sign_up(&first, "two-instances@example.com").await;
    let same_user_on_second = user.on(&second);

    // Concurrency: one run at a time, whichever instance is asked.
    let a = user.start("one").await;
    assert_eq!(a.status(), 201);
    let b = same_user_on_second.start("two").await;
    assert_eq!(b.status(), 429);
    let message: Value = b.json().await.expect("json");
    assert!(message["error"].as_str().unwrap_or_default().contains("answer being written"), "{message}");

    // Once it finished and settled, the other instance admits the next one.
    let mut admitted = 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while admitted < 3 {
        assert!(std::time::Instant::now() < deadline, "runs did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asking = if admitted % 2 == 1 { &same_user_on_second } else { &user };
        let r = asking.start("next").await;
        if r.status() == 201 {
            admitted += 1;
        }
    }
    // Rate: three were started within the minute; the fourth is refused by either instance, with a wait.
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = user.start("fourth").await;
        let body: Value = r.json().await.expect("json");
        let error = body["error"].as_str().unwrap_or_default().to_owned();
        if error.contains("answer being written") {
            continue;
        }
        assert!(error.starts_with("Too many questions: at most 3 a minute."), "{error}");
        break;
    }
}

/// A run of `user` that settled at `usd` just now, as admission and settlement leave it.
async fn settled_run(pool: &sqlx::PgPool, user: uuid::Uuid, usd: &str) {
    sqlx::query(
        "INSERT INTO run_reservations (run_id, user_id, reserved_usd, actual_usd, settled_at, expires_at)
         VALUES (gen_random_uuid(), $1, $2, $2, now(), now())",
    )
    .bind(user)
    .bind(usd.parse::<Decimal>().expect("amount"))
    .execute(pool)
    .await
    .expect("spend");
}

/// A webhook receiver that records what it is sent.
async fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(|State(r): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>| async move {
                r.lock().expect("lock").push(body);
                "ok"
            }),
        )
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn each_threshold_fires_once_per_window_and_reaches_the_webhook() {
    let (url, received) = webhook().await;
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("DAILY_BUDGET_USD".into(), "1.00".into()),
            ("MONTHLY_BUDGET_USD".into(), "100".into()),
            ("COST_ALERT_USD".into(), "0.50".into()),
            ("COST_ALERT_TOTAL_USD".into(), "0.90".into()),
            ("ALERT_WEBHOOK_URL".into(), url),
        ],
        ..AppOptions::default()
    })
    .await;
    let user = create_user(&app.state.db, "spender@example.com").await;
    let spend = |usd: &'static str| settled_run(&app.state.db, user.user_id, usd);
    let check = || alerts::check(&app.state.db, &app.state.agent.http, &app.state.config.limits, user.user_id);

    spend("0.40").await;
    assert!(check().await.expect("check").is_empty(), "nothing crossed yet");
    spend("0.45").await; // 0.85: over 80 % of the budget, over the user alert, under the total alert.
    assert_eq!(check().await.expect("check").len(), 2);
    assert!(check().await.expect("again").is_empty(), "the same thresholds do not fire twice");
    spend("0.20").await; // 1.05: the budget is used up, and the total passes 0.90.
    assert_eq!(check().await.expect("check").len(), 2);
    assert!(check().await.expect("again").is_empty());

    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM alerts ORDER BY id").fetch_all(&app.state.db).await.expect("alerts");
    assert_eq!(kinds, ["budget_80", "user_daily_spend", "budget_100", "total_daily_spend"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while received.lock().expect("lock").len() < 4 {
        assert!(std::time::Instant::now() < deadline, "webhook deliveries missing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hooks = received.lock().expect("lock").clone();
    assert!(hooks.iter().all(|h| h["text"].as_str().is_some_and(|t| t.starts_with("tradechat alert:"))));
    assert!(hooks.iter().any(|h| h["alert"]["kind"] == "budget_100"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let undelivered: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts WHERE delivered_at IS NULL")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!(undelivered, 0);

    // Alerts are shown only to the user they concern.
    let viewer = TestUser::sign_up(&app, "viewer@example.com").await;
    let (_, mine) = viewer.server_fn("usage/mine", &[]).await;
    assert_eq!(mine["alerts"], json!([]), "another user's alerts are not shown");
}

/// The monthly budget's thresholds fire once per month, and every window is its own: an alert of yesterday or of
/// last month does not stop today's (this month's) from firing.
#[tokio::test]
async fn monthly_thresholds_fire_once_and_each_window_fires_anew() {
    use chrono::Datelike;
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("DAILY_BUDGET_USD".into(), "0".into()),
            ("MONTHLY_BUDGET_USD".into(), "1.00".into()),
            ("COST_ALERT_USD".into(), "0.30".into()),
            ("COST_ALERT_TOTAL_USD".into(), "0".into()),
        ],
        ..AppOptions::default()
    })
    .await;
    let user = create_user(&app.state.db, "monthly@example.com").await;
    let today = chrono::Utc::now().date_naive();
    let month_start = today.with_day(1).expect("first of the month");
    let last_month = (month_start - chrono::Days::new(1)).with_day(1).expect("first of last month");
    // Alerts of earlier windows, for the same user and kinds.
    for (kind, scope, window) in
        [("user_daily_spend", "daily", today - chrono::Days::new(1)), ("budget_80", "monthly", last_month)]
    {
        sqlx::query(
            "INSERT INTO alerts (kind, scope, user_id, window_start, amount_usd, threshold_usd, message)
             VALUES ($1, $2, $3, $4, 1, 1, 'earlier window')",
        )
        .bind(kind)
        .bind(scope)
        .bind(user.user_id)
        .bind(window)
        .execute(&app.state.db)
        .await
        .expect("earlier alert");
    }
    let spend = |usd: &'static str| settled_run(&app.state.db, user.user_id, usd);
    let check = || alerts::check(&app.state.db, &app.state.agent.http, &app.state.config.limits, user.user_id);

    spend("0.85").await; // 85 % of the month's budget; above the daily alert level.
    assert_eq!(check().await.expect("check").len(), 2);
    assert!(check().await.expect("again").is_empty(), "once per window");
    spend("0.20").await; // 1.05: the month's budget is used up.
    assert_eq!(check().await.expect("check").len(), 1);
    assert!(check().await.expect("again").is_empty());

    let fired: Vec<(String, String, chrono::NaiveDate)> =
        sqlx::query_as("SELECT kind, scope, window_start FROM alerts WHERE message <> 'earlier window' ORDER BY id")
            .fetch_all(&app.state.db)
            .await
            .expect("alerts");
    assert_eq!(
        fired,
        [
            ("budget_80".to_owned(), "monthly".to_owned(), month_start),
            ("user_daily_spend".to_owned(), "daily".to_owned(), today),
            ("budget_100".to_owned(), "monthly".to_owned(), month_start),
        ]
    );
}

#[tokio::test]
async fn admin_endpoints_refuse_non_admins_and_usage_shows_only_the_users_rows() {
    let app = spawn_app_with(AppOptions {
        env: vec![("ADMIN_EMAILS".into(), "boss@example.com".into())],
        ..AppOptions::default()
    })
    .await;
    let user = TestUser::sign_up(&app, "plain@example.com").await;
    let boss = TestUser::sign_up(&app, "boss@example.com").await;
    for (name, args) in [
        ("admin/dashboard", vec![]),
        ("admin/exchange", vec![("chat_log_id", "1")]),
        ("admin/limits", vec![("user_id", "00000000-0000-0000-0000-000000000000")]),
    ] {
        assert_eq!(user.server_fn(name, &args).await.0, 403, "{name}");
    }
    // An address in ADMIN_EMAILS counts for a session its owner started from the inbox (anyone can sign up under
    // it with a password).
    assert_eq!(boss.server_fn("admin/dashboard", &[]).await.0, 403, "a password session under the admin address");
    let boss = TestUser::by_code(&app, &app, "boss@example.com").await;
    assert_eq!(boss.server_fn("admin/dashboard", &[]).await.0, 200);

    // Someone else's spend does not appear on "My usage".
    let other = create_user(&app.state.db, "other@example.com").await;
    let ids = next_ids(&app.state.db, 1).await;
    let mut record = log_record(ids[0], other.user_id, "expensive question of someone else");
    record.cost = Some(Decimal::new(5, 0));
    tradechat::server::store::chat_logs::insert_batch(&mut app.state.db.acquire().await.expect("conn"), &[record])
        .await
        .expect("insert");
    let (_, mine) = user.server_fn("usage/mine", &[]).await;
    assert_eq!(mine["today"]["spent_usd"], "0");
    assert_eq!(mine["most_expensive"], json!([]));
    assert_eq!(mine["requests_month"], 0);
}

#[tokio::test]
async fn dashboard_numbers_equal_the_seeds_sql_on_a_fixed_data_set() {
    let app = spawn_app_with(AppOptions {
        env: vec![("ADMIN_EMAILS".into(), "analyst@example.com".into())],
        ..AppOptions::default()
    })
    .await;
    let pool = &app.state.db;
    let mut users = Vec::new();
    for (i, name) in ["Ada", "Grace", "Linus"].iter().enumerate() {
        let u = create_user(pool, &format!("fixed-{i}@example.com")).await;
        sqlx::query("INSERT INTO profiles (id, display_name) VALUES ($1, $2)")
            .bind(u.user_id)
            .bind(name)
            .execute(pool)
            .await
            .expect("profile");
        users.push(u);
    }
    // 60 logs over three days with varied costs, tokens, statuses and tools (in several batches, as the writer does).
    let ids = next_ids(pool, 60).await;
    let today = chrono::Utc::now().date_naive();
    let mut records = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let user = &users[i % 3];
        let mut r = log_record(*id, user.user_id, &format!("question {i}"));
        r.created_at =
            (today - chrono::Duration::days((i % 3) as i64)).and_hms_opt(10, i as u32 % 60, 0).expect("time");
        r.cost = Some(Decimal::new((i as i64 * 37) % 1000 + 1, 6));
        r.input_tokens = Some(100 + i as i32 * 7);
        r.output_tokens = if i % 11 == 0 { None } else { Some(20 + i as i32) };
        r.status = if i % 9 == 0 { tradechat::domain::RunStatus::Error } else { tradechat::domain::RunStatus::Ok };
        r.duration_ms = Some(500 + (i as i32 * 97) % 3000);
        r.tools_used = json!([
            {"name": "run_sql", "input": {}, "duration_ms": 10 + i},
            {"name": if i % 2 == 0 { "make_chart" } else { "describe_schema" }, "input": {}, "duration_ms": 3 * i}
        ]);
        records.push(r);
    }
    let mut conn = pool.acquire().await.expect("conn");
    for chunk in records.chunks(17) {
        tradechat::server::store::chat_logs::insert_batch(&mut conn, chunk).await.expect("insert");
    }
    let admin = TestUser::by_code(&app, &app, "analyst@example.com").await;
    let from = (today - chrono::Duration::days(2)).to_string();
    let (_, dashboard) = admin.server_fn("admin/dashboard", &[("from", &from), ("to", &today.to_string())]).await;

    // The seed's "activity by user".
    let seed: Vec<(String, i64, Decimal, Option<f64>)> = sqlx::query_as(
        "SELECT p.display_name, COUNT(*) as questions, SUM(cost) as total_cost, AVG(input_tokens + output_tokens)::float8 as avg_tokens
         FROM chat_logs cl JOIN profiles p ON cl.user_id = p.id GROUP BY p.display_name ORDER BY questions DESC, p.display_name",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("seed activity");
    for (name, questions, cost, avg) in &seed {
        let row =
            dashboard["activity"].as_array().expect("activity").iter().find(|a| a["name"] == *name).expect("user row");
        assert_eq!(row["questions"].as_i64(), Some(*questions), "{name}");
        assert_eq!(row["total_cost"].as_str().and_then(|c| c.parse::<Decimal>().ok()), Some(*cost), "{name}");
        let got = row["avg_tokens"].as_f64().expect("avg");
        assert!((got - avg.expect("avg")).abs() < 1e-9, "{name}: {got} vs {avg:?}");
    }
    // The seed's "popular tools".
    let seed_tools: Vec<(String, i64, f64)> = sqlx::query_as(
        "SELECT tool->>'name' as tool_name, COUNT(*) as usage_count, AVG((tool->>'duration_ms')::float) as avg_duration
         FROM chat_logs, jsonb_array_elements(tools_used) as tool GROUP BY tool_name ORDER BY usage_count DESC, tool_name",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("seed tools");
    for (tool, count, avg) in &seed_tools {
        let row = dashboard["tools"].as_array().expect("tools").iter().find(|t| t["tool"] == *tool).expect("tool row");
        assert_eq!(row["count"].as_i64(), Some(*count), "{tool}");
        assert!((row["avg_duration_ms"].as_f64().expect("avg") - avg).abs() < 1e-9, "{tool}");
    }
    // The seed's "daily costs".
    let seed_days: Vec<(chrono::NaiveDate, i64, Decimal)> = sqlx::query_as(
        "SELECT DATE(created_at) as day, COUNT(*) as requests, SUM(cost) as daily_cost FROM chat_logs GROUP BY day ORDER BY day DESC",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("seed days");
    let days = dashboard["daily"].as_array().expect("daily");
    assert_eq!(days.len(), seed_days.len());
    for (row, (day, requests, cost)) in days.iter().zip(&seed_days) {
        assert_eq!(row["day"], day.to_string());
        assert_eq!(row["requests"].as_i64(), Some(*requests));
        assert_eq!(row["cost"].as_str().and_then(|c| c.parse::<Decimal>().ok()), Some(*cost));
        assert!(row["p50_ms"].as_f64().is_some() && row["p95_ms"].as_f64() >= row["p50_ms"].as_f64());
    }
    // The seed's "most expensive queries".
    let seed_top: Vec<(String, Decimal)> =
        sqlx::query_as("SELECT question, cost FROM chat_logs ORDER BY cost DESC LIMIT 20")
            .fetch_all(&mut *conn)
            .await
            .expect("seed top");
    let top: Vec<(String, Decimal)> = dashboard["most_expensive"]
        .as_array()
        .expect("top")
        .iter()
        .map(|q| {
            (
                q["question"].as_str().unwrap_or_default().to_owned(),
                q["cost"].as_str().and_then(|c| c.parse().ok()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(top.iter().map(|t| t.1).collect::<Vec<_>>(), seed_top.iter().map(|t| t.1).collect::<Vec<_>>());
}

#[tokio::test]
async fn running_spend_totals_match_the_ledger_through_admission_and_batched_settlement() {
    use chrono::Datelike;
    use tradechat::server::config::LimitsConfig;
    use tradechat::server::limits::admission;
    use tradechat::server::limits::settler::{Ended, settle};

    let pool = crate::helpers::fresh_pool().await;
    let alice = create_user(&pool, "ledger-a@example.com").await.user_id;
    let bob = create_user(&pool, "ledger-b@example.com").await.user_id;
    let limits = LimitsConfig {
        requests_per_minute: 100,
        max_concurrent_runs: 100,
        daily_budget_usd: Decimal::new(10, 0),
        monthly_budget_usd: Decimal::ZERO,
        cost_alert_usd: None,
        cost_alert_total_usd: None,
        alert_webhook_url: None,
    };
    let mut ended = Vec::new();
    for (i, user) in [alice, alice, alice, bob, bob].into_iter().enumerate() {
        let run = uuid::Uuid::new_v4();
        admission::admit(&pool, user, run, Decimal::new(25, 2), &limits).await.expect("admitted");
        // One run's price is unknown: it settles at its reservation.
        let cost = (i != 2).then(|| Decimal::new(i as i64 + 1, 3));
        ended.push(Ended { run_id: run, user_id: user, cost });
    }
    // A reservation from yesterday, settled today, counts on the day it started.
    sqlx::query(
        "INSERT INTO run_reservations (run_id, user_id, reserved_usd, started_at, expires_at)
         VALUES ('00000000-0000-0000-0000-0000000000aa', $1, 0.5, now() - interval '1 day', now())",
    )
    .bind(bob)
    .execute(&pool)
    .await
    .expect("yesterday");
    ended.push(Ended {
        run_id: "00000000-0000-0000-0000-0000000000aa".parse().expect("uuid"),
        user_id: bob,
        cost: Some(Decimal::new(7, 2)),
    });
    // Bob's second run today stays open; the rest settle in one batch, twice (the second pass changes nothing).
    let still_open = ended.remove(4);
    settle(&pool, &ended).await.expect("settle");
    settle(&pool, &ended).await.expect("settle again");

    let ledger: Vec<(uuid::Uuid, chrono::NaiveDate, Decimal)> = sqlx::query_as(
        "SELECT user_id, (started_at AT TIME ZONE 'UTC')::date, sum(actual_usd)
         FROM run_reservations WHERE settled_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .expect("ledger");
    let totals: Vec<(uuid::Uuid, chrono::NaiveDate, Decimal)> =
        sqlx::query_as("SELECT user_id, day, settled_usd FROM spend_daily WHERE settled_usd <> 0 ORDER BY 1, 2")
            .fetch_all(&pool)
            .await
            .expect("totals");
    let normal = |rows: Vec<(uuid::Uuid, chrono::NaiveDate, Decimal)>| {
        rows.into_iter().map(|(u, d, s)| (u, d, s.normalize())).collect::<Vec<_>>()
    };
    assert_eq!(normal(totals), normal(ledger));
    // What the budgets count for bob (see `tradechat_spend`): the open run (his second today) at its $0.25
    // worst case, his first run today at its $0.004 cost; yesterday's run settled at $0.07 counts in the month.
    let today = chrono::Utc::now().date_naive();
    let month_start = today.with_day(1).expect("first of the month");
    let (in_flight, day_settled, day_open, month_settled): (i64, Decimal, Decimal, Decimal) =
        sqlx::query_as("SELECT in_flight, day_settled, day_open, month_settled FROM tradechat_spend($1, $2, $3)")
            .bind(still_open.user_id)
            .bind(today)
            .bind(month_start)
            .fetch_one(&pool)
            .await
            .expect("spend");
    assert_eq!(in_flight, 1);
    assert_eq!(day_open.normalize(), Decimal::new(25, 2));
    assert_eq!(day_settled.normalize(), Decimal::new(4, 3));
    let yesterday_in_month = today.pred_opt().is_some_and(|d| d >= month_start);
    let expected_month = Decimal::new(4, 3) + if yesterday_in_month { Decimal::new(7, 2) } else { Decimal::ZERO };
    assert_eq!(month_settled.normalize(), expected_month.normalize());
}
