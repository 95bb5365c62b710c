//! The UI language: the switcher's server function. The choice is a cookie (the one `leptos_i18n` reads on the
//! next request, before `Accept-Language`), so it holds signed in or not, and a form without JS works too.
#[cfg(feature = "ssr")]
use crate::api::reasons::Invalid;
use leptos::prelude::*;

use super::AppError;

/// The cookie `leptos_i18n` keeps the chosen locale in.
pub const LOCALE_COOKIE: &str = "i18n_pref_locale";

/// Remembers `locale` (`en` or `ru`) for this browser for a year; returns it as stored.
#[server(endpoint = "preferences/locale")]
pub async fn set_locale(locale: String) -> Result<String, AppError> {
    use crate::i18n::Locale;
    use leptos_i18n::Locale as _;
    let parsed: Locale = locale
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid(Invalid::Request(format!("unknown language {locale:?}: choose en or ru"))))?;
    let value = format!("{LOCALE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", parsed.as_str());
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), axum::http::HeaderValue::from_str(&value))
    {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
    Ok(parsed.as_str().to_owned())
}
