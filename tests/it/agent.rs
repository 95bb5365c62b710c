//! The agent against a fake Anthropic server speaking the real wire protocol, and the offline demo model, through
//! the real HTTP endpoints: streaming, tool rounds, retries, partial answers, logging, re-attachment.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tradechat::api::RunEvent;
use tradechat::api::reasons::{ModelFailure, RunFailure};
use tradechat::domain::RunStatus;
use tradechat::server::agent::anthropic::{AnthropicClient, AnthropicConfig};
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, Reply, sse, stream};
use tradechat::server::agent::{AgentLimits, TradingAgent};
use tradechat::server::config::DuckConfig;
use tradechat::server::duck::Duck;

use crate::helpers::{AppOptions, TestUser, demo_duck as duck, demo_duckdb, model_env, read_sse, spawn_app_with};

fn client(fake: &FakeAnthropic) -> Arc<AnthropicClient> {
    Arc::new(
        AnthropicClient::new(AnthropicConfig {
            api_key: "test-key".to_owned().into(),
            base_url: fake.base_url.clone(),
            model: "claude-haiku-4-5-20251001".into(),
            max_retries: 3,
            retry_base: Duration::from_millis(20),
            connect_timeout: Duration::from_secs(2),
            silence_timeout: Duration::from_secs(5),
        })
        .expect("client"),
    )
}

const LIMITS: AgentLimits = AgentLimits { max_tool_rounds: 4, max_tool_calls_per_round: 8, max_tokens: 1024 };

async fn run_agent(
    fake: &FakeAnthropic,
    question: &str,
    history: &[(String, String)],
) -> (Vec<RunEvent>, tradechat::server::agent::RunOutput) {
    let duck = duck();
    let schema = duck.schema().await.expect("schema");
    let agent = TradingAgent::new(
        client(fake),
        duck,
        schema,
        LIMITS,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"),
    );
    let events = std::sync::Mutex::new(Vec::new());
    let emit = |e: RunEvent| events.lock().expect("lock").push(e);
    let output = agent.run(question, history, &emit, &CancellationToken::new()).await;
    (events.into_inner().expect("events"), output)
}

fn text_of(events: &[RunEvent]) -> String {
    events
        .iter()
        .filter_map(|e| if let RunEvent::TextDelta { text } = e { Some(text.as_str()) } else { None })
        .collect()
}

#[tokio::test]
async fn two_tool_rounds_with_split_json_pings_and_summed_usage() {
    let fake = FakeAnthropic::start().await.expect("fake");
    // Round 1: text, then run_sql whose JSON input is split mid-token, with pings in between.
    let mut r1 = vec![sse::message_start(1200, 800, 0), sse::ping()];
    r1.extend(sse::text_block(0, &["Let me ", "check."]));
    r1.push(sse::ping());
    r1.extend(sse::tool_block(
        1,
        "toolu_1",
        "run_sql",
        &["{\"sq", "l\": \"SELECT count(*) AS n FROM ins", "truments\"}"],
    ));
    r1.extend(sse::message_end("tool_use", 40));
    // Round 2: a second tool (describe_schema with an empty input), then round 3 answers.
    let mut r2 = vec![sse::message_start(1500, 0, 800)];
    r2.extend(sse::tool_block(0, "toolu_2", "describe_schema", &[]));
    r2.extend(sse::message_end("tool_use", 10));
    let r3 = sse::text_answer("There are 11 instruments.", 1700, 12);
    fake.script([stream(r1), stream(r2), stream(r3)]);

    let (events, output) = run_agent(&fake, "How many instruments are there?", &[]).await;
    assert_eq!(output.status, RunStatus::Ok, "{output:?}");
    assert_eq!(output.response, "Let me check.\n\nThere are 11 instruments.");
    assert_eq!(text_of(&events), output.response, "streamed text is the logged response");
    assert_eq!(output.usage.input_tokens, 1200 + 1500 + 1700);
    assert_eq!(output.usage.output_tokens, 40 + 10 + 12);
    assert_eq!(output.usage.cache_creation_tokens, 800);
    assert_eq!(output.usage.cache_read_tokens, 800);
    assert_eq!(output.tools_used.len(), 2);
    assert_eq!(output.tools_used[0]["name"], "run_sql");
    assert_eq!(output.tools_used[0]["input"]["sql"], "SELECT count(*) AS n FROM instruments");
    assert_eq!(output.tools_used[0]["ok"], true);
    assert_eq!(output.tools_used[0]["rows"], 1);
    assert!(output.tools_used[0]["duration_ms"].is_u64());

    // The tool's result went back to the model as a tool_result, and the system prompt carries the schema.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    let tool_result = &requests[1]["messages"].as_array().expect("messages").last().expect("last")["content"][0];
    assert_eq!(tool_result["type"], "tool_result");
    assert_eq!(tool_result["tool_use_id"], "toolu_1");
    assert!(tool_result["content"].as_str().expect("content").contains("[11]"), "{tool_result}");
    let system = requests[0]["system"][0]["text"].as_str().expect("system");
    assert!(
        system.contains("TABLE daily_bars")
            && system.contains("Today is 2026-11-27")
            && system.contains("Never invent")
            && system.contains("Answer in the language of the user's question")
    );
    assert_eq!(requests[0]["system"][0]["cache_control"]["type"], "ephemeral");
    let headers = fake.headers(0).expect("headers");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert_eq!(headers["x-api-key"], "test-key");

    // Events arrive in order: text, call, result, …
    let kinds: Vec<&str> = events.iter().map(RunEvent::kind).filter(|k| *k != "usage").collect();
    let call = kinds.iter().position(|k| *k == "tool_call").expect("call");
    assert_eq!(kinds[call + 1], "tool_result");
    assert!(kinds[..call].contains(&"text_delta"));
}

#[tokio::test]
async fn tool_errors_go_back_to_the_model_as_is_error() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let drop_table = sse::tool_round("toolu_1", "run_sql", &json!({"sql": "DROP TABLE trades"}), 100, 5);
    fake.script([stream(drop_table), stream(sse::text_answer("I can only read data.", 100, 5))]);
    let (events, output) = run_agent(&fake, "drop the trades table", &[]).await;
    assert_eq!(output.status, RunStatus::Ok);
    assert_eq!(output.tools_used[0]["ok"], false);
    let requests = fake.requests();
    let result = &requests[1]["messages"].as_array().expect("messages").last().expect("last")["content"][0];
    assert_eq!(result["is_error"], true);
    assert!(result["content"].as_str().expect("content").contains("read-only"), "{result}");
    assert!(events.iter().any(|e| matches!(e, RunEvent::ToolResult { ok: false, error: Some(_), .. })));
}

/// Out of tool rounds, the model gets one last turn in which it may not call a tool: the tools stay declared
/// (the real API refuses tool blocks in the history without them) and `tool_choice` says none.
#[tokio::test]
async fn after_the_last_tool_round_the_model_answers_without_tools() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let round =
        |i: usize| stream(sse::tool_round(&format!("toolu_{i}"), "run_sql", &json!({"sql": "SELECT 1"}), 100, 5));
    let mut replies: Vec<_> = (0..LIMITS.max_tool_rounds).map(round).collect();
    replies.push(stream(sse::text_answer("One is one.", 100, 5)));
    fake.script(replies);
    let (events, output) = run_agent(&fake, "keep querying", &[]).await;
    assert_eq!((output.status, output.error), (RunStatus::Ok, None));
    assert_eq!(text_of(&events), "One is one.");
    assert_eq!(output.tools_used.len(), LIMITS.max_tool_rounds);
    let requests = fake.requests();
    assert_eq!(requests.len(), LIMITS.max_tool_rounds + 1);
    let last = requests.last().expect("last request");
    assert!(last["tools"].as_array().is_some_and(|t| !t.is_empty()), "tools stay declared");
    assert_eq!(last["tool_choice"], json!({"type": "none"}));
    assert!(requests[0].get("tool_choice").is_none());
    let final_turn = last["messages"].as_array().expect("messages").last().expect("user turn").clone();
    assert_eq!(final_turn["role"], "user");
    assert_eq!(final_turn["content"][0]["type"], "tool_result");
    assert!(final_turn["content"][1]["text"].as_str().is_some_and(|t| t.contains("used all tool rounds")));
}

/// A run whose cost would pass its budget reservation stops before the next round, keeping what it has.
#[tokio::test]
async fn a_run_stops_before_a_round_that_could_pass_its_reservation() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let round = |i: usize| {
        let mut r = vec![sse::message_start(100, 0, 0)];
        r.extend(sse::text_block(0, &[&format!("Looking {i}. ")]));
        r.extend(sse::tool_block(1, &format!("toolu_{i}"), "run_sql", &["{\"sql\": \"SELECT 1\"}"]));
        r.extend(sse::message_end("tool_use", 5));
        stream(r)
    };
    fake.script((0..LIMITS.max_tool_rounds).map(round).collect::<Vec<_>>());
    let duck = duck();
    let schema = duck.schema().await.expect("schema");
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
    let agent = TradingAgent::new(client(&fake), duck, schema, LIMITS, date)
        .with_cost_cap(Box::new(|usage: &tradechat::server::agent::llm::Usage| usage.input_tokens >= 200));
    let events = std::sync::Mutex::new(Vec::new());
    let emit = |e: RunEvent| events.lock().expect("lock").push(e);
    let output = agent.run("look up everything", &[], &emit, &CancellationToken::new()).await;
    assert_eq!(fake.requests().len(), 2, "no third round once the cap is reached");
    assert_eq!(output.status, RunStatus::Error);
    assert_eq!(output.error, Some(RunFailure::CostCap));
    assert!(output.response.contains("Looking 0.") && output.response.contains("Looking 1."), "{}", output.response);
    assert_eq!(output.usage.input_tokens, 200);
}

#[tokio::test]
async fn overload_before_the_first_token_is_retried() {
    let fake = FakeAnthropic::start().await.expect("fake");
    fake.script([
        Reply::Error { status: 529, kind: "overloaded_error".into(), retry_after: None },
        stream(vec![sse::message_start(10, 0, 0), sse::ping(), sse::error("overloaded_error")]),
        stream(sse::text_answer("Recovered.", 10, 3)),
    ]);
    let (_, output) = run_agent(&fake, "hello", &[]).await;
    assert_eq!((output.status, output.response.as_str()), (RunStatus::Ok, "Recovered."));
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn overload_after_text_keeps_the_partial_answer_and_ends_with_an_error() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let mut frames = vec![sse::message_start(10, 0, 0)];
    frames.extend(sse::text_block(0, &["The answer is ", "forty"]).into_iter().take(3));
    frames.push(sse::error("overloaded_error"));
    fake.script([stream(frames)]);
    let (_, output) = run_agent(&fake, "hello", &[]).await;
    assert_eq!(output.status, RunStatus::Error);
    assert_eq!(output.response, "The answer is forty");
    assert_eq!(output.error, Some(RunFailure::Model(ModelFailure::Overloaded)), "{output:?}");
    assert_eq!(fake.requests().len(), 1, "no retry after text streamed");
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let fake = FakeAnthropic::start().await.expect("fake");
    fake.script([
        Reply::Error { status: 429, kind: "rate_limit_error".into(), retry_after: Some(1) },
        stream(sse::text_answer("Done.", 10, 2)),
    ]);
    let started = Instant::now();
    let (_, output) = run_agent(&fake, "hello", &[]).await;
    assert_eq!(output.status, RunStatus::Ok);
    assert!(started.elapsed() >= Duration::from_millis(950), "waited for retry-after: {:?}", started.elapsed());
}

/// A provider that accepts the connection but never sends its response headers is given up on after the silence
/// timeout (per attempt), with an error that says so.
#[tokio::test]
async fn a_provider_that_never_answers_times_out() {
    use tradechat::server::agent::llm::{LlmClient, Message, ModelRequest, Role};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // read nothing, answer nothing
        }
    });
    let client = AnthropicClient::new(AnthropicConfig {
        api_key: "test-key".to_owned().into(),
        base_url,
        model: "claude-haiku-4-5-20251001".into(),
        max_retries: 1,
        retry_base: Duration::from_millis(10),
        connect_timeout: Duration::from_secs(2),
        silence_timeout: Duration::from_millis(300),
    })
    .expect("client");
    let request = ModelRequest {
        system: "s".into(),
        messages: vec![Message::text(Role::User, "hi")],
        tools: Vec::new().into(),
        max_tokens: 100,
        tool_use: true,
    };
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), client.complete(&request, &|_| {}))
        .await
        .expect("the client gives up on its own")
        .expect_err("no answer is an error");
    silent.abort();
    // 300 ms of silence reads as a whole second, never as "within 0 s".
    assert_eq!(err.failure, ModelFailure::Silent { secs: 1 });
    assert!(!err.after_output);
    assert!(started.elapsed() >= Duration::from_millis(600), "two attempts of 300 ms: {:?}", started.elapsed());
}

#[tokio::test]
async fn context_is_sent_as_earlier_turns() {
    let fake = FakeAnthropic::start().await.expect("fake");
    fake.script([stream(sse::text_answer("Yes.", 10, 1))]);
    let history = vec![("What is NOVA?".to_owned(), "A technology stock.".to_owned())];
    run_agent(&fake, "Is it volatile?", &history).await;
    let messages = fake.requests()[0]["messages"].clone();
    assert_eq!(messages[0]["content"][0]["text"], "What is NOVA?");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[2]["content"][0]["text"], "Is it volatile?");
}

#[tokio::test]
async fn over_http_a_run_streams_logs_costs_and_can_be_starred() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let query = sse::tool_round("toolu_1", "run_sql", &json!({"sql": "SELECT 1 AS one"}), 1000, 20);
    fake.script([stream(query), stream(sse::text_answer("One is one.", 1100, 30))]);
    let app = spawn_app_with(AppOptions { env: model_env(&fake, &[]), ..AppOptions::default() }).await;

    let anonymous =
        app.client.post(app.url("/chat/stream")).json(&json!({"message": "hi"})).send().await.expect("post");
    assert_eq!(anonymous.status(), 401);

    let user = TestUser::sign_up(&app, "streamer@example.com").await;
    // A user_id in the body is ignored: the user comes from the session.
    let response =
        user.post_json("/chat/stream", &json!({"message": "What is one?", "user_id": uuid::Uuid::new_v4()})).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_sse(response, |_| false).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"done"));
    assert!(kinds.contains(&"tool_call") && kinds.contains(&"tool_result") && kinds.contains(&"text_delta"));
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), (0..events.len()).map(Some).collect::<Vec<_>>());
    let done = &events.last().expect("done").data;
    assert_eq!(done["status"], "ok");
    // Haiku 4.5: (2100 × 1 + 50 × 5) / 1e6 = 0.00235 USD.
    assert_eq!(done["cost"], "0.00235");
    let chat_log_id = done["chat_log_id"].as_i64().expect("chat_log_id");
    let started = &events[0].data;
    assert_eq!(started["chat_log_id"].as_i64(), Some(chat_log_id), "the id is known from the start");

    // The ⭐ works right away (the save waits for the writer if needed).
    let (status, _) =
        user.server_fn("saved/star", &[("chat_log_id", &chat_log_id.to_string()), ("note", "nice")]).await;
    assert_eq!(status, 200);

    let row: (String, String, Value, Option<i32>, Option<i32>, String, String) = sqlx::query_as(
        "SELECT question, response, tools_used, input_tokens, output_tokens, model, status FROM chat_logs WHERE id = $1",
    )
    .bind(chat_log_id)
    .fetch_one(&app.state.db)
    .await
    .expect("logged");
    assert_eq!(row.0, "What is one?");
    assert_eq!(row.1, "One is one.");
    assert_eq!(row.2[0]["name"], "run_sql");
    assert_eq!((row.3, row.4), (Some(2100), Some(50)));
    assert_eq!((row.5.as_str(), row.6.as_str()), ("claude-haiku-4-5-20251001", "ok"));
}

/// A run the provider refuses ends with its reason as data — in the stream, and with the exchange after a reload —
/// so the page can word it in the reader's language; `message` keeps the English for API clients.
#[tokio::test]
async fn a_failed_run_says_why_as_data_live_and_after_a_reload() {
    let fake = FakeAnthropic::start().await.expect("fake");
    fake.script([Reply::Error { status: 401, kind: "authentication_error".into(), retry_after: None }]);
    let app = spawn_app_with(AppOptions { env: model_env(&fake, &[]), ..AppOptions::default() }).await;
    let user = TestUser::sign_up(&app, "refused@example.com").await;

    let events = user.ask("What is one?").await;
    let failed = events.iter().find(|e| e.event == "run_error").expect("a run_error event");
    let reason = json!({ "model": { "kind": "key_rejected", "setting": "ANTHROPIC_API_KEY" } });
    assert_eq!(failed.data["reason"], reason);
    assert_eq!(failed.data["message"], "The model provider rejected the API key; check ANTHROPIC_API_KEY.");
    assert_eq!(events.last().expect("done").data["status"], "error");

    let conversation_id = events[0].data["conversation_id"].as_str().expect("conversation id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    let exchange = loop {
        let (status, exchanges) =
            user.server_fn("conversations/get", &[("conversation_id", conversation_id.as_str())]).await;
        assert_eq!(status, 200, "{exchanges}");
        if let Some(first) = exchanges.get(0).cloned() {
            break first;
        }
        assert!(Instant::now() < deadline, "the failed exchange was logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(exchange["status"], "error");
    assert_eq!(exchange["failure"], reason, "kept with the exchange");
    assert_eq!(exchange["error"], failed.data["message"]);
}

#[tokio::test]
async fn reattaching_after_a_disconnect_delivers_every_event_exactly_once_in_order() {
    let app = spawn_app_with(AppOptions {
        env: vec![("OFFLINE_WORD_DELAY_MS".into(), "20".into())],
        ..AppOptions::default()
    })
    .await;
    let user = TestUser::sign_up(&app, "reattach@example.com").await;
    let handle: Value = user.start("30-day return of NOVA and LITH").await.json().await.expect("handle");
    let run_id = handle["run_id"].as_str().expect("run id").to_owned();
    let events_path = |after: usize| format!("/chat/runs/{run_id}/events?after={after}");

    // A reload while the conversation's first answer is still being written: the conversation is there (empty
    // so far, the live run shows the rest), not "not found".
    let conversation_id = handle["conversation_id"].as_str().expect("conversation id").to_owned();
    let conversation = [("conversation_id", conversation_id.as_str())];
    assert_eq!(user.server_fn("conversations/get", &conversation).await, (200, json!([])));

    // Read three events, then drop the connection (a page refresh).
    let head = read_sse(user.get(&events_path(0)).await, |events| events.len() == 3).await;
    assert_eq!(head.len(), 3);
    // Re-attach where we left off.
    let tail = read_sse(user.get(&events_path(3)).await, |_| false).await;
    assert_eq!(tail.first().and_then(|e| e.id), Some(3));
    assert_eq!(tail.last().map(|e| e.event.as_str()), Some("done"));

    let all = read_sse(user.get(&events_path(0)).await, |_| false).await;
    let joined: Vec<_> = head.into_iter().chain(tail).collect();
    assert_eq!(joined, all, "head + tail is every event once, in order");
    let answer: String =
        all.iter().filter(|e| e.event == "text_delta").map(|e| e.data["text"].as_str().unwrap_or_default()).collect();
    assert!(answer.contains("NOVA") && answer.contains("LITH"), "{answer}");

    // The browser's own reconnect: the first URL (`after=0`) again, with the id of the last event it saw.
    let reconnect = app
        .client
        .get(app.url(&events_path(0)))
        .header("cookie", user.cookie())
        .header("last-event-id", "4")
        .send()
        .await
        .expect("reconnect");
    let resumed = read_sse(reconnect, |_| false).await;
    assert_eq!(resumed.first().and_then(|e| e.id), Some(5), "resumes after Last-Event-ID, not from 0");
    assert_eq!(resumed, all[5..].to_vec());

    // Another user cannot follow (or stop) this run, nor read its conversation.
    let intruder = TestUser::sign_up(&app, "intruder@example.com").await;
    assert_eq!(intruder.server_fn("conversations/get", &conversation).await.0, 404);
    assert_eq!(intruder.get(&events_path(0)).await.status(), 404);
    assert_eq!(intruder.post(&format!("/chat/runs/{run_id}/stop")).await.status(), 404);
}

#[tokio::test]
async fn a_stopped_run_keeps_its_partial_answer_and_is_logged_as_cancelled() {
    let app = spawn_app_with(AppOptions {
        env: vec![("OFFLINE_WORD_DELAY_MS".into(), "50".into())],
        ..AppOptions::default()
    })
    .await;
    let user = TestUser::sign_up(&app, "stopper@example.com").await;
    // Read until the answer has begun, then stop it.
    let response = user.post_json("/chat/stream", &json!({"message": "how is my portfolio doing?"})).await;
    let events = read_sse(response, |events| events.iter().filter(|e| e.event == "text_delta").count() >= 2).await;
    let run_id = events[0].data["run_id"].as_str().expect("run id").to_owned();
    let chat_log_id = events[0].data["chat_log_id"].as_i64().expect("id");
    assert_eq!(user.post(&format!("/chat/runs/{run_id}/stop")).await.status(), 202);
    let rest = read_sse(user.get(&format!("/chat/runs/{run_id}/events?after={}", events.len())).await, |_| false).await;
    assert_eq!(rest.last().map(|e| e.data["status"].clone()), Some(json!("cancelled")));
    app.state.log_writer.wait_settled(chat_log_id, Duration::from_secs(5)).await;
    let (status, response): (String, String) = sqlx::query_as("SELECT status, response FROM chat_logs WHERE id = $1")
        .bind(chat_log_id)
        .fetch_one(&app.state.db)
        .await
        .expect("row");
    assert_eq!(status, "cancelled");
    assert!(!response.is_empty(), "the partial answer is kept");
}

#[tokio::test]
async fn the_offline_model_answers_known_shapes_with_tools_and_says_what_it_cannot_do() {
    let app =
        spawn_app_with(AppOptions { env: vec![("OFFLINE_WORD_DELAY_MS".into(), "0".into())], ..AppOptions::default() })
            .await;
    let user = TestUser::sign_up(&app, "offline@example.com").await;
    let price = user.ask("What is the latest price of NOVA?").await;
    assert_eq!(price[0].data["model"], "offline-demo");
    assert!(price.iter().any(|e| e.event == "tool_call" && e.data["name"] == "run_sql"));
    let text: String =
        price.iter().filter(|e| e.event == "text_delta").map(|e| e.data["text"].as_str().unwrap_or_default()).collect();
    assert!(text.contains("closed at"), "{text}");
    assert_eq!(price.last().expect("done").data["cost"], "0");

    let chart = user.ask("chart NOVA").await;
    let result =
        chart.iter().find(|e| e.event == "tool_result" && e.data["name"] == "make_chart").expect("chart result");
    assert_eq!(result.data["chart"]["kind"], "line");
    assert!(result.data["chart"]["x"].as_array().is_some_and(|x| !x.is_empty()));

    let unknown = user.ask("What will the weather be tomorrow?").await;
    let text: String = unknown
        .iter()
        .filter(|e| e.event == "text_delta")
        .map(|e| e.data["text"].as_str().unwrap_or_default())
        .collect();
    assert!(text.contains("offline demo model") && text.contains("can't answer"), "{text}");
    assert!(!unknown.iter().any(|e| e.event == "tool_call"));
}

#[tokio::test]
async fn a_follow_up_sent_right_after_an_answer_has_that_answer_in_its_context() {
    let fake = FakeAnthropic::start().await.expect("fake");
    fake.script([
        stream(sse::text_answer("NOVA is a technology stock.", 10, 5)),
        stream(sse::text_answer("Yes.", 10, 1)),
    ]);
    let app = spawn_app_with(AppOptions { env: model_env(&fake, &[]), ..AppOptions::default() }).await;
    let user = TestUser::sign_up(&app, "followup@example.com").await;
    let events = user.ask("What is NOVA?").await;
    let conversation = events[0].data["conversation_id"].as_str().expect("conversation").to_owned();
    // Immediately, before the log writer's next flush (`ask_in` asserts the follow-up is answered with a 200).
    let events = user.ask_in(&conversation, "Is it volatile?").await;
    assert_eq!(events.last().map(|e| e.data["status"].clone()), Some(json!("ok")));
    let messages = fake.requests()[1]["messages"].clone();
    assert_eq!(messages[0]["content"][0]["text"], "What is NOVA?");
    assert_eq!(messages[1]["content"][0]["text"], "NOVA is a technology stock.");
    assert_eq!(messages[2]["content"][0]["text"], "Is it volatile?");
}

/// Requests received, and the replies still to serve.
type FakeOpenAiState =
    (Arc<std::sync::Mutex<Vec<Value>>>, Arc<std::sync::Mutex<std::collections::VecDeque<Vec<Value>>>>);

/// A scripted OpenAI-compatible Chat Completions endpoint: one reply (a list of `data:` chunks) per request.
async fn fake_openai(replies: Vec<Vec<Value>>) -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let replies = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(replies)));
    let state = (Arc::clone(&requests), replies);
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            axum::routing::post(
                |axum::extract::State((requests, replies)): axum::extract::State<FakeOpenAiState>,
                 axum::Json(body): axum::Json<Value>| async move {
                    requests.lock().expect("lock").push(body);
                    let chunks = replies.lock().expect("lock").pop_front().unwrap_or_default();
                    let mut sse: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
                    sse.push_str("data: [DONE]\n\n");
                    ([("content-type", "text/event-stream")], sse)
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, requests)
}

#[tokio::test]
async fn an_openai_compatible_local_model_runs_the_same_tool_loop() {
    let chunk =
        |delta: Value, finish: Value| json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    let (url, requests) = fake_openai(vec![
        vec![
            chunk(json!({"role": "assistant", "content": "Checking. "}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "run_sql", "arguments": "{\"sql\": \"SELECT cou"}}]}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "nt(*) AS n FROM accounts\"}"}}]}), Value::Null),
            chunk(json!({}), json!("tool_calls")),
            json!({"choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 20}}),
        ],
        vec![
            chunk(json!({"content": "There are 3 accounts."}), Value::Null),
            chunk(json!({}), json!("stop")),
            json!({"choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 8, "prompt_tokens_details": {"cached_tokens": 600}}}),
        ],
    ])
    .await;
    let app = spawn_app_with(AppOptions {
        env: vec![("OPENAI_BASE_URL".into(), url), ("MODEL_NAME".into(), "llama-3.1-8b-instruct".into())],
        ..AppOptions::default()
    })
    .await;
    let user = TestUser::sign_up(&app, "local-model@example.com").await;
    let events = user.ask("How many accounts?").await;
    assert_eq!(events[0].data["model"], "llama-3.1-8b-instruct");
    let text: String = events
        .iter()
        .filter(|e| e.event == "text_delta")
        .map(|e| e.data["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(text, "Checking. \n\nThere are 3 accounts.");
    let result = events.iter().find(|e| e.event == "tool_result").expect("tool result");
    assert_eq!((result.data["ok"].clone(), result.data["rows"].clone()), (json!(true), json!(1)));
    let done = &events.last().expect("done").data;
    assert_eq!((done["input_tokens"].clone(), done["output_tokens"].clone()), (json!(900 + 400), json!(28)));
    assert_eq!(done["cost"], Value::Null, "an unpriced model has no cost, not zero");
    let sent = requests.lock().expect("lock").clone();
    assert_eq!(sent[0]["messages"][0]["role"], "system");
    assert_eq!(sent[0]["tools"][1]["function"]["name"], "run_sql");
    let tool_message =
        sent[1]["messages"].as_array().expect("messages").iter().find(|m| m["role"] == "tool").expect("tool message");
    assert_eq!(tool_message["tool_call_id"], "call_1");
    assert!(tool_message["content"].as_str().unwrap_or_default().contains("[3]"), "{tool_message}");
}

#[tokio::test]
async fn the_offline_model_reads_the_instruments_again_when_the_file_appears_or_changes() {
    use tradechat::server::agent::llm::{Block, LlmClient, Message, ModelRequest, ModelTurn, Role};
    use tradechat::server::agent::offline::OfflineModel;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("late.duckdb");
    let duck = Duck::new(DuckConfig { path: path.clone(), ..duck().config().clone() });
    let model = OfflineModel::new(duck, Duration::ZERO);
    let ask = |question: &str| ModelRequest {
        system: String::new(),
        messages: vec![Message::text(Role::User, question)],
        tools: tradechat::server::agent::tools::specs(),
        max_tokens: 1_000,
        tool_use: true,
    };
    let tool_calls = |turn: &ModelTurn| turn.content.iter().filter(|b| matches!(b, Block::ToolUse { .. })).count();

    // No file yet: no instruments, so the symbol is not recognised (and that is not remembered).
    let turn = model.complete(&ask("latest price of NOVA"), &|_| {}).await.expect("turn");
    assert_eq!(tool_calls(&turn), 0);
    std::fs::copy(demo_duckdb(), &path).expect("copy");
    let turn = model.complete(&ask("latest price of NOVA"), &|_| {}).await.expect("turn");
    assert_eq!(tool_calls(&turn), 1, "the file is there now: NOVA is known");

    // A new version of the file is read again.
    let turn = model.complete(&ask("latest price of ZZZQ"), &|_| {}).await.expect("turn");
    assert_eq!(tool_calls(&turn), 0);
    {
        let conn = duckdb::Connection::open(&path).expect("open rw");
        conn.execute_batch(
            "INSERT INTO instruments VALUES ('ZZZQ', 'Zebra Widgets', 'equity', 'Tech', 'XNAS', 'USD', 1)",
        )
        .expect("insert");
    }
    let turn = model.complete(&ask("latest price of ZZZQ"), &|_| {}).await.expect("turn");
    assert_eq!(tool_calls(&turn), 1, "the instrument added to the file is known");
}

#[tokio::test]
async fn a_query_reading_the_future_runs_and_the_model_and_the_step_are_warned() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let sql = "SELECT symbol, date FROM (SELECT symbol, date, close, lead(close) OVER (PARTITION BY symbol ORDER BY date) \
               AS next_close FROM daily_bars) WHERE next_close > close LIMIT 3";
    let input = serde_json::json!({ "sql": sql }).to_string();
    let mut r1 = vec![sse::message_start(1000, 0, 0)];
    r1.extend(sse::tool_block(0, "toolu_1", "run_sql", &[&input]));
    r1.extend(sse::message_end("tool_use", 20));
    let r2 = sse::text_answer("That query peeks at the next bar.", 1100, 9);
    fake.script([stream(r1), stream(r2)]);

    let (events, output) = run_agent(&fake, "Which days came before a rise?", &[]).await;
    assert_eq!(output.status, RunStatus::Ok, "{output:?}");
    // It ran (a warning never blocks), and the step carries the warning, live and as stored.
    let warnings = events
        .iter()
        .find_map(|e| {
            if let RunEvent::ToolResult { warnings, ok: true, rows, .. } = e {
                Some((warnings.clone(), *rows))
            } else {
                None
            }
        })
        .expect("a successful tool result");
    assert_eq!(warnings.1, Some(3));
    assert_eq!(warnings.0.len(), 1, "{:?}", warnings.0);
    assert!(warnings.0[0].contains("later bar"), "{:?}", warnings.0);
    assert_eq!(output.tools_used[0]["warnings"][0], serde_json::Value::String(warnings.0[0].clone()));
    // The model saw it with the rows, so it can correct itself.
    let requests = fake.requests();
    let tool_result = &requests[1]["messages"].as_array().expect("messages").last().expect("last")["content"][0];
    let content = tool_result["content"].as_str().expect("content");
    assert!(content.contains("warning (look-ahead bias): a filter or condition uses a later bar's value"), "{content}");
    assert_eq!(tool_result["is_error"], false);
}
