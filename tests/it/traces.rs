//! OpenTelemetry traces: the real server binary exporting OTLP/HTTP (JSON) to a local receiver, spans named and
//! attributed as the GenAI semantic conventions say.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, sse, stream};

use crate::helpers::ServerProcess;

/// An OTLP/HTTP receiver: keeps every `POST /v1/traces` body (JSON).
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = Arc::clone(&store);
            async move {
                let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                store.lock().expect("lock").push(parsed);
                axum::Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Every span received: (name, span id, parent span id, trace id, attributes as a JSON object).
fn spans(bodies: &[Value]) -> Vec<(String, String, String, String, Value)> {
    let mut out = Vec::new();
    for body in bodies {
        for resource in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let mut attributes = serde_json::Map::new();
                    for a in span["attributes"].as_array().into_iter().flatten() {
                        let value = &a["value"];
                        let v = value
                            .get("stringValue")
                            .cloned()
                            .or_else(|| {
                                value
                                    .get("intValue")
                                    .map(|i| json!(i.as_str().and_then(|s| s.parse::<i64>().ok()).or(i.as_i64())))
                            })
                            .unwrap_or(Value::Null);
                        attributes.insert(a["key"].as_str().unwrap_or_default().to_owned(), v);
                    }
                    out.push((
                        span["name"].as_str().unwrap_or_default().to_owned(),
                        span["spanId"].as_str().unwrap_or_default().to_owned(),
                        span["parentSpanId"].as_str().unwrap_or_default().to_owned(),
                        span["traceId"].as_str().unwrap_or_default().to_owned(),
                        Value::Object(attributes),
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_run_is_traced_as_an_agent_invocation_with_its_model_calls_and_tool_calls() {
    let (otlp, received) = receiver().await;
    let fake = FakeAnthropic::start().await.expect("fake model");
    fake.script([
        stream(sse::tool_round("toolu_1", "run_sql", &json!({"sql": "SELECT 42 AS answer"}), 900, 30)),
        stream(sse::text_answer("The answer is 42.", 1000, 12)),
    ]);
    let env = [
        ("ANTHROPIC_API_KEY", "test-key"),
        ("ANTHROPIC_BASE_URL", fake.base_url.as_str()),
        ("DAILY_BUDGET_USD", "0"),
        ("MONTHLY_BUDGET_USD", "0"),
        ("SHUTDOWN_GRACE_SECS", "2"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_SERVICE_NAME", "tradechat-test"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let mut server = ServerProcess::start(&env).await;
    let token = server.sign_up("traced@example.com").await;
    let client = reqwest::Client::new();
    let answer = client
        .post(server.url("/chat/stream"))
        .bearer_auth(&token)
        .json(&json!({"message": "What is the answer?"}))
        .send()
        .await
        .expect("ask")
        .text()
        .await
        .expect("answer");
    assert!(answer.contains("event: done"), "{answer}");
    // SIGTERM: the exporter flushes what it holds on the way out.
    server.sigterm();
    assert!(server.exited(Duration::from_secs(30)).await, "clean exit: {}", server.log());

    let bodies = received.lock().expect("lock").clone();
    assert!(
        bodies.iter().any(|b| b["resourceSpans"][0]["resource"]["attributes"].to_string().contains("tradechat-test")),
        "the service is named"
    );
    let spans = spans(&bodies);
    let agent = spans.iter().find(|s| s.0 == "invoke_agent tradechat").expect("an invoke_agent span");
    assert_eq!(agent.4["gen_ai.operation.name"], "invoke_agent");
    assert_eq!(agent.4["gen_ai.provider.name"], "anthropic");
    assert_eq!(agent.4["gen_ai.usage.input_tokens"], 1900);
    assert_eq!(agent.4["gen_ai.usage.output_tokens"], 42);
    let chats: Vec<_> = spans.iter().filter(|s| s.4["gen_ai.operation.name"] == "chat").collect();
    assert_eq!(chats.len(), 2, "one per model call");
    assert!(
        chats.iter().all(|c| c.0.starts_with("chat claude") && c.2 == agent.1 && c.3 == agent.3),
        "children of the run"
    );
    assert_eq!(chats[0].4["gen_ai.usage.input_tokens"], 900);
    assert_eq!(chats[0].4["gen_ai.response.finish_reasons"], "tool_use");
    let tool = spans.iter().find(|s| s.0 == "execute_tool run_sql").expect("an execute_tool span");
    assert_eq!(
        (tool.4["gen_ai.tool.name"].clone(), tool.4["gen_ai.tool.call.id"].clone()),
        (json!("run_sql"), json!("toolu_1"))
    );
    assert_eq!(tool.2, agent.1, "the tool call is a child of the run");
}
