//! Model output is untrusted. Markdown is rendered to HTML by `pulldown-cmark`, which escapes every text and
//! attribute it writes; an event filter in front of its writer enforces the rest of the policy:
//! - raw HTML (blocks and inline) is shown as text, never interpreted;
//! - images are never loaded (a remote image in model output is how chat UIs leak data): only their alt text shows;
//! - links keep their `href` only for `http:`, `https:` and `mailto:` destinations, and get
//!   `rel="noopener noreferrer nofollow"`; any other link (`javascript:`, `data:`, relative) is its text alone;
//! - no `class`, `style`, `title` or `id` attribute is written (code-block languages, table alignment, link titles).
//!
//! The same function runs on the server (history, SSR) and in the browser (streamed answers), so hydration matches.
//! It replaced `ammonia` (with html5ever it was most of the WASM bundle); the tests keep ammonia, configured with
//! the same policy, as an oracle: sanitising this renderer's output must change nothing.
use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// The `rel` every link carries: no `window.opener`, no referrer, no endorsement.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// Safe HTML for `markdown`.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut out, SafeEvents::new(Parser::new_ext(markdown, options)));
    out
}

/// Whether a link to `url` may be followed: an absolute `http(s)` or `mailto` URL. Browsers ignore tabs and
/// newlines inside a URL and leading control characters and spaces, so those are dropped before the scheme is read
/// (`java\tscript:` is `javascript:` to a browser).
fn allowed_destination(url: &str) -> bool {
    let cleaned: String = url
        .trim_start_matches(|c: char| c.is_ascii_control() || c == ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    cleaned.starts_with("http://") || cleaned.starts_with("https://") || cleaned.starts_with("mailto:")
}

/// The opening tag of a link that passed [`allowed_destination`], escaped as pulldown-cmark escapes its own.
fn link_open(href: &str) -> String {
    let mut tag = String::with_capacity(href.len() + 48);
    tag.push_str("<a href=\"");
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_href(&mut tag, href);
    tag.push_str("\" rel=\"");
    tag.push_str(LINK_REL);
    tag.push_str("\">");
    tag
}

/// The parser's events with the policy of this module applied (see the module docs).
struct SafeEvents<I> {
    inner: I,
    /// One entry per open link: whether its `<a>` was written (so its end writes `</a>`).
    links: Vec<bool>,
    /// Depth inside images, whose alt text passes as plain text.
    images: usize,
}

impl<I> SafeEvents<I> {
    fn new(inner: I) -> Self {
        Self { inner, links: Vec::new(), images: 0 }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for SafeEvents<I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let event = self.inner.next()?;
            return Some(match event {
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => continue,
                Event::Start(Tag::Image { .. }) => {
                    self.images += 1;
                    continue;
                }
                Event::End(TagEnd::Image) => {
                    self.images = self.images.saturating_sub(1);
                    continue;
                }
                Event::Start(Tag::Link { link_type, dest_url, .. }) => {
                    let href = match link_type {
                        LinkType::Email => CowStr::from(format!("mailto:{dest_url}")),
                        _ => dest_url,
                    };
                    // A link inside an image's alt text is text too.
                    let written = self.images == 0 && allowed_destination(&href);
                    self.links.push(written);
                    if !written {
                        continue;
                    }
                    Event::InlineHtml(link_open(&href).into())
                }
                Event::End(TagEnd::Link) => {
                    if self.links.pop() != Some(true) {
                        continue;
                    }
                    Event::InlineHtml("</a>".into())
                }
                // The language of a fenced block would become a `class`; alignment would become a `style`.
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                    Event::Start(Tag::CodeBlock(CodeBlockKind::Indented))
                }
                Event::Start(Tag::Table(alignments)) => {
                    Event::Start(Tag::Table(vec![pulldown_cmark::Alignment::None; alignments.len()]))
                }
                // Inside an image, only text survives (it was the alt text).
                Event::Start(_) | Event::End(_) if self.images > 0 => continue,
                other => other,
            });
        }
    }
}

#[cfg(test)]
mod tests;
