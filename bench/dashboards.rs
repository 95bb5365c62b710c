//! Dashboard benchmark on 1 000 000 realistic `chat_logs` rows (500 users over a year, tool calls, costs,
//! statuses, durations): latency of the admin dashboard (all six queries) for 30- and 365-day ranges, and of
//! "My usage", against the 100 ms target.
//!
//! Run: `source scripts/env.sh && export DATABASE_URL=$(scripts/pg start bench) && cargo bench --features ssr --bench dashboards`
use std::time::Instant;

use chrono::Utc;

#[path = "support.rs"]
mod support;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let rows: i64 = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        let (_, state) = support::spawn(&[("ADMIN_EMAILS", "admin@example.com".into())]).await;
        let started = Instant::now();
        sqlx::query(
            "INSERT INTO auth.users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 500) g",
        )
        .execute(&state.db)
        .await
        .expect("users");
        sqlx::query("INSERT INTO profiles (id, display_name) SELECT id, split_part(email, '@', 1) FROM auth.users")
            .execute(&state.db)
            .await
            .expect("profiles");
        // Realistic logs: a few heavy users, working-hours timestamps, mostly cheap Haiku runs with an
        // occasional long one, 5 % errors, one to three tool calls.
        sqlx::query(
            "WITH u AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth.users)
             INSERT INTO chat_logs (user_id, question, response, tools_used, input_tokens, output_tokens, cost, model,
                                    created_at, status, duration_ms)
             SELECT u.ids[1 + floor(power(random(), 2) * 500)::int],
                    'question ' || g, 'answer ' || g,
                    jsonb_build_array(
                        jsonb_build_object('name', 'run_sql', 'input', '{}'::jsonb, 'duration_ms', 5 + floor(random() * 200)),
                        jsonb_build_object('name', (ARRAY['make_chart', 'describe_schema', 'run_sql'])[1 + floor(random() * 3)::int],
                                           'input', '{}'::jsonb, 'duration_ms', 2 + floor(random() * 50))),
                    800 + floor(random() * 4000)::int, 50 + floor(random() * 600)::int,
                    round((0.0005 + power(random(), 4) * 0.05)::numeric, 6), 'claude-haiku-4-5-20251001',
                    now() - (random() * interval '365 days'),
                    CASE WHEN random() < 0.05 THEN 'error' ELSE 'ok' END,
                    300 + floor(power(random(), 2) * 20000)::int
             FROM generate_series(1, $1) g, u",
        )
        .bind(rows)
        .execute(&state.db)
        .await
        .expect("logs");
        sqlx::query("ANALYZE").execute(&state.db).await.expect("analyze");
        println!("generated {rows} chat_logs rows (with rollups) in {:.1} s", started.elapsed().as_secs_f64());

        let today = Utc::now().date_naive();
        for (label, days) in [("last 30 days", 29), ("last 365 days", 364)] {
            let from = today - chrono::Duration::days(days);
            let mut per_query: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
            for _ in 0..12 {
                let d = tradechat::server::usage::dashboards::admin_dashboard(&state, from, today).await.expect("dashboard");
                assert!(!d.daily.is_empty());
                for (name, ms) in d.timings_ms {
                    per_query.entry(name).or_default().push(ms);
                }
            }
            println!("admin dashboard, {label}:");
            for (name, mut samples) in per_query {
                samples.sort_by(f64::total_cmp);
                let p = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
                println!("  {name:<18} p50 {:>7.1} ms  p95 {:>7.1} ms", p(0.5), p(0.95));
            }
        }
        let heavy: uuid::Uuid = sqlx::query_scalar("SELECT user_id FROM usage_daily GROUP BY user_id ORDER BY sum(requests) DESC LIMIT 1")
            .fetch_one(&state.db)
            .await
            .expect("heavy user");
        let identity = tradechat::server::auth::Identity::from_claims(serde_json::json!({
            "sub": heavy, "role": "authenticated", "aud": "authenticated"
        }))
        .expect("identity");
        let mut samples = Vec::new();
        for _ in 0..12 {
            let t = Instant::now();
            tradechat::server::usage::dashboards::my_usage(&state, &identity).await.expect("usage");
            samples.push(t.elapsed());
        }
        samples.sort();
        println!(
            "my usage (heaviest user)                 : p50 {:>7.1} ms  p95 {:>7.1} ms",
            support::pct(&samples[2..], 0.5),
            support::pct(&samples[2..], 0.95)
        );
    });
}
