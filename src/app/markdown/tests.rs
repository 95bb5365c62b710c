use super::{LINK_REL, Mark, render, render_marked};

/// The XSS corpus the end-to-end suite also streams as a model's answer: one case per `===` section.
const CORPUS: &str = include_str!("../../../tests/fixtures/xss-corpus.md");

fn corpus() -> impl Iterator<Item = &'static str> {
    CORPUS.split("\n===\n").map(str::trim_end)
}

/// ammonia configured with the policy [`render`] promises: the tags Markdown produces, links only http(s)/mailto
/// with the `rel` set, `start` on ordered lists, nothing else.
fn oracle() -> ammonia::Builder<'static> {
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
    .link_rel(Some(LINK_REL))
    .tag_attributes(
        [("a", ["href"].into_iter().collect()), ("ol", ["start"].into_iter().collect())].into_iter().collect(),
    )
    .generic_attributes(std::collections::HashSet::new())
    .url_relative(ammonia::UrlRelative::Deny);
    b
}

/// Spelling differences between pulldown-cmark's writer and html5ever's serialiser that mean the same HTML.
fn normalise(html: &str) -> String {
    html.replace("<br />", "<br>")
        .replace("<hr />", "<hr>")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
}

/// The tags of an HTML string (text between `<` and `>`; escaped text has no `<`).
fn tags(html: &str) -> Vec<String> {
    html.split('<').skip(1).filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag.to_lowercase())).collect()
}

#[test]
fn the_oracle_finds_nothing_to_remove_in_any_case_of_the_corpus() {
    let oracle = oracle();
    let mut cases = 0;
    // Each case, the file as it is, and the cases as separate blocks (what the end-to-end suite streams).
    let blocks = corpus().collect::<Vec<_>>().join("\n\n");
    for case in corpus().map(str::to_owned).chain([CORPUS.to_owned(), blocks]) {
        let html = render(&case);
        let cleaned = oracle.clean(&html).to_string();
        assert_eq!(normalise(&cleaned), normalise(&html), "ammonia changed the rendering of {case:?}");
        cases += 1;
    }
    assert!(cases >= 32, "the corpus has {} cases", cases - 2);
}

#[test]
fn no_case_of_the_corpus_yields_a_script_handler_image_or_unsafe_link() {
    for case in corpus() {
        let html = render(case);
        for tag in tags(&html) {
            let name = tag.trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_owned();
            assert!(
                [
                    "p", "a", "strong", "em", "code", "pre", "del", "table", "thead", "tbody", "tr", "th", "td", "ol",
                    "li"
                ]
                .contains(&name.as_str()),
                "{case:?} produced <{tag}>"
            );
            assert!(!tag.contains(" on") && !tag.contains("style") && !tag.contains("class"), "{case:?}: <{tag}>");
            if name == "a" && !tag.starts_with('/') {
                let href = tag.split("href=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
                assert!(
                    href.starts_with("https://") || href.starts_with("mailto:"),
                    "{case:?} produced a link to {href:?}"
                );
                assert!(tag.ends_with(&format!("rel=\"{LINK_REL}\"")), "{case:?}: <{tag}>");
            }
        }
        assert!(!html.contains("<img") && !html.contains("<script"), "{case:?} rendered as {html}");
    }
}

#[test]
fn markdown_renders_tables_code_and_safe_links() {
    let html = render("**NOVA** closed at `182.4`\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n[site](https://example.com)");
    assert!(html.contains("<strong>NOVA</strong>"));
    assert!(html.contains("<code>182.4</code>"));
    assert!(html.contains("<table>") && html.contains("<td>1</td>") && html.contains("<th>b</th>"), "{html}");
    assert!(html.contains(&format!(r#"<a href="https://example.com" rel="{LINK_REL}">site</a>"#)), "{html}");
    assert!(render("3. third\n4. fourth").starts_with("<ol start=\"3\">"));
    assert!(render("mail <desk@example.com>").contains(r#"href="mailto:desk@example.com""#));
}

#[test]
fn what_is_refused_is_still_shown_as_text() {
    // Raw HTML is shown as text, an image as its alt text, a refused link as its text.
    assert!(render("<b>bold?</b>").contains("&lt;b&gt;bold?&lt;/b&gt;"));
    assert_eq!(render("![a chart of NOVA](https://evil.example/x.png)"), "<p>a chart of NOVA</p>\n");
    assert_eq!(render("[run me](javascript:alert(1))"), "<p>run me</p>\n");
    assert_eq!(render("```rust\nlet x = 1;\n```"), "<pre><code>let x = 1;\n</code></pre>\n");
}

#[test]
fn marked_numbers_become_buttons_around_exactly_their_text_and_nothing_else_changes() {
    let md = "NOVA closed at **105.25** (+4.2%).\n\n| sym | close |\n|---|---|\n| QBIT | 7.5 |\n";
    let at = |needle: &str| md.find(needle).expect("in the text");
    let marks = [
        Mark { start: at("105.25"), end: at("105.25") + 6, index: 0, checked: true },
        Mark { start: at("+4.2%"), end: at("+4.2%") + 5, index: 1, checked: false },
        Mark { start: at("7.5"), end: at("7.5") + 3, index: 2, checked: true },
    ];
    let html = render_marked(md, &marks);
    assert!(
        html.contains(r#"<strong><button type="button" class="num checked" data-check="0">105.25</button></strong>"#),
        "{html}"
    );
    assert!(html.contains(r#"(<button type="button" class="num unverified" data-check="1">+4.2%</button>)"#), "{html}");
    assert!(
        html.contains(r#"<td><button type="button" class="num checked" data-check="2">7.5</button></td>"#),
        "{html}"
    );
    // Without the buttons it is the plain rendering.
    let unmarked = html.replace(r#"<button type="button" class="num checked" data-check="0">"#, "");
    let unmarked = unmarked.replace(r#"<button type="button" class="num unverified" data-check="1">"#, "");
    let unmarked = unmarked.replace(r#"<button type="button" class="num checked" data-check="2">"#, "");
    assert_eq!(unmarked.replace("</button>", ""), render(md));
    // A mark across a tag boundary, or past the text, is left out rather than breaking the markup.
    let across = [Mark { start: at("at **"), end: at("105.25") + 2, index: 0, checked: true }];
    assert_eq!(render_marked(md, &across), render(md));
}
