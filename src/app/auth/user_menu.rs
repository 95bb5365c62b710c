//! The header's user menu: the name or email, and forms to set a display name, set a new password and sign out. A
//! `<details>` element, so it opens and its forms submit before the WASM has loaded too.
use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;

use super::Auth;
use crate::api::{ChangePassword, SetDisplayName, SignOut, UserInfo};
use crate::app::locale::{tr, use_i18n};

/// The menu for `user`.
#[component]
pub fn UserMenu(user: UserInfo) -> impl IntoView {
    let auth = Auth::get();
    let i18n = use_i18n();
    let rename = ServerAction::<SetDisplayName>::new();
    let password = ServerAction::<ChangePassword>::new();
    let sign_out = ServerAction::<SignOut>::new();
    auth.reload_after(rename);
    auth.reload_after(sign_out);
    let label = user.label();
    let name = user.display_name.clone().unwrap_or_default();
    view! {
        <details class="user-menu">
            <summary class="btn user-btn" role="button">
                <span data-testid="user-label">{label}</span>
            </summary>
            <div class="menu" role="menu">
                <ActionForm action=rename attr:class="name-form">
                    <label for="display-name">{tr!(i18n, common.menu_display_name)}</label>
                    <input id="display-name" name="name" maxlength="100" value=name />
                    <button type="submit" class="btn small" disabled=move || rename.pending().get()>
                        {tr!(i18n, common.menu_save)}
                    </button>
                </ActionForm>
                {move || rename.value().get().and_then(Result::err).map(|e| view! { <ErrorAlert error=e small=true /> })}
                <ActionForm action=password attr:class="name-form">
                    <label for="new-password">{tr!(i18n, common.menu_new_password)}</label>
                    <input
                        id="new-password"
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        minlength="8"
                        required
                    />
                    <button type="submit" class="btn small" disabled=move || password.pending().get()>
                        {tr!(i18n, common.menu_set_password)}
                    </button>
                </ActionForm>
                {move || {
                    password.value().get().map(|result| match result {
                        Ok(()) => view! { <p class="small" role="status">{tr!(i18n, common.menu_password_saved)}</p> }.into_any(),
                        Err(e) => view! { <ErrorAlert error=e small=true /> }.into_any(),
                    })
                }}
                <ActionForm action=sign_out>
                    <button type="submit" class="btn" role="menuitem" disabled=move || sign_out.pending().get()>
                        {tr!(i18n, common.menu_sign_out)}
                    </button>
                </ActionForm>
            </div>
        </details>
    }
}
