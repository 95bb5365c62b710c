//! The sign-in forms — emailed link, emailed code, password (sign in or create an account) — as the dialog a
//! signed-out page shows and as the bookmarkable `/login` page. Every form is an `ActionForm`: it works as a plain
//! HTML form before the WASM has loaded, and its busy and error states come from its action. The three ways in
//! are radio-button tabs switched by CSS alone, so they work before the WASM too.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_query_map};

use super::Auth;
use crate::api::{
    AppError, EmailMethod, SendSignInEmail, SignInOptions, SignInWithPassword, VerifyEmailCode, sign_in_methods,
};
use crate::app::locale::{Locale, t, t_string, tr, use_i18n};
use crate::domain::local_path;

/// The sign-in dialog over a page that needs a user; afterwards the page itself shows.
#[component]
pub fn LoginModal() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    // Where the visitor is, to come back to after signing in (read once: the dialog is drawn for this page).
    let here = move || match location.search.get_untracked() {
        search if search.is_empty() => location.pathname.get_untracked(),
        search => format!("{}?{search}", location.pathname.get_untracked()),
    };
    view! {
        <div class="modal-backdrop">
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby="login-title">
                <h2 id="login-title">{tr!(i18n, auth.sign_in_title)}</h2>
                <p class="muted">{tr!(i18n, auth.sign_in_lead)}</p>
                <LoginForm next=here() />
            </div>
        </div>
    }
}

/// `/login?next=…`: the same forms on a page of their own. Signed-in visitors go straight on to `next`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = Auth::get();
    let i18n = use_i18n();
    let query = use_query_map();
    let next = move || local_path(query.read().get("next").as_deref()).to_owned();
    view! {
        <Suspense fallback=move || view! { <p class="muted boot">{tr!(i18n, auth.loading)}</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(_)) => view! { <Redirect path=next() /> }.into_any(),
                    _ => {
                        view! {
                            <section class="page login-page" aria-labelledby="login-title">
                                <h1 id="login-title">{tr!(i18n, auth.sign_in_title)}</h1>
                                <p class="muted">{tr!(i18n, auth.sign_in_lead)}</p>
                                <LoginForm next=next() />
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Why an emailed link did not sign the visitor in, from `/login?error=`.
fn link_error(i18n: leptos_i18n::I18nContext<Locale>, code: &str) -> &'static str {
    match code {
        "link_used" => t_string!(i18n, auth.link_used),
        "link_expired" => t_string!(i18n, auth.link_expired),
        _ => t_string!(i18n, auth.link_invalid),
    }
}

/// A tab of the sign-in methods: the radio button `value` and its label.
fn tab(value: &'static str, label: impl IntoView + 'static, checked: bool) -> impl IntoView {
    view! {
        <input
            type="radio"
            class="tab-radio sr-only"
            name="login-method"
            id=format!("login-method-{value}")
            value=value
            checked=checked
        />
        <label for=format!("login-method-{value}") class="tab">
            {label}
        </label>
    }
}

/// The three ways in, going on to `next` afterwards.
#[component]
fn LoginForm(next: String) -> impl IntoView {
    let i18n = use_i18n();
    let methods = Resource::new(|| (), |_| sign_in_methods());
    let next = StoredValue::new(next);
    view! {
        <Suspense fallback=move || view! { <p class="muted">{tr!(i18n, auth.loading)}</p> }>
            {move || Suspend::new(async move {
                match methods.await {
                    Ok(methods) => view! { <LoginTabs methods next=next.get_value() /> }.into_any(),
                    Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LoginTabs(methods: SignInOptions, next: String) -> impl IntoView {
    let auth = Auth::get();
    let i18n = use_i18n();
    let query = use_query_map();
    let send = ServerAction::<SendSignInEmail>::new();
    let verify = ServerAction::<VerifyEmailCode>::new();
    let password = ServerAction::<SignInWithPassword>::new();
    auth.reload_after(verify);
    auth.reload_after(password);

    let (arrived_email, arrived_sent, arrived_error) = query.with_untracked(|q| {
        (q.get("email").unwrap_or_default(), q.get("sent").map(|m| EmailMethod::parse(&m)), q.get("error"))
    });
    // Typed once, shown in every tab's email field (each form keeps its own field so each works without the WASM).
    let email = RwSignal::new(arrived_email.clone());
    // The email just sent: this page's action, else a plain form post that came back here with it in the URL.
    let sent = Signal::derive(move || match send.value().get() {
        Some(Ok(sent)) => Some((sent.email, sent.method)),
        _ => arrived_sent.map(|m| (arrived_email.clone(), m)),
    });
    let initial = match arrived_sent {
        _ if !methods.email => "password",
        Some(EmailMethod::Code) => "code",
        _ => "link",
    };
    let outbox = methods.outbox.clone();
    let notice = move || {
        sent.get().map(|(to, method)| {
            let text = match method {
                EmailMethod::Link => t!(i18n, auth.email_sent_link, to).into_any(),
                EmailMethod::Code => t!(i18n, auth.email_sent_code, to).into_any(),
            };
            view! {
                <div class="notice" role="status" data-testid="email-sent">
                    <p>{text}</p>
                    {outbox.clone().map(|href| {
                        view! {
                            <p data-testid="outbox-hint">
                                {tr!(i18n, auth.outbox_hint)}
                                // Not an app page: the router must let the browser load it.
                                <a href=href rel="external">{tr!(i18n, auth.outbox_link)}</a>
                                "."
                            </p>
                        }
                    })}
                </div>
            }
        })
    };
    let email_field = move |id: &'static str| {
        view! {
            <label for=id>{tr!(i18n, auth.email)}</label>
            <input
                id=id
                name="email"
                type="email"
                autocomplete="email"
                required
                value=move || email.get()
                on:input=move |ev| email.set(event_target_value(&ev))
            />
        }
    };
    let error_of = |e: AppError| view! { <ErrorAlert error=e /> };
    let next = StoredValue::new(next);
    let next_field = move || view! { <input type="hidden" name="next" value=next.get_value() /> };
    view! {
        <div class="login" data-testid="sign-in">
            {arrived_error.map(|code| view! { <p class="error" role="alert" data-testid="link-error">{move || link_error(i18n, &code)}</p> })}
            <div class="tabs" role="radiogroup" aria-label=tr!(i18n, auth.how_to_sign_in)>
                {tab("link", tr!(i18n, auth.tab_link), initial == "link")}
                {tab("code", tr!(i18n, auth.tab_code), initial == "code")}
                {tab("password", tr!(i18n, auth.tab_password), initial == "password")}
            </div>
            <div class="login-panel panel-link" data-testid="login-link">
                {if methods.email {
                    view! {
                        <ActionForm action=send attr:class="login-form">
                            {email_field("login-link-email")}
                            <input type="hidden" name="method" value="link" />
                            {next_field()}
                            <button type="submit" class="btn primary" disabled=move || send.pending().get()>
                                {move || if send.pending().get() { t_string!(i18n, auth.sending) } else if sent.get().is_some() { t_string!(i18n, auth.send_link_again) } else { t_string!(i18n, auth.send_link) }}
                            </button>
                        </ActionForm>
                    }
                        .into_any()
                } else {
                    view! { <p class="muted">{tr!(i18n, auth.no_email)}</p> }.into_any()
                }}
            </div>
            <div class="login-panel panel-code" data-testid="login-code">
                {if methods.email {
                    view! {
                        <ActionForm action=send attr:class="login-form">
                            {email_field("login-code-email")}
                            <input type="hidden" name="method" value="code" />
                            {next_field()}
                            <button type="submit" class="btn" disabled=move || send.pending().get()>
                                {move || if send.pending().get() { t_string!(i18n, auth.sending) } else if sent.get().is_some() { t_string!(i18n, auth.send_code_again) } else { t_string!(i18n, auth.send_code) }}
                            </button>
                        </ActionForm>
                        <Show when=move || sent.get().is_some()>
                            <ActionForm action=verify attr:class="login-form">
                                <input type="hidden" name="email" value=move || sent.get().map(|(to, _)| to).unwrap_or_default() />
                                <label for="login-code">{tr!(i18n, auth.code_label)}</label>
                                <input
                                    id="login-code"
                                    name="code"
                                    inputmode="numeric"
                                    autocomplete="one-time-code"
                                    maxlength="6"
                                    pattern="[0-9]{6}"
                                    required
                                />
                                <button type="submit" class="btn primary" disabled=move || verify.pending().get()>
                                    {move || if verify.pending().get() { t_string!(i18n, auth.signing_in) } else { t_string!(i18n, auth.sign_in_with_code) }}
                                </button>
                            </ActionForm>
                        </Show>
                        {move || verify.value().get().and_then(Result::err).map(error_of)}
                    }
                        .into_any()
                } else {
                    view! { <p class="muted">{tr!(i18n, auth.no_email)}</p> }.into_any()
                }}
            </div>
            {notice}
            {move || send.value().get().and_then(Result::err).map(error_of)}
            <div class="login-panel panel-password" data-testid="login-password">
                <ActionForm action=password attr:class="login-form">
                    {email_field("login-password-email")}
                    <label for="login-password">{tr!(i18n, auth.password)}</label>
                    <input
                        id="login-password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        minlength="8"
                        required
                    />
                    <div class="form-actions">
                        <button type="submit" class="btn primary" disabled=move || password.pending().get()>
                            {move || if password.pending().get() { t_string!(i18n, auth.working) } else { t_string!(i18n, auth.sign_in) }}
                        </button>
                        <button
                            type="submit"
                            class="btn"
                            name="create"
                            value="true"
                            disabled=move || password.pending().get()
                        >
                            {tr!(i18n, auth.create_account)}
                        </button>
                    </div>
                    <p class="muted small">{tr!(i18n, auth.new_here)}</p>
                </ActionForm>
                {move || password.value().get().and_then(Result::err).map(error_of)}
            </div>
        </div>
    }
}
