//! The abuse a stranger would try: sessions that must really end (here, on another instance, in Supabase mode),
//! admin addresses squatted, oversized results, junk refresh cookies, a silent mail server, hostile headers and
//! dates.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, sse, stream};
use tradechat::server::auth::gotrue::GoTrue;
use tradechat::server::auth::sessions::LIVENESS_TTL;

use crate::helpers::{AppOptions, TestApp, TestUser, confirm_email, model_env, read_sse, spawn_app, spawn_app_with};

const SECRET: &str = "a-shared-signing-secret-of-at-least-32-bytes!";

/// `POST path` as the bearer of `token`: the status.
async fn bearer_status(app: &TestApp, path: &str, token: &str) -> u16 {
    let response = app.client.post(app.url(path)).bearer_auth(token).form(&[("page", "0")]).send().await.expect("post");
    response.status().as_u16()
}

/// Asking a question (`POST /chat/stream`) as the bearer of `token`: the status.
async fn bearer_ask_status(app: &TestApp, token: &str) -> u16 {
    let request = app.client.post(app.url("/chat/stream")).bearer_auth(token).json(&json!({"message": "hi"}));
    request.send().await.expect("post").status().as_u16()
}

/// Polls until `path` refuses `token` (401), for at most twice the liveness bound; returns how long it took.
async fn refused_within_bound(app: &TestApp, path: &str, token: &str) -> Duration {
    let started = std::time::Instant::now();
    loop {
        if bearer_status(app, path, token).await == 401 {
            return started.elapsed();
        }
        assert!(started.elapsed() < LIVENESS_TTL * 2, "{path} still accepts the token after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Another built-in instance of `a`'s deployment: its database, signing secret and public URL (so the same issuer).
async fn instance_of(a: &TestApp, env: Vec<(String, String)>) -> TestApp {
    let mut vars = vec![("AUTH_JWT_SECRET".to_owned(), SECRET.to_owned()), ("SITE_URL".to_owned(), a.base_url.clone())];
    vars.extend(env);
    spawn_app_with(AppOptions { env: vars, database_url: Some(a.database_url.clone()), ..AppOptions::default() }).await
}

/// Two built-in instances on one database, signing with the same secret.
async fn two_instances(env: Vec<(String, String)>) -> (TestApp, TestApp) {
    let mut vars = vec![("AUTH_JWT_SECRET".to_owned(), SECRET.to_owned())];
    vars.extend(env.clone());
    let a = spawn_app_with(AppOptions { env: vars, ..AppOptions::default() }).await;
    let b = instance_of(&a, env).await;
    (a, b)
}

/// An instance in Supabase mode whose "Supabase" is `gotrue`'s built-in GoTrue (same wire protocol, same
/// database — as Supabase's GoTrue shares its project's Postgres).
async fn supabase_mode(gotrue: &TestApp, env: Vec<(String, String)>) -> TestApp {
    let mut vars = vec![
        ("SUPABASE_URL".to_owned(), gotrue.base_url.clone()),
        ("SUPABASE_ANON_KEY".to_owned(), "anon".to_owned()),
        ("SUPABASE_JWT_SECRET".to_owned(), SECRET.to_owned()),
    ];
    vars.extend(env);
    spawn_app_with(AppOptions { env: vars, database_url: Some(gotrue.database_url.clone()), ..AppOptions::default() })
        .await
}

/// What the admin dashboard answers `user`: the status.
async fn dashboard_status(user: &TestUser<'_>) -> u16 {
    user.server_fn("admin/dashboard", &[]).await.0
}

#[tokio::test]
async fn a_signed_out_session_is_refused_everywhere_at_once_here_and_within_the_bound_on_another_instance() {
    let (a, b) = two_instances(vec![]).await;
    let user = TestUser::sign_up(&a, "leaving@example.com").await;
    let token = user.access_token();
    assert_eq!(bearer_status(&b, "/api/history/search", token).await, 200, "live on the other instance");

    assert_eq!(user.server_fn("auth/sign_out", &[]).await.0, 200);
    // Here: at once, on every route — server functions and the chat stream alike.
    assert_eq!(bearer_status(&a, "/api/history/search", token).await, 401);
    assert_eq!(bearer_ask_status(&a, token).await, 401);
    let me: Value = a
        .client
        .post(a.url("/api/auth/me"))
        .header("cookie", format!("tc-access={token}"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me, Value::Null, "the old access cookie alone signs nobody in");
    // On the other instance: within the liveness bound.
    let took = refused_within_bound(&b, "/api/history/search", token).await;
    assert!(took <= LIVENESS_TTL * 2, "{took:?}");
}

#[tokio::test]
async fn refresh_token_reuse_ends_the_sessions_access_token_on_app_routes_too() {
    let app = spawn_app().await;
    let gotrue = GoTrue::new(&app.base_url, "anon");
    let first = gotrue.sign_up("reused@example.com", "correct horse battery").await.expect("sign up");
    let second = gotrue.refresh(&first.refresh_token).await.expect("rotate");
    let third = gotrue.refresh(&second.refresh_token).await.expect("rotate again");
    assert_eq!(bearer_status(&app, "/api/history/search", &third.access_token).await, 200);
    // A spent refresh token is replayed (stolen): the whole session is revoked, its newest access token with it.
    gotrue.refresh(&first.refresh_token).await.expect_err("reuse detected");
    refused_within_bound(&app, "/api/history/search", &third.access_token).await;
}

#[tokio::test]
async fn in_supabase_mode_a_signed_out_session_is_refused_on_app_routes() {
    let gotrue_app =
        spawn_app_with(AppOptions { env: vec![("AUTH_JWT_SECRET".into(), SECRET.into())], ..AppOptions::default() })
            .await;
    let app = supabase_mode(&gotrue_app, vec![]).await;
    assert!(app.state.auth.builtin.is_none(), "Supabase mode");
    let user = TestUser::sign_up(&app, "supa@example.com").await;
    let token = user.access_token();
    assert_eq!(bearer_status(&app, "/api/history/search", token).await, 200);
    assert_eq!(user.server_fn("auth/sign_out", &[]).await.0, 200);
    assert_eq!(bearer_status(&app, "/api/history/search", token).await, 401);
    assert_eq!(bearer_ask_status(&app, token).await, 401);
}

#[tokio::test]
async fn an_admin_address_squatted_with_a_password_never_makes_its_squatter_admin_built_in() {
    let boss = "boss@example.com";
    let (app, other) = two_instances(vec![("ADMIN_EMAILS".into(), boss.into())]).await;
    let squatter = TestUser::sign_up(&app, boss).await;
    assert_eq!(dashboard_status(&squatter).await, 403, "a password sign-up proves nothing");

    // The owner signs in from their inbox: admin in that session; the squatter's session ended with it.
    let owner = TestUser::by_code(&app, &app, boss).await;
    assert_eq!(dashboard_status(&owner).await, 200);
    // The squatter's session is over, here and on the other instance, within the liveness bound.
    refused_within_bound(&app, "/api/admin/dashboard", squatter.access_token()).await;
    refused_within_bound(&other, "/api/history/search", squatter.access_token()).await;

    // Still not by password, even the owner's own after confirming; a configured user id is.
    let (_, me) = owner.server_fn("auth/me", &[]).await;
    let owner_id = me["id"].as_str().expect("id").to_owned();
    assert_eq!(owner.server_fn("auth/password", &[("password", "the owner's passphrase")]).await.0, 200);
    let by_password = TestUser::by_password(&app, boss, "the owner's passphrase").await;
    assert_eq!(dashboard_status(&by_password).await, 403);
    let by_id = instance_of(&app, vec![("ADMIN_USER_IDS".into(), owner_id)]).await;
    assert_eq!(dashboard_status(&by_password.on(&by_id)).await, 200, "ADMIN_USER_IDS holds for any session");
}

#[tokio::test]
async fn an_admin_address_squatted_with_a_password_never_makes_its_squatter_admin_in_supabase_mode() {
    let boss = "chief@example.com";
    let gotrue_app =
        spawn_app_with(AppOptions { env: vec![("AUTH_JWT_SECRET".into(), SECRET.into())], ..AppOptions::default() })
            .await;
    let app = supabase_mode(&gotrue_app, vec![("ADMIN_EMAILS".into(), boss.into())]).await;
    let squatter = TestUser::sign_up(&app, boss).await;
    assert_eq!(dashboard_status(&squatter).await, 403);
    // As with Supabase's "Confirm email" off: the address counts as confirmed at sign-up. Still not admin.
    confirm_email(&app.state.db, boss).await;
    let squatter_again = TestUser::by_password(&app, boss, "correct horse battery").await;
    assert_eq!(dashboard_status(&squatter_again).await, 403, "a confirmed address signed in by password");
    // The owner, from the inbox: admin.
    let owner = TestUser::by_code(&app, &gotrue_app, boss).await;
    assert_eq!(dashboard_status(&owner).await, 200);
}

#[tokio::test]
async fn an_oversized_result_costs_kilobytes_not_gigabytes() {
    let huge = "SELECT repeat('x', 20000000) AS s FROM range(20)";
    let fake = FakeAnthropic::start().await.expect("fake");
    let round = sse::tool_round("toolu_1", "run_sql", &json!({ "sql": huge }), 100, 5);
    fake.script([stream(round), stream(sse::text_answer("That was large.", 100, 5))]);
    let app = spawn_app_with(AppOptions { env: model_env(&fake, &[]), ..AppOptions::default() }).await;
    let user = TestUser::sign_up(&app, "big@example.com").await;

    // Re-running the step: a bounded answer with each cell cut and saying how long it was.
    let rerun = user
        .post_form(
            "/api/tools/rerun",
            &[("name", "run_sql"), ("input", &json!({ "sql": huge }).to_string()), ("rows", "10000")],
        )
        .await;
    assert_eq!(rerun.status(), 200);
    let body = rerun.text().await.expect("body");
    assert!(body.len() < 512 * 1024, "{} bytes", body.len());
    assert!(body.contains("truncated, 20000000 bytes"), "{}", &body[..300.min(body.len())]);

    // Through the chat: the run's events stay small, and the model is told the result was too large.
    let events = user.ask("show me something huge").await;
    let bytes: usize = events.iter().map(|e| e.data.to_string().len()).sum();
    assert!(bytes < tradechat::server::agent::runs::RUN_EVENT_BYTES + 64 * 1024, "{bytes} bytes of events");
    let result = events.iter().find(|e| e.event == "tool_result").expect("a tool result");
    assert_eq!(result.data["rows"], 20);
    let told = fake.requests()[1].to_string();
    assert!(told.contains("truncated"), "the model sees the cut");

    // A CSV download of it is refused with the reason instead of being built.
    let csv = user.post_form("/chat/results.csv", &[("sql", huge)]).await;
    assert_eq!(csv.status(), 400);
    assert!(csv.text().await.expect("body").contains("too large for a CSV download"));
}

#[tokio::test]
async fn junk_refresh_cookies_are_refused_without_a_look_up_past_a_small_budget() {
    // A stand-in GoTrue that refuses every refresh and counts them.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let gotrue = axum::Router::new().route(
        "/auth/v1/token",
        axum::routing::post(move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    axum::Json(
                        json!({"code": 400, "error_code": "refresh_token_not_found", "msg": "Invalid Refresh Token"}),
                    ),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, gotrue).await });
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("SUPABASE_URL".into(), url),
            ("SUPABASE_ANON_KEY".into(), "anon".into()),
            ("SUPABASE_JWT_SECRET".into(), SECRET.into()),
        ],
        ..AppOptions::default()
    })
    .await;
    for n in 0..60 {
        // Half could be tokens (looked up until the budget is spent), half cannot (never looked up).
        let cookie = if n % 2 == 0 { format!("tc-refresh=junk{n}junkjunk") } else { "tc-refresh=x%25".into() };
        let response = app.client.post(app.url("/api/auth/me")).header("cookie", cookie).send().await.expect("me");
        assert_eq!(response.status(), 200);
        assert!(
            response.headers().get_all("set-cookie").iter().any(|c| c.to_str().is_ok_and(|c| c.contains("Max-Age=0"))),
            "a dead refresh cookie is cleared"
        );
    }
    let looked_up = calls.load(Ordering::SeqCst);
    assert!(
        looked_up <= tradechat::server::auth::service::REFRESH_FAILURES_PER_MINUTE as usize,
        "{looked_up} look-ups"
    );
}

#[tokio::test]
async fn a_mail_server_that_never_answers_does_not_hold_up_sign_in_emails() {
    // Accepts connections and never says a word (lettre would wait a minute for the greeting).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = silent.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let app = spawn_app_with(AppOptions {
        env: vec![("SMTP_URL".into(), format!("smtp://127.0.0.1:{port}"))],
        ..AppOptions::default()
    })
    .await;
    TestUser::sign_up(&app, "known@example.com").await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        let send = app.client.post(app.url("/api/auth/send_email")).form(&[("email", email)]).send();
        let response =
            tokio::time::timeout(Duration::from_secs(5), send).await.expect("answered promptly").expect("send");
        answers.push((response.status().as_u16(), response.text().await.expect("body").replace(email, "<email>")));
    }
    assert_eq!(answers[0], answers[1], "the same answer for a known and an unknown address");
    assert_eq!(answers[0].0, 200);
}

#[tokio::test]
async fn a_huge_last_event_id_and_an_impossible_date_range_are_answered_not_panicked_on() {
    let admin = "ops@example.com";
    let app =
        spawn_app_with(AppOptions { env: vec![("ADMIN_EMAILS".into(), admin.into())], ..AppOptions::default() }).await;
    let user = TestUser::by_code(&app, &app, admin).await;
    let started: Value = user.start("latest price of NOVA").await.json().await.expect("json");
    let run = started["run_id"].as_str().expect("run id").to_owned();
    let events = app
        .client
        .get(app.url(&format!("/chat/runs/{run}/events")))
        .header("cookie", user.cookie())
        .header("last-event-id", "18446744073709551615")
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), 200);
    let read =
        tokio::time::timeout(Duration::from_secs(30), read_sse(events, |_| false)).await.expect("the stream ends");
    assert!(read.is_empty(), "nothing past the end: {read:?}");

    for (from, to) in [("", "-262143-01-01"), ("+262142-12-31", ""), ("2026-02-30", "")] {
        assert_eq!(user.server_fn("admin/dashboard", &[("from", from), ("to", to)]).await.0, 400, "{from}–{to}");
    }
}

#[tokio::test]
async fn expired_auth_rows_are_purged_and_live_ones_kept() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let gotrue = GoTrue::new(&app.base_url, "anon");
    let live = gotrue.sign_up("keeper@example.com", "correct horse battery").await.expect("sign up");
    let gone = gotrue.sign_up("leaver@example.com", "correct horse battery").await.expect("sign up");
    gotrue.logout(&gone.access_token).await.expect("logout");
    sqlx::query(
        "UPDATE tradechat_auth.sessions SET revoked_at = now() - interval '8 days' WHERE revoked_at IS NOT NULL",
    )
    .execute(db)
    .await
    .expect("age the revoked session");
    sqlx::query(
        "INSERT INTO tradechat_auth.rate_limits (key, window_start, count) VALUES
         ('old', now() - interval '2 days', 1), ('new', now(), 1)",
    )
    .execute(db)
    .await
    .expect("limits");
    gotrue.send_otp("keeper@example.com", &app.url("/auth/confirm")).await.expect("otp");
    sqlx::query("UPDATE tradechat_auth.one_time_tokens SET expires_at = now() - interval '2 days'")
        .execute(db)
        .await
        .expect("expire the codes");
    let builtin = app.state.auth.builtin.as_ref().expect("built-in");
    assert!(builtin.purge_expired().await.expect("purge") >= 4);
    let count =
        |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(db).await.expect("count") };
    assert_eq!(count("SELECT count(*) FROM tradechat_auth.rate_limits WHERE key IN ('old', 'new')").await, 1);
    assert_eq!(count("SELECT count(*) FROM tradechat_auth.one_time_tokens").await, 0);
    assert_eq!(count("SELECT count(*) FROM tradechat_auth.sessions WHERE revoked_at IS NOT NULL").await, 0);
    assert!(gotrue.refresh(&live.refresh_token).await.is_ok(), "a live session is untouched");
}
