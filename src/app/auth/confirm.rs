//! `/auth/confirm?token_hash=…&type=email&next=…`, where emailed sign-in links land: "Continue as …", a button
//! that signs in on POST. Opening the link spends nothing — mail scanners that open links, and pages elsewhere that
//! link here to sign a visitor into someone else's account, get only this page. A link that cannot work goes to
//! `/login`, which says why and offers a new one.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use super::{Auth, LoginLink};
use crate::api::{ConfirmSignIn, LinkState, sign_in_link};
use crate::app::locale::{t, tr, use_i18n};
use crate::domain::local_path;

/// The confirmation page.
#[component]
pub fn ConfirmPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token_hash = move || query.read().get("token_hash").unwrap_or_default();
    // Empty when the link carries none: the server then goes where the visitor was when they asked for it.
    let next = move || query.read().get("next").map(|n| local_path(Some(&n)).to_owned()).unwrap_or_default();
    let link = Resource::new(token_hash, |token_hash| async move {
        if token_hash.is_empty() { Ok(LinkState::Invalid) } else { sign_in_link(token_hash).await }
    });
    view! {
        <section class="page login-page">
            <h1>{tr!(i18n, auth.sign_in_title)}</h1>
            <Suspense fallback=move || view! { <p class="muted">{tr!(i18n, auth.checking_link)}</p> }>
                {move || Suspend::new(async move {
                    match link.await {
                        Ok(LinkState::Ready { email }) => {
                            view! { <Continue token_hash=token_hash() next=next() email /> }.into_any()
                        }
                        Ok(refused) => {
                            let next = next();
                            let next = if next.is_empty() { "/" } else { next.as_str() };
                            let to = LoginLink { next, error: refused.error_code(), ..LoginLink::default() }.url();
                            view! { <Redirect path=to /> }.into_any()
                        }
                        Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Continue(token_hash: String, next: String, email: Option<String>) -> impl IntoView {
    let auth = Auth::get();
    let i18n = use_i18n();
    let confirm = ServerAction::<ConfirmSignIn>::new();
    auth.reload_after(confirm);
    let label = {
        let email = email.clone();
        move || match email.clone() {
            Some(email) => t!(i18n, auth.continue_as, email).into_any(),
            None => tr!(i18n, auth.continue_signing_in).into_any(),
        }
    };
    let failed_to = LoginLink {
        next: if next.is_empty() { "/" } else { next.as_str() },
        email: email.as_deref(),
        error: Some("link_invalid"),
        ..LoginLink::default()
    }
    .url();
    view! {
        <p class="lead">
            {match email.clone() {
                Some(email) => t!(i18n, auth.link_for, email).into_any(),
                None => tr!(i18n, auth.opened_link).into_any(),
            }}
        </p>
        <ActionForm action=confirm attr:class="login-form">
            <input type="hidden" name="token_hash" value=token_hash />
            <input type="hidden" name="next" value=next />
            <button type="submit" class="btn primary" disabled=move || confirm.pending().get()>
                {move || if confirm.pending().get() { tr!(i18n, auth.signing_in).into_any() } else { label() }}
            </button>
        </ActionForm>
        <p class="muted small">{tr!(i18n, auth.not_you)}</p>
        // The link was spent or expired between opening and continuing.
        {move || confirm.value().get().and_then(Result::err).map(|_| view! { <Redirect path=failed_to.clone() /> })}
    }
}
