//! Model output is untrusted. Markdown is rendered to HTML by `pulldown-cmark`, which escapes every text and
//! attribute it writes; an event filter in front of its writer enforces the rest of the policy:
//! - raw HTML (blocks and inline) is shown as text, never interpreted;
//! - images are never loaded (a remote image in model output is how chat UIs leak data): only their alt text shows;
//! - links keep their `href` only for `http:`, `https:` and `mailto:` destinations, and get
//!   `rel="noopener noreferrer nofollow"`; any other link (`javascript:`, `data:`, relative) is its text alone;
//! - no `class`, `style`, `title` or `id` attribute is written (code-block languages, table alignment, link titles);
//!   the only elements added are the server's own: a button around each checked number ([`render_marked`]), over
//!   source ranges the server computed, never over anything the text itself asks for.
//!
//! The same function runs on the server (history, SSR) and in the browser (streamed answers), so hydration matches.
//! It replaced `ammonia` (with html5ever it was most of the WASM bundle); the tests keep ammonia, configured with
//! the same policy, as an oracle: sanitising this renderer's output must change nothing.
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// The `rel` every link carries: no `window.opener`, no referrer, no endorsement.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// Safe HTML for `markdown`.
pub fn render(markdown: &str) -> String {
    render_marked(markdown, &[])
}

/// A checked number to mark in the rendered text: its byte range in the Markdown source and its check's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub start: usize,
    pub end: usize,
    /// Index of the number among the answer's checks (the element's `data-check`).
    pub index: usize,
    /// Whether it was found in (or derived from) the results; otherwise it is marked unverified.
    pub checked: bool,
}

/// Safe HTML for `markdown`, with each of `marks` (sorted by `start`) wrapped in a button that names its check.
/// A mark that does not fall inside one stretch of plain text is left unmarked.
pub fn render_marked(markdown: &str, marks: &[Mark]) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    let safe = SafeEvents::new(Parser::new_ext(markdown, options).into_offset_iter());
    html::push_html(&mut out, Marked::new(safe, markdown, marks));
    out
}

/// The opening tag of a marked number.
fn mark_open(mark: &Mark) -> String {
    let class = if mark.checked { "num checked" } else { "num unverified" };
    format!("<button type=\"button\" class=\"{class}\" data-check=\"{}\">", mark.index)
}

/// Safe events with the marked numbers wrapped: a text event holding marks becomes text, tag, number, tag, …
struct Marked<'s, 'm, I> {
    inner: I,
    source: &'s str,
    marks: &'m [Mark],
    pending: std::collections::VecDeque<Event<'s>>,
}

impl<'s, 'm, I> Marked<'s, 'm, I> {
    fn new(inner: I, source: &'s str, marks: &'m [Mark]) -> Self {
        Self { inner, source, marks, pending: std::collections::VecDeque::new() }
    }
}

impl<'s, I: Iterator<Item = (Event<'s>, Range<usize>)>> Iterator for Marked<'s, '_, I> {
    type Item = Event<'s>;

    fn next(&mut self) -> Option<Event<'s>> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        let (event, range) = self.inner.next()?;
        let Event::Text(text) = &event else { return Some(event) };
        // Only text that is its source as written can be cut at source offsets.
        if self.marks.is_empty() || self.source.get(range.clone()) != Some(&**text) {
            return Some(event);
        }
        let inside = self.marks.iter().filter(|m| m.start >= range.start && m.end <= range.end && m.start < m.end);
        let mut at = range.start;
        for mark in inside {
            if mark.start < at {
                continue;
            }
            if mark.start > at {
                self.pending.push_back(Event::Text(self.source[at..mark.start].into()));
            }
            self.pending.push_back(Event::InlineHtml(mark_open(mark).into()));
            self.pending.push_back(Event::Text(self.source[mark.start..mark.end].into()));
            self.pending.push_back(Event::InlineHtml("</button>".into()));
            at = mark.end;
        }
        if self.pending.is_empty() {
            return Some(event);
        }
        if at < range.end {
            self.pending.push_back(Event::Text(self.source[at..range.end].into()));
        }
        self.pending.pop_front()
    }
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

impl<'a, I: Iterator<Item = (Event<'a>, Range<usize>)>> Iterator for SafeEvents<I> {
    type Item = (Event<'a>, Range<usize>);

    fn next(&mut self) -> Option<(Event<'a>, Range<usize>)> {
        loop {
            let (event, range) = self.inner.next()?;
            let event = match event {
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
            };
            return Some((event, range));
        }
    }
}

#[cfg(test)]
mod tests;
