//! Edit SQL on a query step of an answer: the user's version runs through the same guard, is kept with the answer
//! (shown after a reload), and the model is told with the next question that the user changed it.
use serde_json::json;
use tradechat::server::agent::fake_anthropic::{FakeAnthropic, sse, stream};

use crate::helpers::{AppOptions, TestUser, model_env, spawn_app_with};

#[tokio::test]
async fn an_edited_step_is_kept_with_its_answer_and_told_to_the_model_next_time() {
    let fake = FakeAnthropic::start().await.expect("fake");
    let original = "SELECT symbol, close FROM daily_bars ORDER BY date DESC, symbol LIMIT 2";
    let r1 = sse::tool_round("toolu_1", "run_sql", &json!({ "sql": original }), 1000, 20);
    fake.script([
        stream(r1),
        stream(sse::text_answer("Two closes.", 1100, 5)),
        stream(sse::text_answer("Noted.", 1200, 2)),
    ]);
    let app = spawn_app_with(AppOptions { env: model_env(&fake, &[]), ..AppOptions::default() }).await;
    let user = TestUser::sign_up(&app, "editor@example.com").await;
    let events = user.ask("Show me two closes").await;
    let chat_log_id = events.last().expect("done").data["chat_log_id"].as_i64().expect("logged").to_string();
    let conversation_id = events[0].data["conversation_id"].as_str().expect("conversation").to_owned();
    // An answer that states no number streams no check, but keeps its rows for a re-run.
    assert!(!events.iter().any(|e| e.event == "checked"));
    let log_id = chat_log_id.parse::<i64>().expect("id");
    app.state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(5)).await;
    let stored: serde_json::Value = sqlx::query_scalar("SELECT checks FROM chat_logs WHERE id = $1")
        .bind(log_id)
        .fetch_one(&app.state.db)
        .await
        .expect("checks");
    assert_eq!(stored["numbers"], json!([]));
    assert_eq!(stored["sources"][0]["rows"].as_array().map(Vec::len), Some(2));

    let edited = "SELECT symbol FROM instruments ORDER BY symbol LIMIT 3";
    let edit = |sql: &'static str, step: &'static str| {
        let id = chat_log_id.clone();
        let user = &user;
        async move { user.server_fn("chat/edit-step", &[("chat_log_id", &id), ("step", step), ("sql", sql)]).await }
    };
    let (status, result) = edit(edited, "0").await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["preview"]["rows"].as_array().map(Vec::len), Some(3));
    // The guard applies to what the user writes, and a refused edit is not kept.
    let (status, refused) = edit("DELETE FROM daily_bars", "0").await;
    assert_eq!(status, 400);
    assert!(refused.to_string().contains("read-only"), "{refused}");
    // There is no query step 1 to edit, and nobody else can edit this answer.
    assert_eq!(edit(edited, "1").await.0, 404);
    let intruder = TestUser::sign_up(&app, "not-the-editor@example.com").await;
    let theirs = [("chat_log_id", chat_log_id.as_str()), ("step", "0"), ("sql", "SELECT 1")];
    assert_eq!(intruder.server_fn("chat/edit-step", &theirs).await.0, 404);

    // After a reload the step shows the edited SQL.
    let (status, exchanges) = user.server_fn("conversations/get", &[("conversation_id", &conversation_id)]).await;
    assert_eq!(status, 200);
    assert_eq!(exchanges[0]["edits"], json!([{ "step": 0, "sql": edited }]));

    // The next question's context tells the model that the user changed the step, and to what.
    user.ask_in(&conversation_id, "What changed?").await;
    let requests = fake.requests();
    let context = requests.last().expect("the follow-up's request")["messages"].to_string();
    assert!(context.contains("The user changed the SQL of step 1 of this answer"), "{context}");
    assert!(context.contains(edited), "{context}");
}
