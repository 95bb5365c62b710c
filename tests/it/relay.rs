//! Many instances, one Postgres: a run streams from any instance, stops from any instance, and is ended by another
//! when its own instance dies.
use std::time::{Duration, Instant};

use serde_json::Value;
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, Reply, sse};

use crate::helpers::{AppOptions, ServerProcess, Sse, TestApp, TestUser, model_env, read_sse, spawn_app_with};

const SECRET: &str = "relay-test-secret-0123456789abcdef0123456789";
const SITE: &str = "http://tradechat.test";

/// A model answering `words` words, one about every `pause`.
async fn model(words: usize, pause: Duration) -> FakeAnthropic {
    let fake = FakeAnthropic::start().await.expect("fake model");
    let text = (0..words).map(|i| format!("w{i} ")).collect::<String>();
    fake.set_default(Reply::Stream { frames: sse::text_answer(&text, 100, words as u64), chunk: 100, delay: pause });
    fake
}

/// The environment every instance shares: one signing secret and one site, as behind one load balancer.
fn shared_env(fake: &FakeAnthropic, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = vec![
        ("AUTH_JWT_SECRET", SECRET),
        ("SITE_URL", SITE),
        ("DAILY_BUDGET_USD", "0"),
        ("MONTHLY_BUDGET_USD", "0"),
        ("RUN_LEASE_SECS", "2"),
    ];
    vars.extend_from_slice(extra);
    model_env(fake, &vars)
}

async fn two_instances(fake: &FakeAnthropic) -> (TestApp, TestApp) {
    let first = spawn_app_with(AppOptions { env: shared_env(fake, &[]), ..AppOptions::default() }).await;
    let second = spawn_app_with(AppOptions {
        env: shared_env(fake, &[]),
        database_url: Some(first.database_url.clone()),
        ..AppOptions::default()
    })
    .await;
    (first, second)
}

async fn start(user: &TestUser<'_>, message: &str) -> String {
    let started: Value = user.start(message).await.json().await.expect("run handle");
    started["run_id"].as_str().expect("run id").to_owned()
}

/// The run's events on `user`'s instance, after `last_id` (as `Last-Event-ID`), until `stop` or the end.
async fn follow(user: &TestUser<'_>, run: &str, last_id: Option<usize>, stop: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
    let mut request = reqwest::Client::new()
        .get(format!("{}/chat/runs/{run}/events", user_base(user)))
        .header("cookie", user.cookie());
    if let Some(id) = last_id {
        request = request.header("last-event-id", id.to_string());
    }
    let response = request.send().await.expect("events");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    read_sse(response, stop).await
}

fn user_base(user: &TestUser<'_>) -> String {
    user.app_url("")
}

fn text_of(events: &[Sse]) -> String {
    events.iter().filter(|e| e.event == "text_delta").filter_map(|e| e.data["text"].as_str()).collect()
}

#[tokio::test]
async fn a_reader_that_moves_to_another_instance_mid_answer_gets_the_rest_exactly_once() {
    let fake = model(40, Duration::from_millis(50)).await;
    let (first, second) = two_instances(&fake).await;
    let user = TestUser::sign_up(&first, "relay@example.com").await;
    let run = start(&user, "What moved today?").await;

    // The first few events from the instance running it, then the connection drops (a reload)…
    let before = follow(&user, &run, None, |events| text_of(events).len() > 20).await;
    let last = before.last().and_then(|e| e.id).expect("event ids");
    // …and the reader comes back through the balancer to the other instance.
    let on_second = user.on(&second);
    let after = follow(&on_second, &run, Some(last), |_| false).await;
    assert_eq!(after.first().and_then(|e| e.id), Some(last + 1), "resumes right after the last event seen");
    let ids: Vec<usize> = after.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "no gap, no repeat: {ids:?}");
    assert_eq!(after.last().map(|e| e.event.as_str()), Some("done"));

    // The same run read whole from its own instance: the two halves are exactly it.
    let whole = follow(&user, &run, None, |_| false).await;
    let joined: Vec<&Sse> = before.iter().chain(after.iter()).collect();
    assert_eq!(joined.len(), whole.len());
    assert!(joined.iter().zip(&whole).all(|(a, b)| a.id == b.id && a.event == b.event && a.data == b.data));
    assert_eq!(text_of(&before) + &text_of(&after), text_of(&whole));
    assert!(text_of(&whole).contains("w0 ") && text_of(&whole).contains("w39"), "the whole answer");

    // The other instance also knows it as the conversation's run while it runs (a reloaded page asks this).
    let conversation = whole[0].data["conversation_id"].as_str().expect("conversation").to_owned();
    let active: Value =
        on_second.get(&format!("/chat/runs/active?conversation_id={conversation}")).await.json().await.expect("json");
    assert!(active.is_null(), "it has ended: {active}");
}

#[tokio::test]
async fn a_stop_asked_on_another_instance_stops_the_run() {
    let fake = model(200, Duration::from_millis(50)).await;
    let (first, second) = two_instances(&fake).await;
    let user = TestUser::sign_up(&first, "relay-stop@example.com").await;
    let run = start(&user, "A long answer, please").await;
    let events = follow(&user, &run, None, |events| !text_of(events).is_empty()).await;
    let conversation = events[0].data["conversation_id"].as_str().expect("conversation").to_owned();
    let on_second = user.on(&second);
    let active: Value =
        on_second.get(&format!("/chat/runs/active?conversation_id={conversation}")).await.json().await.expect("json");
    assert_eq!(active["run_id"], run.as_str(), "the other instance finds the running run");
    // A reload there shows the conversation (its first answer is not logged yet) and refuses a second question in it.
    let (status, exchanges) = on_second.server_fn("conversations/get", &[("conversation_id", &conversation)]).await;
    assert_eq!((status, exchanges), (200, serde_json::json!([])));
    let follow_up = on_second
        .post_json("/chat/stream", &serde_json::json!({"message": "and then?", "conversation_id": conversation}))
        .await;
    assert_eq!(follow_up.status(), 400);
    assert!(follow_up.text().await.unwrap_or_default().contains("still being written"));

    let asked = Instant::now();
    assert_eq!(on_second.post(&format!("/chat/runs/{run}/stop")).await.status(), 202);
    let rest = follow(&user, &run, None, |_| false).await;
    let done = rest.last().expect("events");
    assert_eq!(done.event, "done");
    assert_eq!(done.data["status"], "cancelled");
    assert!(asked.elapsed() < Duration::from_secs(5), "stopped promptly: {:?}", asked.elapsed());
    assert!(text_of(&rest).len() < (0..200).map(|i| format!("w{i} ").len()).sum::<usize>(), "cut short");
    // Someone else's run cannot be stopped from anywhere.
    let stranger = TestUser::sign_up(&second, "stranger@example.com").await;
    assert_eq!(stranger.post(&format!("/chat/runs/{run}/stop")).await.status(), 404);
}

#[tokio::test]
async fn a_run_whose_instance_is_killed_is_ended_failed_by_another_within_the_lease() {
    let fake = model(400, Duration::from_millis(50)).await;
    let survivor = spawn_app_with(AppOptions { env: shared_env(&fake, &[]), ..AppOptions::default() }).await;
    // The instance that will die: the real binary, killed with SIGKILL (no chance to clean up).
    let mut env = shared_env(&fake, &[]);
    env.push(("DATABASE_URL".into(), survivor.database_url.clone()));
    let mut doomed = ServerProcess::start(&env).await;
    let doomed_url = doomed.base_url.clone();
    let user = TestUser::sign_up(&survivor, "relay-kill@example.com").await;
    let started = reqwest::Client::new()
        .post(format!("{doomed_url}/chat/stream"))
        .header("cookie", user.cookie())
        .header("accept", "application/json")
        .json(&serde_json::json!({"message": "A very long answer"}))
        .send()
        .await
        .expect("start on the doomed instance");
    assert_eq!(started.status(), 201, "{}", started.text().await.unwrap_or_default());
    let run = started.json::<Value>().await.expect("handle")["run_id"].as_str().expect("run id").to_owned();
    // Streaming, as seen from the survivor.
    let seen = follow(&user, &run, None, |events| text_of(events).len() > 10).await;
    assert!(!text_of(&seen).is_empty());

    doomed.sigkill();
    let killed = Instant::now();
    let rest = follow(&user, &run, seen.last().and_then(|e| e.id), |_| false).await;
    let ended = killed.elapsed();
    let done = rest.last().expect("an end");
    assert_eq!(done.event, "done");
    assert_eq!(done.data["status"], "error");
    let why = rest.iter().find(|e| e.event == "run_error").expect("the stream says why");
    assert_eq!(why.data["reason"], "server_stopped", "as data, for the page to word");
    // Lease 2 s, renewed or checked every 2/3 s.
    assert!(ended < Duration::from_secs(6), "ended within the lease bound: {ended:?}");

    let pool = &survivor.state.db;
    let (settled, in_flight): (bool, i64) = sqlx::query_as(
        "SELECT bool_and(settled_at IS NOT NULL), count(*) FILTER (WHERE settled_at IS NULL) FROM run_reservations",
    )
    .fetch_one(pool)
    .await
    .expect("reservations");
    assert!(settled && in_flight == 0, "its reservation no longer counts as in flight");
    let deadline = Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT status, response FROM chat_logs").fetch_optional(pool).await.expect("logs");
        if row.is_some() || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (status, response) = logged.expect("the run was logged");
    assert_eq!(status, "error");
    let failure: Option<Value> =
        sqlx::query_scalar("SELECT failure FROM chat_logs").fetch_one(pool).await.expect("failure");
    assert_eq!(failure, Some(Value::from("server_stopped")), "kept with the exchange");
    assert!(response.starts_with(&text_of(&seen)), "with the text it had streamed");
}

#[tokio::test]
async fn an_instance_that_died_with_hundreds_of_runs_has_every_one_ended_by_another() {
    let fake = model(3, Duration::from_millis(1)).await;
    let survivor = spawn_app_with(AppOptions { env: shared_env(&fake, &[]), ..AppOptions::default() }).await;
    TestUser::sign_up(&survivor, "relay-many@example.com").await;
    let pool = &survivor.state.db;
    let user_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM auth.users WHERE email = 'relay-many@example.com'")
        .fetch_one(pool)
        .await
        .expect("user");
    // 250 runs of an instance that died mid-answer under load, long past their lease: more ids than one NOTIFY
    // payload holds (200), more runs than one reaping transaction takes (100).
    let dead_instance = uuid::Uuid::new_v4();
    let log_ids = crate::helpers::next_ids(pool, 250).await;
    for (i, log_id) in log_ids.iter().enumerate() {
        let (run_id, conversation_id) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let events = [
            tradechat::api::RunEvent::RunStarted {
                run_id,
                conversation_id,
                chat_log_id: Some(*log_id),
                model: "claude-test".into(),
                question: format!("question {i}"),
                context_ids: Vec::new(),
            },
            tradechat::api::RunEvent::TextDelta { text: format!("partial {i}") },
        ];
        sqlx::query(
            "INSERT INTO runs_live (run_id, user_id, conversation_id, instance, heartbeat_at)
             VALUES ($1, $2, $3, $4, now() - interval '1 minute')",
        )
        .bind(run_id)
        .bind(user_id)
        .bind(conversation_id)
        .bind(dead_instance)
        .execute(pool)
        .await
        .expect("a live run");
        sqlx::query("INSERT INTO run_events (run_id, seq, kinds, events) VALUES ($1, 0, 'run_started,text_delta', $2)")
            .bind(run_id)
            .bind(serde_json::to_string(&events).expect("events"))
            .execute(pool)
            .await
            .expect("its events");
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    let (open, logged) = loop {
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM runs_live WHERE finished_at IS NULL")
            .fetch_one(pool)
            .await
            .expect("open runs");
        let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_logs WHERE status = 'error'")
            .fetch_one(pool)
            .await
            .expect("logs");
        if (open == 0 && logged == 250) || Instant::now() > deadline {
            break (open, logged);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((open, logged), (0, 250), "every dead run ended and logged as failed");
    let ended: i64 = sqlx::query_scalar("SELECT count(*) FROM run_events WHERE kinds = 'run_error,done'")
        .fetch_one(pool)
        .await
        .expect("endings");
    assert_eq!(ended, 250, "each stream got its error and done");
    let texts: Vec<String> =
        sqlx::query_scalar("SELECT response FROM chat_logs ORDER BY id").fetch_all(pool).await.expect("texts");
    assert_eq!(texts.first().map(String::as_str), Some("partial 0"), "with the text each had streamed");
    assert_eq!(texts.last().map(String::as_str), Some("partial 249"));
}

#[tokio::test]
async fn a_run_whose_end_never_reached_the_table_neither_blocks_its_conversation_nor_stays_open() {
    let fake = model(3, Duration::from_millis(1)).await;
    let app = spawn_app_with(AppOptions { env: shared_env(&fake, &[]), ..AppOptions::default() }).await;
    let user = TestUser::sign_up(&app, "relay-lost-end@example.com").await;
    let first = user.ask("A first question").await;
    let started = first.iter().find(|e| e.event == "run_started").expect("run_started");
    let (run, conversation) = (
        started.data["run_id"].as_str().expect("run id"),
        started.data["conversation_id"].as_str().expect("conversation id"),
    );
    assert_eq!(first.last().map(|e| e.event.as_str()), Some("done"));
    // As if the batch holding its `done` had failed: the table still has the run open.
    let pool = &app.state.db;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sqlx::query_scalar::<_, bool>("SELECT finished_at IS NULL FROM runs_live WHERE run_id = $1::uuid")
        .bind(run)
        .fetch_one(pool)
        .await
        .expect("its row")
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::query("UPDATE runs_live SET finished_at = NULL WHERE run_id = $1::uuid")
        .bind(run)
        .execute(pool)
        .await
        .expect("reopen");

    // This instance knows it ended: a follow-up is answered, not refused as busy.
    let follow_up = user.ask_in(conversation, "And a second one").await;
    assert_eq!(follow_up.last().map(|e| e.event.as_str()), Some("done"));
    // And no one renews its lease any more: it is ended within the lease (2 s) and a heartbeat or two.
    let deadline = Instant::now() + Duration::from_secs(10);
    let open = loop {
        let open: bool = sqlx::query_scalar("SELECT finished_at IS NULL FROM runs_live WHERE run_id = $1::uuid")
            .bind(run)
            .fetch_one(pool)
            .await
            .expect("its row");
        if !open || Instant::now() > deadline {
            break open;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!open, "the lost end is made good by the lease");
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM chat_logs ORDER BY id").fetch_all(pool).await.expect("logs");
    assert_eq!(statuses, ["ok", "ok"], "its own log row stands: the reaper's failed one is a duplicate id");
}

/// A round-robin proxy in front of `upstreams` (no stickiness: each request goes to the next one), streaming
/// bodies both ways. Answers carry `x-upstream`: which instance served them.
async fn round_robin(upstreams: Vec<String>) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (next, client, upstreams) = (next.clone(), client.clone(), upstreams.clone());
        async move {
            let i = next.fetch_add(1, Ordering::SeqCst) % upstreams.len();
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forwarded = client.request(parts.method, format!("{}{path}", upstreams[i])).body(body);
            for (name, value) in &parts.headers {
                if name != "host" {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = forwarded.send().await.expect("upstream answers");
            let mut response = axum::response::Response::builder().status(answer.status().as_u16());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            response
                .header("x-upstream", i.to_string())
                .body(axum::body::Body::from_stream(answer.bytes_stream()))
                .expect("response")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn behind_a_round_robin_proxy_an_answer_survives_reloads_and_stops_from_either_instance() {
    let fake = model(60, Duration::from_millis(40)).await;
    let (first, second) = two_instances(&fake).await;
    let proxy = round_robin(vec![first.url(""), second.url("")]).await;
    let user = TestUser::sign_up(&first, "proxied@example.com").await;
    let client = reqwest::Client::new();
    let get = |path: String, last: Option<usize>| {
        let mut request = client.get(format!("{proxy}{path}")).header("cookie", user.cookie());
        if let Some(id) = last {
            request = request.header("last-event-id", id.to_string());
        }
        request.send()
    };
    // A question through the proxy, not followed (`Accept: application/json`): 201 with the run's handle.
    let start = |message: &str| {
        client
            .post(format!("{proxy}/chat/stream"))
            .header("cookie", user.cookie())
            .header("accept", "application/json")
            .json(&serde_json::json!({ "message": message }))
            .send()
    };

    let started = start("What moved today?").await.expect("start");
    assert_eq!(started.status(), 201);
    let ran_on = started.headers()["x-upstream"].to_str().expect("upstream").to_owned();
    let run = started.json::<Value>().await.expect("handle")["run_id"].as_str().expect("run id").to_owned();
    // The page follows the run, is reloaded three times mid-answer, each reconnection landing on the next instance.
    let mut seen: Vec<Sse> = Vec::new();
    let mut upstreams = Vec::new();
    for round in 0..4 {
        let response = get(format!("/chat/runs/{run}/events"), seen.last().and_then(|e| e.id)).await.expect("events");
        assert_eq!(response.status(), 200, "round {round}");
        upstreams.push(response.headers()["x-upstream"].to_str().expect("upstream").to_owned());
        let have = text_of(&seen).len();
        let last_round = round == 3;
        seen.extend(read_sse(response, |events| !last_round && text_of(events).len() > have.max(1) + 15).await);
    }
    assert!(upstreams.iter().any(|u| *u != ran_on), "some reconnections were served by the other instance");
    let ids: Vec<usize> = seen.iter().filter_map(|e| e.id).collect();
    assert_eq!(ids, (0..ids.len()).collect::<Vec<_>>(), "every event once, in order, across instances");
    assert_eq!(seen.last().map(|e| e.event.as_str()), Some("done"));
    let expected: String = (0..60).map(|i| format!("w{i} ")).collect();
    assert_eq!(text_of(&seen).trim_end(), expected.trim_end(), "no text missing or repeated");

    // A second answer, stopped through the proxy: the stop lands on whichever instance comes next.
    let started = start("Another long one").await.expect("start");
    let run = started.json::<Value>().await.expect("handle")["run_id"].as_str().expect("run id").to_owned();
    for _ in 0..2 {
        // Twice, so one of them is the instance that is not running it (the other answers 202 too, or 404 once ended).
        let stopped = client
            .post(format!("{proxy}/chat/runs/{run}/stop"))
            .header("cookie", user.cookie())
            .send()
            .await
            .expect("stop");
        assert!(matches!(stopped.status().as_u16(), 202 | 404), "{}", stopped.status());
    }
    let rest = read_sse(get(format!("/chat/runs/{run}/events"), None).await.expect("events"), |_| false).await;
    assert_eq!(rest.last().map(|e| e.data["status"].clone()), Some(Value::from("cancelled")));
}
