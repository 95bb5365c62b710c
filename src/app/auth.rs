//! Signing in, in the UI: the current user (server-rendered, then kept in the browser), the login modal the seed
//! calls AuthGuard + LoginModal (magic link, email code, password sign-in and sign-up), and the user menu.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{
    AppError, UserInfo, change_password, current_user, send_sign_in_email, set_display_name, sign_in_with_password,
    sign_out, sign_up_with_password, verify_email_code,
};

/// The signed-in user, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    /// Loads the user (during SSR from the session cookie).
    pub user: Resource<Result<Option<UserInfo>, AppError>>,
}

impl Auth {
    /// Provides the context; call once in the root component.
    pub fn provide() -> Self {
        let auth = Self { user: Resource::new(|| (), |_| current_user()) };
        provide_context(auth);
        auth
    }

    /// The context.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The user, once loaded (`None` while loading or signed out).
    pub fn current(&self) -> Option<UserInfo> {
        self.user.get().and_then(Result::ok).flatten()
    }
}

/// Shows `children` to signed-in users and the login modal to everyone else.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let auth = Auth::get();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted boot">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(_)) => children.read_value()().into_any(),
                    Ok(None) => view! { <LoginModal /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Link,
    Code,
    Password,
}

/// The login modal: magic link, email code, or password (sign in / sign up).
#[component]
pub fn LoginModal() -> impl IntoView {
    let auth = Auth::get();
    let query = use_query_map();
    let hydrated = crate::app::use_hydrated();
    let tab = RwSignal::new(Tab::Link);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let creating = RwSignal::new(false);
    let sent = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(query.with_untracked(|q| {
        q.get("auth_error").map(|_| "That sign-in link is invalid or has expired; request a new one.".to_owned())
    }));
    let signed_in = move |result: Result<UserInfo, AppError>| match result {
        Ok(_) => auth.user.refetch(),
        Err(e) => error.set(Some(e.to_string())),
    };
    let send_email = move || {
        busy.set(true);
        error.set(None);
        let address = email.get_untracked();
        leptos::task::spawn_local(async move {
            match send_sign_in_email(address).await {
                Ok(()) => sent.set(true),
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (address, secret) = (email.get_untracked(), password.get_untracked());
        match tab.get_untracked() {
            Tab::Link => send_email(),
            Tab::Code if !sent.get_untracked() => send_email(),
            Tab::Code => {
                busy.set(true);
                let digits = code.get_untracked();
                leptos::task::spawn_local(async move {
                    signed_in(verify_email_code(address, digits).await);
                    busy.set(false);
                });
            }
            Tab::Password => {
                busy.set(true);
                error.set(None);
                let create = creating.get_untracked();
                leptos::task::spawn_local(async move {
                    let result = if create {
                        sign_up_with_password(address, secret).await
                    } else {
                        sign_in_with_password(address, secret).await
                    };
                    signed_in(result);
                    busy.set(false);
                });
            }
        }
    };
    let select = move |t: Tab| {
        tab.set(t);
        sent.set(false);
        error.set(None);
    };
    let tab_button = move |t: Tab, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                class="tab"
                disabled=move || !hydrated.get()
                aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| select(t)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="modal-backdrop">
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby="login-title">
                <h2 id="login-title">"Sign in to tradechat"</h2>
                <p class="muted">
                    "Your questions, answers and saved items stay private to your account. Forgot your password? Sign in with a magic link, then set a new one in your menu."
                </p>
                <div class="tabs" role="tablist">
                    {tab_button(Tab::Link, "Magic link")}
                    {tab_button(Tab::Code, "Email code")}
                    {tab_button(Tab::Password, "Password")}
                </div>
                <form class="login-form" on:submit=submit>
                    <label for="login-email">"Email"</label>
                    <input
                        id="login-email"
                        type="email"
                        autocomplete="email"
                        required
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                    <Show when=move || tab.get() == Tab::Password>
                        <label for="login-password">"Password"</label>
                        <input
                            id="login-password"
                            type="password"
                            autocomplete=move || if creating.get() { "new-password" } else { "current-password" }
                            minlength="8"
                            required
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                    </Show>
                    <Show when=move || tab.get() == Tab::Code && sent.get()>
                        <label for="login-code">"6-digit code"</label>
                        <input
                            id="login-code"
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            maxlength="6"
                            pattern="[0-9]{6}"
                            required
                            prop:value=move || code.get()
                            on:input=move |ev| code.set(event_target_value(&ev))
                        />
                    </Show>
                    <Show when=move || sent.get()>
                        <p class="notice" role="status">
                            {move || {
                                format!(
                                    "Check your email: we sent a sign-in link{} to {}.",
                                    if tab.get() == Tab::Code { " and a 6-digit code" } else { "" },
                                    email.get(),
                                )
                            }}
                        </p>
                    </Show>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <button type="submit" class="btn primary" disabled=move || busy.get() || !hydrated.get()>
                        {move || match (tab.get(), sent.get(), creating.get()) {
                            _ if busy.get() => "Working…",
                            (Tab::Link, false, _) => "Email me a sign-in link",
                            (Tab::Link, true, _) => "Send the link again",
                            (Tab::Code, false, _) => "Email me a code",
                            (Tab::Code, true, _) => "Sign in with the code",
                            (Tab::Password, _, false) => "Sign in",
                            (Tab::Password, _, true) => "Create account",
                        }}
                    </button>
                    <Show when=move || tab.get() == Tab::Password>
                        <button type="button" class="link-btn" on:click=move |_| creating.update(|c| *c = !*c)>
                            {move || {
                                if creating.get() {
                                    "Have an account? Sign in"
                                } else {
                                    "New here? Create an account"
                                }
                            }}
                        </button>
                    </Show>
                </form>
            </div>
        </div>
    }
}

/// The header's user menu: name or email, display name, sign out.
#[component]
pub fn UserMenu(user: UserInfo) -> impl IntoView {
    let auth = Auth::get();
    let hydrated = crate::app::use_hydrated();
    let open = RwSignal::new(false);
    let name = RwSignal::new(user.display_name.clone().unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let new_password = RwSignal::new(String::new());
    let password_status = RwSignal::new(None::<String>);
    let save_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = new_password.get_untracked();
        leptos::task::spawn_local(async move {
            password_status.set(Some(match change_password(value).await {
                Ok(()) => {
                    new_password.set(String::new());
                    "Password saved.".into()
                }
                Err(e) => e.to_string(),
            }));
        });
    };
    let label = user.label();
    let save_name = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = name.get_untracked();
        leptos::task::spawn_local(async move {
            match set_display_name(value).await {
                Ok(_) => {
                    error.set(None);
                    open.set(false);
                    auth.user.refetch();
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let do_sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = sign_out().await;
            auth.user.refetch();
        });
    };
    view! {
        <div class="user-menu">
            <button
                type="button"
                class="btn user-btn"
                disabled=move || !hydrated.get()
                aria-expanded=move || open.get().to_string()
                aria-haspopup="true"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span data-testid="user-label">{label}</span>
            </button>
            <Show when=move || open.get()>
                <div class="menu" role="menu">
                    <form class="name-form" on:submit=save_name>
                        <label for="display-name">"Display name"</label>
                        <input
                            id="display-name"
                            maxlength="100"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                        />
                        <button type="submit" class="btn small">"Save"</button>
                    </form>
                    {move || error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
                    <form class="name-form" on:submit=save_password>
                        <label for="new-password">"New password"</label>
                        <input
                            id="new-password"
                            type="password"
                            autocomplete="new-password"
                            minlength="8"
                            required
                            prop:value=move || new_password.get()
                            on:input=move |ev| new_password.set(event_target_value(&ev))
                        />
                        <button type="submit" class="btn small">"Set password"</button>
                    </form>
                    {move || password_status.get().map(|s| view! { <p class="small" role="status">{s}</p> })}
                    <button type="button" class="btn" role="menuitem" on:click=do_sign_out>
                        "Sign out"
                    </button>
                </div>
            </Show>
        </div>
    }
}
