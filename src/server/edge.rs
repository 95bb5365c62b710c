//! The edge, where a request becomes a call into the server — and the one way to be a user there.
//!
//! - Server functions open with [`anyone`], [`signed_in`], [`as_user`] or [`as_admin`]: the app state, who is
//!   asking (from the verified session, never from arguments), for `as_user` a transaction under row-level
//!   security committed when the body succeeds, and the HTTP status of the error it returns. Each server
//!   function is then its few lines of intent.
//! - Plain axum handlers take [`CurrentUser`] (refused with 401 before they run) and [`AppJson`] bodies (a body
//!   that does not parse is a 400 saying why), and return `Result<_, AppError>`.
use crate::api::reasons::Invalid;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub use crate::server::auth::CurrentUser;

use crate::api::AppError;
use crate::server::auth::{is_admin, require_user};
use crate::server::identity::Identity;
use crate::server::state::AppState;
use crate::server::store::scoped::ScopedTx;

/// The signed-in caller of a server function, with the app's state.
pub struct Caller {
    /// The shared state.
    pub state: AppState,
    /// Who is asking.
    pub identity: Identity,
}

impl Caller {
    fn current() -> Result<Self, AppError> {
        Ok(Self { state: AppState::from_context()?, identity: require_user()? })
    }

    /// A transaction as this user, for bodies that do other work before or between their queries.
    pub async fn transaction(&self) -> Result<ScopedTx, AppError> {
        Ok(ScopedTx::as_user(&self.state.db, &self.identity).await?)
    }
}

/// Runs a server function's body and, on error, sets the HTTP status (and `Retry-After`) that the error stands
/// for — server functions answer 500 for every error otherwise. A plain form post is left alone: `server_fn`
/// answers it with a redirect back to its page carrying the error, which a status would override.
pub async fn at_edge<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let Err(e) = &result
        && !crate::server::forms::is_plain_form_post()
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
    {
        let status =
            axum::http::StatusCode::from_u16(e.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        response.set_status(status);
        if let AppError::RateLimited { retry_after_secs, .. } = e {
            response.insert_header(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_secs));
        }
    }
    result
}

/// A server function anyone may call (signed in or not).
pub async fn anyone<T>(body: impl AsyncFnOnce(&AppState) -> Result<T, AppError>) -> Result<T, AppError> {
    at_edge(async {
        let state = AppState::from_context()?;
        body(&state).await
    })
    .await
}

/// A server function for the signed-in user that manages its own transactions (or needs none).
pub async fn signed_in<T>(body: impl AsyncFnOnce(&Caller) -> Result<T, AppError>) -> Result<T, AppError> {
    at_edge(async {
        let caller = Caller::current()?;
        body(&caller).await
    })
    .await
}

/// A server function for the signed-in user, in one transaction as them (row-level security decides what it
/// sees), committed when the body succeeds and rolled back otherwise.
pub async fn as_user<T>(body: impl AsyncFnOnce(&Caller, &mut ScopedTx) -> Result<T, AppError>) -> Result<T, AppError> {
    at_edge(async {
        let caller = Caller::current()?;
        let mut tx = ScopedTx::as_user(&caller.state.db, &caller.identity).await?;
        let value = body(&caller, &mut tx).await?;
        tx.commit().await?;
        Ok(value)
    })
    .await
}

/// A server function for admins only: 401 when signed out, 403 for everyone else.
pub async fn as_admin<T>(body: impl AsyncFnOnce(&Caller) -> Result<T, AppError>) -> Result<T, AppError> {
    at_edge(async {
        let caller = Caller::current()?;
        if !is_admin(&caller.state.config.auth, &caller.identity) {
            return Err(AppError::Forbidden);
        }
        body(&caller).await
    })
    .await
}

/// A JSON body whose rejection is an [`AppError`]: a 400 that says what is wrong with it.
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::Invalid(Invalid::Request(rejection.body_text()))),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
