//! Saved: the user's ⭐ answers with notes — search, edit a note, remove, jump to the conversation. The search and
//! the page are in the URL (`/saved?q=…&page=2`); editing and removing are `ActionForm`s that work before the WASM
//! has loaded, and the list reloads after each.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::rerun_report::RerunView;
use crate::api::{RemoveSaved, RerunEvery, RerunSaved, SavedChat, ScheduleSaved, UpdateSavedNote, list_saved};
use crate::app::auth::RequireUser;
use crate::app::chat::checks::CheckedMarkdown;
use crate::app::components::pager::{Pager, page_of};
use crate::app::components::search_form::SearchForm;
use crate::app::locale::{date_time, tr, use_i18n};
use crate::domain::Note;

/// `/saved`.
#[component]
pub fn SavedPage() -> impl IntoView {
    view! {
        <RequireUser>
            <Saved />
        </RequireUser>
    }
}

#[component]
fn Saved() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let search = move || query.read().get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let page = move || page_of(&query.read());
    let edit = ServerAction::<UpdateSavedNote>::new();
    let remove = ServerAction::<RemoveSaved>::new();
    let actions = SavedActions {
        edit,
        remove,
        rerun: ServerAction::<RerunSaved>::new(),
        schedule: ServerAction::<ScheduleSaved>::new(),
    };
    let (rerun, schedule) = (actions.rerun, actions.schedule);
    let list = Resource::new(
        move || {
            let versions =
                (edit.version().get(), remove.version().get(), rerun.version().get(), schedule.version().get());
            (search(), page(), versions)
        },
        |(search, page, _)| list_saved(search, page - 1),
    );
    view! {
        <section class="page list-page">
            <h1>{tr!(i18n, pages.saved_title)}</h1>
            <SearchForm
                action="/saved"
                label=tr!(i18n, pages.saved_search)
                value=Signal::derive(search)
            />
            {move || {
                let error = edit.value().get().and_then(Result::err)
                    .or_else(|| remove.value().get().and_then(Result::err))
                    .or_else(|| rerun.value().get().and_then(Result::err))
                    .or_else(|| schedule.value().get().and_then(Result::err));
                error.map(|e| view! { <ErrorAlert error=e /> })
            }}
            <Transition fallback=move || view! { <p class="muted">{tr!(i18n, pages.loading)}</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(result) if result.items.is_empty() => {
                            let text = if search().is_some() {
                                tr!(i18n, pages.no_matches).into_any()
                            } else {
                                tr!(i18n, pages.saved_empty).into_any()
                            };
                            view! { <p class="muted">{text}</p> }.into_any()
                        }
                        Ok(result) => {
                            let (page, has_more) = (page(), result.has_more);
                            view! {
                                <ul class="cards">
                                    {result.items.into_iter().map(|saved| view! { <SavedItem saved actions /> }).collect_view()}
                                </ul>
                                <Pager path="/saved" query=query.get_untracked() page has_more />
                            }
                            .into_any()
                        }
                        Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The writes a saved answer offers (one of each for the whole list, which reloads after any of them).
#[derive(Clone, Copy)]
struct SavedActions {
    edit: ServerAction<UpdateSavedNote>,
    remove: ServerAction<RemoveSaved>,
    rerun: ServerAction<RerunSaved>,
    schedule: ServerAction<ScheduleSaved>,
}

#[component]
fn SavedItem(saved: SavedChat, actions: SavedActions) -> impl IntoView {
    let SavedActions { edit, remove, rerun, schedule } = actions;
    let i18n = use_i18n();
    let every = saved.rerun_every.map_or("never", RerunEvery::as_str);
    let rerunning =
        move || rerun.pending().get() && rerun.input().with(|i| i.as_ref().is_some_and(|i| i.saved_id == saved.id));
    let report = saved.last_rerun.clone().map(|report| view! { <RerunView report /> });
    let can_rerun = saved.checks.as_ref().is_some_and(|c| !c.sources.is_empty());
    let id = saved.id;
    let at = saved.created_at;
    let link = saved.conversation_id.map(|c| format!("/c/{c}"));
    view! {
        <li class="card" data-testid="saved-item">
            <div class="card-head">
                <h2 class="card-title">{saved.question.clone()}</h2>
                <span class="muted small">{move || date_time(i18n.get_locale(), at)}</span>
            </div>
            <p class="note" data-testid="saved-note">
                {match saved.note.clone() {
                    Some(note) => note.into_any(),
                    None => tr!(i18n, pages.saved_no_note).into_any(),
                }}
            </p>
            <details>
                <summary>{tr!(i18n, pages.answer)}</summary>
                <CheckedMarkdown text=saved.response.clone() checks=saved.checks.clone() />
            </details>
            <div class="card-actions">
                <details class="note-editor">
                    <summary class="btn small" role="button">{tr!(i18n, pages.saved_edit_note)}</summary>
                    <ActionForm action=edit attr:class="note-form">
                        <input type="hidden" name="saved_id" value=id />
                        <label for=format!("saved-note-{id}")>{tr!(i18n, pages.saved_note)}</label>
                        <textarea id=format!("saved-note-{id}") name="note" rows="2" maxlength=Note::MAX_CHARS>
                            {saved.note.clone().unwrap_or_default()}
                        </textarea>
                        <button type="submit" class="btn small primary" disabled=move || edit.pending().get()>
                            {tr!(i18n, pages.saved_save_note)}
                        </button>
                    </ActionForm>
                </details>
                {link.map(|href| view! { <A href=href attr:class="btn small">{tr!(i18n, pages.open_conversation)}</A> })}
                {can_rerun.then(|| view! {
                    <ActionForm action=rerun>
                        <input type="hidden" name="saved_id" value=id />
                        <button type="submit" class="btn small" data-testid="rerun" disabled=move || rerun.pending().get()>
                            {move || if rerunning() { tr!(i18n, pages.saved_rerunning).into_any() } else { tr!(i18n, pages.saved_rerun).into_any() }}
                        </button>
                    </ActionForm>
                    <ActionForm action=schedule attr:class="schedule-form">
                        <input type="hidden" name="saved_id" value=id />
                        <label for=format!("saved-every-{id}") class="small">{tr!(i18n, pages.saved_schedule)}</label>
                        <select id=format!("saved-every-{id}") name="every" data-testid="rerun-every">
                            <option value="never" selected=every == "never">{tr!(i18n, pages.saved_schedule_never)}</option>
                            <option value="daily" selected=every == "daily">{tr!(i18n, pages.saved_schedule_daily)}</option>
                            <option value="weekly" selected=every == "weekly">{tr!(i18n, pages.saved_schedule_weekly)}</option>
                        </select>
                        <button type="submit" class="btn small" disabled=move || schedule.pending().get()>
                            {tr!(i18n, pages.saved_schedule_set)}
                        </button>
                    </ActionForm>
                })}
                <ActionForm action=remove>
                    <input type="hidden" name="saved_id" value=id />
                    <button type="submit" class="btn small danger" disabled=move || remove.pending().get()>
                        {tr!(i18n, pages.saved_remove)}
                    </button>
                </ActionForm>
            </div>
            {report}
        </li>
    }
}
