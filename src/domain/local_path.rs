//! Where a visitor may be sent after signing in: only a path of this site. Checked on both sides — the server
//! redirects there, and the browser navigates there from `?next=` — so neither can be turned into an open redirect.

/// `raw` when it is a path of this site, else `/`.
///
/// A path here starts with one `/` and holds no backslash, whitespace or control character: browsers drop tabs
/// and newlines from URLs and read `\` as `/`, so `/\t/evil.example` or `/\evil.example` would leave the site.
/// `raw` is the decoded value (the query parser has already decoded percent escapes).
pub fn local_path(raw: Option<&str>) -> &str {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && p.len() <= 2048
                && !p.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            p
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_site_pass() {
        for ok in ["/", "/saved", "/c/0b6e?x=1#y", "/history?q=NOVA&page=2"] {
            assert_eq!(local_path(Some(ok)), ok);
        }
        let evil = [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\u{7f}x",
            "javascript:alert(1)",
            "evil.example",
            "",
        ];
        for raw in evil {
            assert_eq!(local_path(Some(raw)), "/", "{raw:?}");
        }
        assert_eq!(local_path(Some(&format!("/{}", "a".repeat(3000)))), "/");
        assert_eq!(local_path(None), "/");
    }
}
