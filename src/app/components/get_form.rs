//! A GET form whose fields become the URL's query (search boxes, date ranges), so what it asks for is shareable,
//! survives a reload and Back/Forward step through it. Without the WASM the browser submits it itself; with it, the
//! router navigates there without reloading the page. (The router's own `<Form>` also puts the unnamed submit
//! button in the query, as `&=`; fields left empty are dropped here too.)
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// A GET form to `action`.
#[component]
pub fn GetForm(
    action: &'static str,
    #[prop(optional)] class: &'static str,
    /// The form's ARIA role (`search` for search boxes).
    #[prop(optional)]
    role: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let query = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
                .and_then(|form| web_sys::FormData::new_with_form(&form).ok())
                .and_then(|data| web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok())
                .and_then(|params| params.to_string().as_string());
            let Some(query) = query else { return };
            // `name=value` pairs, URL-encoded; unnamed (`=x`) and empty (`q=`) ones are dropped.
            let kept: Vec<&str> =
                query.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with('=') && !kv.ends_with('=')).collect();
            ev.prevent_default();
            let url = if kept.is_empty() { action.to_owned() } else { format!("{action}?{}", kept.join("&")) };
            navigate(&url, Default::default());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&ev, &navigate);
    };
    view! {
        <form method="get" action=action class=class role=role on:submit=submit>
            {children()}
        </form>
    }
}
