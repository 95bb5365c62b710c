//! The signed-in user as an axum extractor: the one way a plain HTTP handler learns who is asking. The session
//! middleware (`session::authenticate`) verified the token and put the [`Identity`] in the request; a handler
//! taking [`CurrentUser`] is refused with [`AppError::Unauthorized`] before it runs when there is none.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::Identity;
use crate::api::AppError;

/// The verified identity of the request.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Identity>().cloned().map(Self).ok_or(AppError::Unauthorized)
    }
}
