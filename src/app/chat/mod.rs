//! The chat page: the conversation's stored exchanges (server-rendered), live answers streamed from the agent,
//! re-attachment to a run still going after a reload, the composer and the conversations sidebar.
pub mod checks;
mod composer;
mod exchange;
mod sidebar;
pub mod state;

use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use uuid::Uuid;

use self::composer::Composer;
pub use self::composer::EarlyEnter;
use self::exchange::ExchangeCard;
use self::sidebar::Sidebar;
use self::state::{AnswerError, ExchangeView, Phase};
use crate::api::{
    ChatRequest, DeleteConversation, RenameConversation, RunEnd, RunEvent, conversation_exchanges, list_conversations,
};
use crate::app::auth::{Auth, RequireUser};
use crate::app::browser::{self, Follower};
use crate::app::locale::{t_string, tr, use_i18n};

/// `/` (a new conversation) and `/c/:id`: the parent of both routes, so it stays mounted between them.
#[component]
pub fn ChatPage() -> impl IntoView {
    view! {
        <RequireUser>
            <ChatView />
        </RequireUser>
    }
}

fn scroll_to_end() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let height = window.document().and_then(|d| d.body()).map_or(0, |b| b.scroll_height());
        window.scroll_to_with_x_and_y(0.0, f64::from(height));
    }
}

/// Example questions on an empty conversation, in the UI's language (all answerable by the offline demo model
/// too, which understands both).
fn examples(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>) -> [&'static str; 5] {
    [
        t_string!(i18n, chat.example_price),
        t_string!(i18n, chat.example_returns),
        t_string!(i18n, chat.example_movers),
        t_string!(i18n, chat.example_portfolio),
        t_string!(i18n, chat.example_chart),
    ]
}

#[component]
fn ChatView() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let navigate = use_navigate();
    let auth = Auth::get();
    let i18n = use_i18n();
    let route_id = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<Uuid>().ok()));
    // The conversation on screen: the route's, or the one a new run just created.
    let current = RwSignal::new(route_id.get_untracked());
    let stored = Resource::new(
        move || route_id.get(),
        |id| async move {
            match id {
                Some(id) => conversation_exchanges(id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let rename = ServerAction::<RenameConversation>::new();
    let delete = ServerAction::<DeleteConversation>::new();
    let conversations =
        Resource::new(move || (rename.version().get(), delete.version().get()), |_| list_conversations());
    let live = RwSignal::new(Vec::<ExchangeView>::new());
    // The browser's connection to a run is not `Send`; on the server there is never one (and values created during
    // SSR may be dropped on another thread), so only the browser build stores it thread-locally.
    #[cfg(feature = "hydrate")]
    let follower = StoredValue::new_local(None::<Follower>);
    #[cfg(not(feature = "hydrate"))]
    let follower = StoredValue::new(None::<Follower>);
    let run_id = RwSignal::new(None::<Uuid>);
    let reconnecting = RwSignal::new(false);
    let streaming = Signal::derive(move || live.with(|l| l.last().is_some_and(ExchangeView::is_streaming)));
    let context_size = move || auth.current().map_or(10, |u| u.context_exchanges as usize);

    let on_event = move |event: RunEvent| {
        let done = matches!(event, RunEvent::Done { .. });
        live.update(|l| {
            if let Some(last) = l.last_mut() {
                last.apply(event);
            }
        });
        if done {
            run_id.set(None);
            reconnecting.set(false);
            conversations.refetch();
        }
    };
    let attach = move |run: Uuid| match browser::follow(run, 0, on_event, move |up| reconnecting.set(!up)) {
        Ok(f) => follower.set_value(Some(f)),
        Err(error) => live.update(|l| {
            if let Some(last) = l.last_mut() {
                last.error = Some(AnswerError::Refused(error));
                last.phase = Phase::Ended(RunEnd::Error);
            }
        }),
    };

    // A different conversation was opened: show it (keeping a run of it that is still streaming), and re-attach
    // to its unfinished run if there is one (a reload in the middle of an answer).
    Effect::new(move |previous: Option<Option<Uuid>>| {
        let id = route_id.get();
        if previous.is_some_and(|p| p == id) {
            return id;
        }
        let keeps_live = id.is_some() && current.get_untracked() == id && streaming.get_untracked();
        if !keeps_live {
            follower.set_value(None);
            live.set(Vec::new());
            run_id.set(None);
        }
        current.set(id);
        if let (Some(id), false) = (id, keeps_live) {
            leptos::task::spawn_local(async move {
                if let Ok(Some(handle)) = browser::active_run(id).await
                    && current.get_untracked() == Some(id)
                {
                    live.set(vec![ExchangeView::pending(String::new())]);
                    run_id.set(Some(handle.run_id));
                    attach(handle.run_id);
                }
            });
        }
        id
    });
    Effect::new(move |_| {
        if live.with(Vec::len) > 0 {
            scroll_to_end();
        }
    });

    let send = Callback::new({
        let navigate = navigate.clone();
        move |question: String| {
            let conversation_id = current.get_untracked();
            live.update(|l| l.push(ExchangeView::pending(question.clone())));
            scroll_to_end();
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                match browser::start_run(&ChatRequest { message: question, conversation_id }).await {
                    Ok(handle) => {
                        if conversation_id.is_none() {
                            // Through the router, so its location matches the address bar; the view stays mounted
                            // and keeps the live answer (see the effect above).
                            current.set(Some(handle.conversation_id));
                            navigate(
                                &format!("/c/{}", handle.conversation_id),
                                NavigateOptions { replace: true, scroll: false, ..Default::default() },
                            );
                        }
                        run_id.set(Some(handle.run_id));
                        attach(handle.run_id);
                    }
                    Err(error) => live.update(|l| {
                        if let Some(last) = l.last_mut() {
                            last.error = Some(AnswerError::Refused(error));
                            last.phase = Phase::Ended(RunEnd::Error);
                        }
                    }),
                }
            });
        }
    });
    let stop = move || {
        if let Some(id) = run_id.get_untracked() {
            leptos::task::spawn_local(async move {
                let _ = browser::stop_run(id).await;
            });
        }
    };
    let new_conversation = move || {
        follower.set_value(None);
        live.set(Vec::new());
        run_id.set(None);
        current.set(None);
        navigate("/", Default::default());
    };

    // The conversation on screen was deleted: start a new one.
    let after_delete = new_conversation.clone();
    Effect::new(move |_| {
        if let Some(Ok(deleted)) = delete.value().get()
            && current.get_untracked() == Some(deleted)
        {
            after_delete();
        }
    });

    // Which exchanges the model will see with the next question: the last N with an answer.
    let in_context = move |position_from_end: usize| position_from_end < context_size();

    view! {
        <div class="chat-layout">
            <Sidebar
                conversations
                current=Signal::derive(move || current.get())
                rename
                delete
                on_new=new_conversation
            />
            <section class="chat" aria-label=tr!(i18n, chat.conversation_label)>
                <Transition fallback=move || view! { <p class="muted">{tr!(i18n, chat.loading_conversation)}</p> }>
                    {move || Suspend::new(async move {
                        match stored.await {
                            Ok(mut exchanges) => {
                                // An answer that finished while the page was fetching this list is already shown
                                // live.
                                let live_ids: Vec<i64> = live.with_untracked(|l| l.iter().filter_map(|x| x.chat_log_id).collect());
                                exchanges.retain(|e| !live_ids.contains(&e.chat_log_id));
                                let total = exchanges.len();
                                let empty = exchanges.is_empty();
                                view! {
                                    <Show when=move || empty && live.with(Vec::is_empty)>
                                        <div class="welcome">
                                            <h1>{tr!(i18n, chat.welcome_title)}</h1>
                                            <p class="muted">{tr!(i18n, chat.welcome_lead)}</p>
                                            // Without the WASM, a plain form post asks the question.
                                            <form
                                                class="examples"
                                                method="post"
                                                action="/chat/ask"
                                                role="group"
                                                aria-label=tr!(i18n, chat.examples_label)
                                            >
                                                {move || examples(i18n)
                                                    .into_iter()
                                                    .map(|q| {
                                                        view! {
                                                            <button
                                                                type="submit"
                                                                class="btn example"
                                                                name="message"
                                                                value=q
                                                                on:click=move |ev| {
                                                                    ev.prevent_default();
                                                                    send.run(q.to_string());
                                                                }
                                                            >
                                                                {q}
                                                            </button>
                                                        }
                                                    })
                                                    .collect_view()
                                                }
                                            </form>
                                        </div>
                                    </Show>
                                    {exchanges
                                        .into_iter()
                                        .enumerate()
                                        .map(|(i, e)| {
                                            let view_model = ExchangeView::from_stored(&e);
                                            let has_answer = !view_model.text.is_empty();
                                            let marked = move || {
                                                let after = total - 1 - i + live.with(|l| l.iter().filter(|x| !x.text.is_empty() && !x.is_streaming()).count());
                                                has_answer && in_context(after)
                                            };
                                            view! { <ExchangeCard exchange=view_model in_context=marked /> }
                                        })
                                        .collect_view()}
                                }
                                .into_any()
                            }
                            Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                        }
                    })}
                </Transition>
                <For each=move || 0..live.with(Vec::len) key=|i| *i let:i>
                    {
                        let exchange = Signal::derive(move || {
                            live.with(|l| l.get(i).cloned().unwrap_or_else(|| ExchangeView::pending(String::new())))
                        });
                        let marked = move || {
                            live.with(|l| {
                                let later = l.iter().skip(i + 1).filter(|x| !x.text.is_empty() && !x.is_streaming()).count();
                                l.get(i).is_some_and(|x| !x.is_streaming() && !x.text.is_empty()) && in_context(later)
                            })
                        };
                        view! { <ExchangeCard exchange in_context=marked /> }
                    }
                </For>
                // A question asked by a plain form post (before the WASM) that was refused.
                {move || {
                    query.read().get("ask_error").map(|e| view! { <p class="error" role="alert">{e}</p> })
                }}
                <Show when=move || reconnecting.get() && streaming.get()>
                    <p class="notice" role="status">{tr!(i18n, chat.reconnecting)}</p>
                </Show>
                <Composer
                    streaming
                    conversation=Signal::derive(move || current.get())
                    on_send=move |q| send.run(q)
                    on_stop=stop
                />
            </section>
        </div>
    }
}
