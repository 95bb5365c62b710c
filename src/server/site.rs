//! The site's runtime settings and how its static files are cached.
//!
//! A deployment is the binary, the site folder, `libduckdb.so` and `Leptos.toml`: the server reads its Leptos
//! settings (output name, site root, address, reload port, hashed file names) from `Leptos.toml`, found in the
//! working directory, then next to the binary, or at `TRADECHAT_LEPTOS_TOML`. A relative `site-root` is relative to
//! that file, so the server starts from any directory. `LEPTOS_*` variables still override single settings (the
//! scripts set `LEPTOS_SITE_ADDR`), and without any `Leptos.toml` the settings come from them alone, as under
//! `cargo leptos serve`. cargo-leptos keeps its build settings in Cargo.toml; a test keeps the two in agreement.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::config::{LeptosOptions, get_config_from_str};

/// The name of the settings file.
pub const SETTINGS_FILE: &str = "Leptos.toml";

/// Why the Leptos settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message} (it needs a [package.metadata.leptos] section with output-name, site-root, site-addr)")]
    Invalid { path: PathBuf, message: String },
    #[error("reading Leptos settings from LEPTOS_* variables: {0}")]
    Env(String),
}

/// Where the settings file is: `TRADECHAT_LEPTOS_TOML`, else `./Leptos.toml`, else `Leptos.toml` beside the binary.
pub fn settings_path() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os("TRADECHAT_LEPTOS_TOML") {
        return Some(PathBuf::from(explicit));
    }
    let beside_binary = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(SETTINGS_FILE)));
    [Some(PathBuf::from(SETTINGS_FILE)), beside_binary].into_iter().flatten().find(|path| path.is_file())
}

/// The Leptos settings the server runs with (see the module docs for where they come from).
pub fn load() -> Result<LeptosOptions, SettingsError> {
    match settings_path() {
        Some(path) => load_file(&path),
        None => leptos::config::get_configuration(None)
            .map(|conf| conf.leptos_options)
            .map_err(|e| SettingsError::Env(e.to_string())),
    }
}

/// The settings in `path`, with a relative site root made relative to the file's folder.
pub fn load_file(path: &Path) -> Result<LeptosOptions, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read { path: path.into(), source })?;
    let mut options =
        get_config_from_str(&text).map_err(|e| SettingsError::Invalid { path: path.into(), message: e.to_string() })?;
    if options.output_name.is_empty() {
        return Err(SettingsError::Invalid { path: path.into(), message: "output-name is empty".into() });
    }
    let root = Path::new(&*options.site_root);
    if root.is_relative() {
        let base = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        options.site_root = base.join(root).to_string_lossy().into_owned().into();
    }
    Ok(options)
}

/// The URL of the site's stylesheet, with its content hash when the build hashed it — what `HashedStylesheet`
/// links, for the few pages rendered outside Leptos (the dev outbox).
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    let mut name = options.output_name.to_string();
    if options.hash_files {
        let hashes = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(&*options.hash_file)))
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        if let Some(hash) = hashes.lines().find_map(|line| line.trim().strip_prefix("css:")) {
            name = format!("{name}.{}", hash.trim());
        }
    }
    format!("/{}/{name}.css", options.site_pkg_dir.trim_matches('/'))
}

/// Whether a static file's name carries a content hash (cargo-leptos writes `tradechat.<md5, base64url>.wasm`):
/// such a file never changes.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|part| part.len() >= 16 && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// Cache headers for static files: hashed files under the package folder are immutable for a year; other files
/// (the favicon, unhashed builds) are revalidated on each use. Pages and APIs are left as their handlers set them.
/// `pkg_prefix` is the package folder's URL prefix (`/pkg/`). The path is judged before the request moves on, so
/// nothing is copied per request.
pub async fn cache_headers(State(pkg_prefix): State<Arc<str>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let under_pkg = path.starts_with(&*pkg_prefix);
    let immutable = under_pkg && is_hashed(path);
    let mut response = next.run(request).await;
    if !response.status().is_success() || response.headers().contains_key(header::CACHE_CONTROL) {
        return response;
    }
    let is_static =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
            !ct.starts_with("text/html") && !ct.starts_with("text/event-stream") && !ct.contains("json")
        });
    if immutable {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    } else if is_static && (under_pkg || response.headers().contains_key(header::LAST_MODIFIED)) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = include_str!("../../Cargo.toml");
    const SETTINGS: &str = include_str!("../../Leptos.toml");

    /// The runtime settings the server takes from Leptos.toml; cargo-leptos takes the same from Cargo.toml.
    const SHARED_KEYS: [&str; 6] =
        ["output-name", "site-root", "site-pkg-dir", "site-addr", "reload-port", "hash-files"];

    #[test]
    fn leptos_toml_and_cargo_toml_agree_on_every_runtime_setting() {
        let settings = get_config_from_str(SETTINGS).expect("Leptos.toml parses");
        let manifest = get_config_from_str(MANIFEST).expect("Cargo.toml's leptos metadata parses");
        for key in SHARED_KEYS {
            assert!(
                SETTINGS.lines().any(|line| line.trim_start().starts_with(&format!("{key} ="))),
                "Leptos.toml must set {key} itself"
            );
            assert!(
                MANIFEST.lines().any(|line| line.trim_start().starts_with(&format!("{key} ="))),
                "Cargo.toml's [package.metadata.leptos] must set {key}"
            );
        }
        assert_eq!(settings.output_name, manifest.output_name, "output-name");
        assert_eq!(settings.site_root, manifest.site_root, "site-root");
        assert_eq!(settings.site_pkg_dir, manifest.site_pkg_dir, "site-pkg-dir");
        assert_eq!(settings.site_addr, manifest.site_addr, "site-addr");
        assert_eq!(settings.reload_port, manifest.reload_port, "reload-port");
        assert_eq!(settings.hash_files, manifest.hash_files, "hash-files");
    }

    #[test]
    fn a_relative_site_root_is_relative_to_the_settings_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, SETTINGS.replace("site-root = \"target/site\"", "site-root = \"site\"")).expect("write");
        let options = load_file(&path).expect("loads");
        assert_eq!(Path::new(&*options.site_root), dir.path().join("site"));
        assert_eq!(&*options.output_name, "tradechat");

        std::fs::write(&path, "[package]\nname = \"x\"\n").expect("write");
        let err = load_file(&path).expect_err("no leptos section");
        assert!(err.to_string().contains("[package.metadata.leptos]"), "{err}");
    }

    #[test]
    fn only_hashed_names_count_as_immutable() {
        assert!(is_hashed("/pkg/tradechat.Xq3_9v-2kLmNoPqRsTuVwA.wasm"));
        assert!(is_hashed("/pkg/tradechat.8f3a2b1c9d0e4f5a6b7c8d.js"));
        // `--split`'s chunks, their loader and manifest (names as cargo-leptos 0.3.7 writes them).
        assert!(is_hashed("/pkg/split___admin_route_view_6963698064057970871.nxdxUn5bdTWHyNYduSMC5A.wasm"));
        assert!(is_hashed("/pkg/chunk_10.-4pcYUdaMnEacveZFLIE6A.wasm"));
        assert!(is_hashed("/pkg/__wasm_split.j-yGNxWVAfna44EMIfmMDw.js"));
        assert!(is_hashed("/pkg/__wasm_split_manifest.xG6XMBeTTcVZ1wAypZ31AA.json"));
        assert!(!is_hashed("/pkg/tradechat.wasm"));
        assert!(!is_hashed("/pkg/tradechat_bg.wasm"));
        assert!(!is_hashed("/favicon.ico"));
    }
}
