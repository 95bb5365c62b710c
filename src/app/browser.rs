//! Browser-only I/O for the chat: starting, following, stopping runs. Server-rendered code never calls these (they
//! run from event handlers and effects, which only run after hydration); on the server they are inert.
use crate::api::{AppError, ChatRequest, RunEvent, RunHandle};

/// Keeps a run's event stream open; dropping it closes the connection.
pub struct Follower {
    #[cfg(feature = "hydrate")]
    source: web_sys::EventSource,
    #[cfg(feature = "hydrate")]
    _callbacks: Vec<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        #[cfg(feature = "hydrate")]
        self.source.close();
    }
}

/// The error of a failed JSON request: the server's typed `reason`, else the HTTP status as a transport error
/// (a proxy's error page, say).
#[cfg(feature = "hydrate")]
async fn error_of(response: gloo_net::http::Response) -> AppError {
    #[derive(serde::Deserialize)]
    struct Body {
        reason: AppError,
    }
    let status = response.status();
    match response.json::<Body>().await {
        Ok(body) => body.reason,
        Err(_) => AppError::Transport(format!("HTTP {status}")),
    }
}

/// A request that never got an answer (offline, connection reset) or whose answer did not parse.
#[cfg(feature = "hydrate")]
fn transport(e: impl std::fmt::Display) -> AppError {
    AppError::Transport(e.to_string())
}

/// Starts a run; returns its handle, or why not.
pub async fn start_run(request: &ChatRequest) -> Result<RunHandle, AppError> {
    #[cfg(feature = "hydrate")]
    {
        let response = gloo_net::http::Request::post("/chat/stream")
            .header("Accept", "application/json")
            .json(request)
            .map_err(transport)?
            .send()
            .await
            .map_err(transport)?;
        if !response.ok() {
            return Err(error_of(response).await);
        }
        response.json().await.map_err(transport)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = request;
        Err(AppError::Transport("runs start in the browser".into()))
    }
}

/// The unfinished run of a conversation, if any (after a reload).
pub async fn active_run(conversation_id: uuid::Uuid) -> Result<Option<RunHandle>, AppError> {
    #[cfg(feature = "hydrate")]
    {
        let response = gloo_net::http::Request::get(&format!("/chat/runs/active?conversation_id={conversation_id}"))
            .send()
            .await
            .map_err(transport)?;
        if !response.ok() {
            return Err(error_of(response).await);
        }
        response.json().await.map_err(transport)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = conversation_id;
        Ok(None)
    }
}

/// Asks the server to stop a run.
pub async fn stop_run(run_id: uuid::Uuid) -> Result<(), AppError> {
    #[cfg(feature = "hydrate")]
    {
        let response =
            gloo_net::http::Request::post(&format!("/chat/runs/{run_id}/stop")).send().await.map_err(transport)?;
        if response.ok() { Ok(()) } else { Err(error_of(response).await) }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = run_id;
        Ok(())
    }
}

/// Follows a run's events from index `after`, calling `on_event` for each, in order. The browser's `EventSource`
/// reconnects by itself after a network hiccup (resuming after the last event it saw); `on_connection` is told
/// whether the connection is up.
pub fn follow(
    run_id: uuid::Uuid,
    after: usize,
    on_event: impl Fn(RunEvent) + 'static,
    on_connection: impl Fn(bool) + 'static,
) -> Result<Follower, AppError> {
    #[cfg(feature = "hydrate")]
    {
        use std::rc::Rc;
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;

        let source = web_sys::EventSource::new(&format!("/chat/runs/{run_id}/events?after={after}"))
            .map_err(|_| AppError::Transport("the answer stream did not open".into()))?;
        let on_event = Rc::new(on_event);
        let on_connection = Rc::new(on_connection);
        // Index of the next event expected: anything older (a replay after a reconnect) is dropped.
        let next = Rc::new(std::cell::Cell::new(after));
        let mut callbacks = Vec::new();
        // One listener per kind, all feeding the same handler: the browser dispatches them in arrival order.
        for kind in ["run_started", "text_delta", "tool_call", "tool_result", "usage", "checked", "run_error", "done"] {
            let on_event = Rc::clone(&on_event);
            let on_connection = Rc::clone(&on_connection);
            let source_for_close = source.clone();
            let next = Rc::clone(&next);
            let callback = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
                on_connection(true);
                if let Ok(index) = message.last_event_id().parse::<usize>() {
                    if index < next.get() {
                        return;
                    }
                    next.set(index + 1);
                }
                let Some(data) = message.data().as_string() else { return };
                if let Ok(event) = serde_json::from_str::<RunEvent>(&data) {
                    let done = matches!(event, RunEvent::Done { .. });
                    on_event(event);
                    if done {
                        // The run is over: stop the browser from reconnecting.
                        source_for_close.close();
                    }
                }
            });
            source
                .add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())
                .map_err(|_| AppError::Transport("the answer stream could not be followed".into()))?;
            callbacks.push(callback);
        }
        let error_callback = {
            let on_connection = Rc::clone(&on_connection);
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_event: web_sys::MessageEvent| on_connection(false))
        };
        source.set_onerror(Some(error_callback.as_ref().unchecked_ref()));
        callbacks.push(error_callback);
        Ok(Follower { source, _callbacks: callbacks })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (run_id, after, on_event, on_connection);
        Ok(Follower {})
    }
}
