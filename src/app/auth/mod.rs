//! Signing in, in the UI: the current user (server-rendered, then kept in the browser), what a page shows the
//! signed-out ([`RequireUser`]), the sign-in forms ([`login`]: the modal and the `/login` page), the emailed link's
//! "Continue as …" page ([`confirm`]) and the header's user menu ([`user_menu`]).
mod confirm;
mod login;
mod user_menu;

pub use confirm::ConfirmPage;
pub use login::{LoginModal, LoginPage};
pub use user_menu::UserMenu;

use crate::app::components::error_text::ErrorAlert;
use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos::server_fn::ServerFn;
use leptos_router::location::Url;

use crate::api::{AppError, EmailMethod, UserInfo, current_user};
use crate::app::locale::{tr, use_i18n};

/// The signed-in user, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    /// Loads the user (during SSR from the session cookie); reloaded after every sign-in and sign-out.
    pub user: Resource<Result<Option<UserInfo>, AppError>>,
    session: RwSignal<u32>,
}

impl Auth {
    /// Provides the context; call once in the root component.
    pub fn provide() -> Self {
        let session = RwSignal::new(0u32);
        let auth = Self { user: Resource::new(move || session.get(), |_| current_user()), session };
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

    /// Reloads the user whenever `action` succeeds (it signed in, out, or changed the profile).
    pub fn reload_after<S>(&self, action: ServerAction<S>)
    where
        S: ServerFn + Clone + Send + Sync + 'static,
        S::Output: Send + Sync + 'static,
        S::Error: Send + Sync + 'static,
    {
        let session = self.session;
        Effect::new(move |_| {
            if action.value().with(|v| matches!(v, Some(Ok(_)))) {
                session.update(|n| *n += 1);
            }
        });
    }
}

/// Shows `children` to signed-in users and the sign-in dialog to everyone else.
#[component]
pub fn RequireUser(children: ChildrenFn) -> impl IntoView {
    let auth = Auth::get();
    let i18n = use_i18n();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=move || view! { <p class="muted boot">{tr!(i18n, auth.loading)}</p> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(_)) => children.read_value()().into_any(),
                    Ok(None) => view! { <LoginModal /> }.into_any(),
                    Err(e) => view! { <ErrorAlert error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A link to `/login` that carries what the page should show.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginLink<'a> {
    /// Where to go after signing in (a path of this site).
    pub next: &'a str,
    /// The address to fill in.
    pub email: Option<&'a str>,
    /// An email was just sent to `email` (a plain form post cannot show it any other way).
    pub sent: Option<EmailMethod>,
    /// Why an emailed link did not work: `link_used`, `link_expired` or `link_invalid`.
    pub error: Option<&'static str>,
}

impl LoginLink<'_> {
    /// The URL.
    pub fn url(&self) -> String {
        let mut url = format!("/login?next={}", Url::escape(self.next));
        if let Some(email) = self.email {
            url.push_str(&format!("&email={}", Url::escape(email)));
        }
        if let Some(method) = self.sent {
            url.push_str(&format!("&sent={}", method.as_str()));
        }
        if let Some(error) = self.error {
            // A fixed code (`link_used`, …): no escaping needed.
            url.push_str(&format!("&error={error}"));
        }
        url
    }
}
