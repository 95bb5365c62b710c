//! The HTTP router, built in one function that `main` and the integration tests both call.
use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::{App, shell};
use std::sync::Arc;

use axum::middleware;

use crate::server::state::AppState;
use crate::server::{agent, auth, downloads, forms, health, security, site};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route of the app: health, server functions, SSR pages and static files, with request ids and
/// one log line per request (method, path, status, latency).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let pkg_prefix: Arc<str> = format!("/{}/", options.site_pkg_dir.trim_matches('/')).into();
    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(crate::server::metrics::endpoint))
        .route("/dev/outbox", get(auth::routes::outbox_page))
        .route("/dev/outbox.json", get(auth::routes::outbox_json))
        .route("/chat/stream", post(agent::http::chat_stream))
        .route("/chat/ask", post(agent::http::ask))
        .route("/chat/conversations/{id}/export", get(downloads::export_conversation))
        .route("/chat/results.csv", post(downloads::results_csv))
        .route("/chat/runs/active", get(agent::http::active_run))
        .route("/chat/runs/{id}/events", get(agent::http::run_events))
        .route("/chat/runs/{id}/stop", post(agent::http::stop_run));
    if let Some(builtin) = &state.auth.builtin {
        router = router.nest_service("/auth/v1", Arc::clone(builtin).router());
    }
    router
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), auth::session::authenticate))
        .layer(middleware::from_fn(auth::csrf::refuse_cross_site_writes))
        .layer(middleware::from_fn(security::common_headers))
        .layer(middleware::from_fn_with_state(pkg_prefix, site::cache_headers))
        .layer(middleware::map_response(forms::tidy_redirect))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                            tracing::info_span!(
                                "request",
                                method = %req.method(),
                                path = %req.uri().path(),
                                request_id = %id,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Millis))
                        .on_failure(DefaultOnFailure::new().level(Level::WARN).latency_unit(LatencyUnit::Millis)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}
