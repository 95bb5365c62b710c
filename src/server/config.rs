//! Every setting, read once at start-up from the environment (and `.env`), typed and validated.
//!
//! A bad value stops the server with one line naming the variable. Secrets are [`SecretString`]s, so they never
//! appear in `Debug` output or logs.
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it, and what would be right.
    pub problem: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected `text` or `json`".into()),
        }
    }
}

/// DuckDB settings: where the trading data lives and how much of the machine queries may use.
#[derive(Debug, Clone)]
pub struct DuckConfig {
    /// `DATABASE_PATH`: the DuckDB file (opened read-only).
    pub path: PathBuf,
    /// `DUCKDB_MEMORY_LIMIT`: DuckDB's `memory_limit`, e.g. `1GB`.
    pub memory_limit: String,
    /// `DUCKDB_THREADS`: DuckDB's worker threads per database.
    pub threads: u32,
    /// `DUCKDB_MAX_TEMP_SIZE`: cap on temporary (spill) space, e.g. `1GB`.
    pub max_temp_directory_size: String,
    /// `QUERY_TIMEOUT_SECS`: deadline of one query.
    pub query_timeout: Duration,
    /// `DUCKDB_MAX_CONCURRENT_QUERIES`: queries running at once; further ones wait.
    pub max_concurrent_queries: usize,
}

/// Where sign-in happens.
#[derive(Debug, Clone)]
pub enum AuthMode {
    /// Supabase Auth (GoTrue) at `SUPABASE_URL`.
    Supabase {
        /// `SUPABASE_URL`, e.g. `https://xyz.supabase.co` (no trailing slash).
        url: String,
        /// `SUPABASE_ANON_KEY`: the `apikey` header for GoTrue.
        anon_key: SecretString,
        /// `SUPABASE_SERVICE_KEY`: server-side admin operations (optional).
        service_key: Option<SecretString>,
    },
    /// The built-in GoTrue-compatible auth under `/auth/v1`, over the same Postgres (`SUPABASE_URL` unset).
    BuiltIn,
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Supabase or built-in.
    pub mode: AuthMode,
    /// `SUPABASE_JWT_SECRET` (or `AUTH_JWT_SECRET`): verifies HS256 tokens; in built-in mode also signs them. When
    /// unset in built-in mode, a secret is generated into `DATA_DIR` on first run.
    pub jwt_secret: Option<SecretString>,
    /// `SITE_URL`: the public URL of the app (links in emails, cookie `Secure`, issuer in built-in mode).
    pub site_url: String,
    /// `ADMIN_EMAILS`: comma-separated emails with admin rights, for sessions started by an emailed link or code.
    pub admin_emails: Vec<String>,
    /// `ADMIN_USER_IDS`: comma-separated `auth.users` ids with admin rights, however they signed in.
    pub admin_user_ids: Vec<uuid::Uuid>,
    /// `TRUSTED_PROXIES`: comma-separated proxy IPs whose `X-Forwarded-For` is believed (rate-limit keys).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `SMTP_URL`: e.g. `smtps://user:pass@smtp.example.com:465`; without it, sign-in emails go to the local outbox
    /// when `DEV_OUTBOX` is on, and are refused otherwise.
    pub smtp_url: Option<SecretString>,
    /// `SMTP_FROM`: sender address.
    pub smtp_from: String,
    /// `DEV_OUTBOX`: without SMTP, keep sign-in emails in the local outbox at `/dev/outbox` (loopback requests
    /// only) instead of refusing to send them. For local development: `./scripts/run` turns it on.
    pub dev_outbox: bool,
    /// `ACCESS_TOKEN_TTL_SECS`: lifetime of built-in access tokens.
    pub access_token_ttl: Duration,
}

impl AuthConfig {
    /// Whether the app is served over https (cookies get `Secure` and the `__Host-` prefix).
    pub fn secure_cookies(&self) -> bool {
        self.site_url.starts_with("https://")
    }

    /// Whether `email` is listed in `ADMIN_EMAILS`.
    pub fn is_admin_email(&self, email: &str) -> bool {
        self.admin_emails.iter().any(|a| a.eq_ignore_ascii_case(email))
    }
}

/// Which model provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Anthropic's Messages API.
    Anthropic,
    /// An OpenAI-compatible Chat Completions endpoint (local models).
    OpenAi,
    /// The offline demo model.
    Offline,
}

/// The model and the agent loop.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// `LLM_PROVIDER` (`anthropic`, `openai`, `offline`); by default Anthropic with a key, else OpenAI-compatible
    /// with `OPENAI_BASE_URL`, else the offline demo model.
    pub provider: Provider,
    /// `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:11434/v1`.
    pub openai_base_url: Option<String>,
    /// `OPENAI_API_KEY`.
    pub openai_api_key: Option<SecretString>,
    /// `ANTHROPIC_API_KEY`; without it the offline demo model answers.
    pub api_key: Option<SecretString>,
    /// `ANTHROPIC_BASE_URL` (tests point it at a local fake).
    pub base_url: String,
    /// `MODEL_NAME`.
    pub model: String,
    /// `MAX_TOKENS`: output tokens per model turn.
    pub max_tokens: u32,
    /// `MAX_TOOL_ROUNDS`: model turns that may call tools, per question.
    pub max_tool_rounds: usize,
    /// `CONTEXT_EXCHANGES`: earlier exchanges of the conversation sent as context.
    pub context_exchanges: u32,
    /// `MODEL_PRICES`: JSON price entries extending the built-in table.
    pub model_prices: Option<String>,
    /// `OFFLINE_WORD_DELAY_MS`: pause between words the offline demo model streams.
    pub offline_word_delay: Duration,
}

/// Default per-user limits (an admin can override them per user) and cost alerts.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// `RATE_LIMIT_PER_MINUTE`: questions a user may ask per minute.
    pub requests_per_minute: u32,
    /// `MAX_CONCURRENT_RUNS`: answers being written at once per user.
    pub max_concurrent_runs: u32,
    /// `DAILY_BUDGET_USD`: model spend per user per UTC day (0 disables).
    pub daily_budget_usd: rust_decimal::Decimal,
    /// `MONTHLY_BUDGET_USD`: model spend per user per calendar month (0 disables).
    pub monthly_budget_usd: rust_decimal::Decimal,
    /// `COST_ALERT_USD`: alert when one user's daily spend exceeds this.
    pub cost_alert_usd: Option<rust_decimal::Decimal>,
    /// `COST_ALERT_TOTAL_USD`: alert when everyone's daily spend exceeds this.
    pub cost_alert_total_usd: Option<rust_decimal::Decimal>,
    /// `ALERT_WEBHOOK_URL`: Slack-compatible webhook for alerts.
    pub alert_webhook_url: Option<String>,
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: Postgres (Supabase's database, or the local cluster).
    pub database_url: SecretString,
    /// `DATABASE_MAX_CONNECTIONS`: size of the Postgres pool.
    pub database_max_connections: u32,
    /// `DATABASE_CONNECT_TIMEOUT_SECS`: how long start-up waits for Postgres before giving up.
    pub database_connect_timeout: Duration,
    /// DuckDB settings.
    pub duck: DuckConfig,
    /// `DATA_DIR`: local state (spool files, generated secrets). Created if missing.
    pub data_dir: PathBuf,
    /// `LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight work may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `METRICS_TOKEN`: a bearer token that opens `/metrics` to remote scrapers (without it, only requests from
    /// this machine are served).
    pub metrics_token: Option<SecretString>,
    /// `RUN_LEASE_SECS` (15): a run whose instance has not renewed its lease for this long counts as dead and is
    /// ended by another instance; leases are renewed three times per period.
    pub relay: crate::server::agent::relay::RelayConfig,
    /// Sign-in.
    pub auth: AuthConfig,
    /// The model.
    pub llm: LlmConfig,
    /// Limits, budgets and alerts.
    pub limits: LimitsConfig,
}

impl Config {
    /// Reads the configuration from the process environment, after loading `.env` if present.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is an error worth stopping for.
        if let Err(e) = dotenvy::dotenv()
            && !e.not_found()
        {
            return Err(ConfigError { var: ".env", problem: e.to_string() });
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            database_url: SecretString::from(env.required(
                "DATABASE_URL",
                "set it to a Postgres URL (./scripts/run starts a local Postgres for you)",
            )?),
            database_max_connections: env.parse_or("DATABASE_MAX_CONNECTIONS", 10u32, |n| *n > 0)?,
            database_connect_timeout: Duration::from_secs(env.parse_or(
                "DATABASE_CONNECT_TIMEOUT_SECS",
                30u64,
                |_| true,
            )?),
            duck: DuckConfig {
                path: PathBuf::from(env.string_or("DATABASE_PATH", "data/trading.duckdb")),
                memory_limit: env.size_or("DUCKDB_MEMORY_LIMIT", "1GB")?,
                threads: env.parse_or("DUCKDB_THREADS", 2u32, |n| *n > 0)?,
                max_temp_directory_size: env.size_or("DUCKDB_MAX_TEMP_SIZE", "1GB")?,
                query_timeout: Duration::from_secs_f64(
                    env.parse_or("QUERY_TIMEOUT_SECS", 10.0f64, |s| *s > 0.0 && *s <= 3600.0)?,
                ),
                max_concurrent_queries: env.parse_or("DUCKDB_MAX_CONCURRENT_QUERIES", 4usize, |n| *n > 0)?,
            },
            data_dir: PathBuf::from(env.string_or("DATA_DIR", "data")),
            log_format: env.parse_or("LOG_FORMAT", LogFormat::Text, |_| true)?,
            shutdown_grace: Duration::from_secs(env.parse_or("SHUTDOWN_GRACE_SECS", 20u64, |_| true)?),
            relay: {
                let lease = Duration::from_secs(env.parse_or("RUN_LEASE_SECS", 15u64, |n| *n >= 2)?);
                crate::server::agent::relay::RelayConfig { lease, heartbeat: lease / 3 }
            },
            metrics_token: env.get("METRICS_TOKEN").filter(|t| !t.trim().is_empty()).map(SecretString::from),
            auth: auth_config(&env)?,
            llm: LlmConfig {
                provider: provider(&env)?,
                openai_base_url: env.get("OPENAI_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
                openai_api_key: env.get("OPENAI_API_KEY").map(SecretString::from),
                api_key: env.get("ANTHROPIC_API_KEY").map(SecretString::from),
                base_url: env
                    .string_or("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
                    .trim_end_matches('/')
                    .to_owned(),
                model: model_name(&env)?,
                max_tokens: env.parse_or("MAX_TOKENS", 2048u32, |n| (256..=64_000).contains(n))?,
                max_tool_rounds: env.parse_or("MAX_TOOL_ROUNDS", 6usize, |n| (1..=20).contains(n))?,
                context_exchanges: env.parse_or("CONTEXT_EXCHANGES", 10u32, |n| *n <= 50)?,
                model_prices: env.get("MODEL_PRICES"),
                offline_word_delay: Duration::from_millis(
                    env.parse_or("OFFLINE_WORD_DELAY_MS", 15u64, |n| *n <= 1000)?,
                ),
            },
            limits: limits_config(&env)?,
        })
    }
}

/// `MODEL_NAME`: it is stored with every chat log (`chat_logs.model VARCHAR(50)`), so a longer name is refused here
/// rather than failing every log insert later.
fn model_name(env: &Env<'_>) -> Result<String, ConfigError> {
    let model = env.string_or("MODEL_NAME", "claude-haiku-4-5-20251001");
    let len = model.chars().count();
    if model.trim().is_empty() || len > 50 || model.contains('\0') {
        return Err(ConfigError {
            var: "MODEL_NAME",
            problem: format!("must be a model name of 1 to 50 characters (got {len})"),
        });
    }
    Ok(model)
}

fn provider(env: &Env<'_>) -> Result<Provider, ConfigError> {
    let anthropic = env.get("ANTHROPIC_API_KEY").is_some();
    let openai = env.get("OPENAI_BASE_URL").is_some();
    match env.get("LLM_PROVIDER").map(|p| p.to_ascii_lowercase()).as_deref() {
        None if anthropic => Ok(Provider::Anthropic),
        None if openai => Ok(Provider::OpenAi),
        None | Some("offline") => Ok(Provider::Offline),
        Some("anthropic") if anthropic => Ok(Provider::Anthropic),
        Some("anthropic") => {
            Err(ConfigError { var: "ANTHROPIC_API_KEY", problem: "not set; LLM_PROVIDER=anthropic needs it".into() })
        }
        Some("openai") if openai => Ok(Provider::OpenAi),
        Some("openai") => {
            Err(ConfigError { var: "OPENAI_BASE_URL", problem: "not set; LLM_PROVIDER=openai needs it".into() })
        }
        Some(other) => {
            Err(ConfigError { var: "LLM_PROVIDER", problem: format!("{other:?} is not anthropic, openai or offline") })
        }
    }
}

fn limits_config(env: &Env<'_>) -> Result<LimitsConfig, ConfigError> {
    use rust_decimal::Decimal;
    let non_negative = |d: &Decimal| !d.is_sign_negative();
    Ok(LimitsConfig {
        requests_per_minute: env.parse_or("RATE_LIMIT_PER_MINUTE", 10u32, |n| *n > 0)?,
        max_concurrent_runs: env.parse_or("MAX_CONCURRENT_RUNS", 2u32, |n| *n > 0)?,
        daily_budget_usd: env.parse_or("DAILY_BUDGET_USD", Decimal::new(2, 0), non_negative)?,
        monthly_budget_usd: env.parse_or("MONTHLY_BUDGET_USD", Decimal::new(20, 0), non_negative)?,
        cost_alert_usd: Some(env.parse_or("COST_ALERT_USD", Decimal::new(1, 0), non_negative)?)
            .filter(|d| !d.is_zero()),
        cost_alert_total_usd: Some(env.parse_or("COST_ALERT_TOTAL_USD", Decimal::new(20, 0), non_negative)?)
            .filter(|d| !d.is_zero()),
        alert_webhook_url: env.get("ALERT_WEBHOOK_URL"),
    })
}

fn auth_config(env: &Env<'_>) -> Result<AuthConfig, ConfigError> {
    let mode = match env.get("SUPABASE_URL") {
        Some(url) => {
            let url = url.trim_end_matches('/').to_owned();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError { var: "SUPABASE_URL", problem: format!("{url:?} is not an http(s) URL") });
            }
            AuthMode::Supabase {
                url,
                anon_key: SecretString::from(env.required(
                    "SUPABASE_ANON_KEY",
                    "it is required with SUPABASE_URL (Project settings → API → anon key)",
                )?),
                service_key: env.get("SUPABASE_SERVICE_KEY").map(SecretString::from),
            }
        }
        None => AuthMode::BuiltIn,
    };
    let site_url = env.string_or("SITE_URL", "http://127.0.0.1:3000").trim_end_matches('/').to_owned();
    if !(site_url.starts_with("https://") || site_url.starts_with("http://")) {
        return Err(ConfigError { var: "SITE_URL", problem: format!("{site_url:?} is not an http(s) URL") });
    }
    let trusted_proxies = env
        .get("TRUSTED_PROXIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| ConfigError { var: "TRUSTED_PROXIES", problem: format!("{s:?} is not an IP") }))
        .collect::<Result<Vec<_>, _>>()?;
    let jwt_secret = match (env.get("SUPABASE_JWT_SECRET"), env.get("AUTH_JWT_SECRET")) {
        (Some(s), _) => Some(("SUPABASE_JWT_SECRET", s)),
        (None, Some(s)) => Some(("AUTH_JWT_SECRET", s)),
        (None, None) => None,
    };
    // An HS256 key shorter than its 32-byte hash output can be brute-forced offline from one token.
    if let Some((var, secret)) = &jwt_secret
        && secret.len() < MIN_JWT_SECRET_BYTES
    {
        return Err(ConfigError {
            var,
            problem: format!(
                "is {} bytes long; an HS256 signing secret needs at least {MIN_JWT_SECRET_BYTES} (e.g. `openssl rand -base64 48`)",
                secret.len()
            ),
        });
    }
    Ok(AuthConfig {
        mode,
        jwt_secret: jwt_secret.map(|(_, s)| SecretString::from(s)),
        site_url,
        admin_emails: env
            .get("ADMIN_EMAILS")
            .unwrap_or_default()
            .split(',')
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect(),
        admin_user_ids: env
            .get("ADMIN_USER_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| ConfigError {
                    var: "ADMIN_USER_IDS",
                    problem: format!("{s:?} is not a user id (UUID)"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        trusted_proxies,
        smtp_url: env.get("SMTP_URL").map(SecretString::from),
        smtp_from: env.string_or("SMTP_FROM", "tradechat <no-reply@localhost>"),
        dev_outbox: env.flag("DEV_OUTBOX")?,
        access_token_ttl: Duration::from_secs(
            env.parse_or("ACCESS_TOKEN_TTL_SECS", 3600u64, |s| (60..=86_400).contains(s))?,
        ),
    })
}

/// Shortest HS256 signing secret accepted, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Typed access to variables, producing [`ConfigError`]s that name the variable.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The trimmed value, treating empty as unset (as `.env` files often leave `KEY=`).
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str, hint: &str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| ConfigError { var, problem: format!("not set; {hint}") })
    }

    /// An on/off switch: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; unset is off.
    fn flag(&self, var: &'static str) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => {
                Err(ConfigError { var, problem: format!("{other:?} is not 1/0, true/false, yes/no or on/off") })
            }
        }
    }

    fn string_or(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_owned())
    }

    fn parse_or<T>(&self, var: &'static str, default: T, valid: impl Fn(&T) -> bool) -> Result<T, ConfigError>
    where
        T: FromStr + std::fmt::Debug,
        T::Err: std::fmt::Display,
    {
        let Some(raw) = self.get(var) else {
            return Ok(default);
        };
        match raw.parse::<T>() {
            Ok(v) if valid(&v) => Ok(v),
            Ok(_) => Err(ConfigError { var, problem: format!("{raw:?} is out of range (default {default:?})") }),
            Err(e) => Err(ConfigError { var, problem: format!("{raw:?} is not valid: {e}") }),
        }
    }

    /// A DuckDB size such as `512MB` or `2GiB`; checked here so a typo fails at start-up, not at first query.
    fn size_or(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.string_or(var, default);
        let digits = raw.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
        let unit = raw[digits.len()..].trim().to_ascii_uppercase();
        let unit_ok = ["", "B", "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB"].contains(&unit.as_str());
        if digits.parse::<f64>().is_ok_and(|n| n > 0.0) && unit_ok {
            Ok(raw)
        } else {
            Err(ConfigError { var, problem: format!("{raw:?} is not a size like 512MB or 2GB") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let c = config(&[("DATABASE_URL", "postgres://x@localhost/db")]).expect("valid");
        assert_eq!(c.duck.path, PathBuf::from("data/trading.duckdb"));
        assert_eq!(c.duck.query_timeout, Duration::from_secs(10));
        assert_eq!(c.database_max_connections, 10);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.llm.model, "claude-haiku-4-5-20251001");
        assert_eq!(c.llm.context_exchanges, 10);
        assert!(c.llm.api_key.is_none());
        assert_eq!(c.llm.provider, Provider::Offline);
        let c =
            config(&[("DATABASE_URL", "postgres://x"), ("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")]).expect("ok");
        assert_eq!(
            (c.llm.provider, c.llm.openai_base_url.as_deref()),
            (Provider::OpenAi, Some("http://127.0.0.1:11434/v1"))
        );
        let err = config(&[("DATABASE_URL", "postgres://x"), ("LLM_PROVIDER", "anthropic")]).expect_err("no key");
        assert_eq!(err.var, "ANTHROPIC_API_KEY");
    }

    #[test]
    fn missing_database_url_names_the_variable() {
        let err = config(&[]).expect_err("DATABASE_URL is required");
        assert_eq!(err.var, "DATABASE_URL");
        assert!(err.to_string().starts_with("DATABASE_URL: not set"));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let err = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_THREADS", "many")]).expect_err("bad");
        assert_eq!(err.var, "DUCKDB_THREADS");
        assert!(err.to_string().contains("\"many\""), "{err}");

        let err = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_THREADS", "0")]).expect_err("zero");
        assert!(err.to_string().contains("out of range"), "{err}");

        let err = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_MEMORY_LIMIT", "lots")]).expect_err("size");
        assert_eq!(err.var, "DUCKDB_MEMORY_LIMIT");

        let err = config(&[("DATABASE_URL", "postgres://x"), ("LOG_FORMAT", "xml")]).expect_err("format");
        assert_eq!(err.var, "LOG_FORMAT");

        let long = "m".repeat(51);
        let err = config(&[("DATABASE_URL", "postgres://x"), ("MODEL_NAME", &long)]).expect_err("too long");
        assert_eq!(err.var, "MODEL_NAME");
        assert!(err.to_string().contains("got 51"), "{err}");
    }

    #[test]
    fn sizes_accept_duckdb_units_and_blank_means_default() {
        let c = config(&[("DATABASE_URL", "postgres://x"), ("DUCKDB_MEMORY_LIMIT", "512MiB"), ("DUCKDB_THREADS", " ")])
            .expect("valid");
        assert_eq!(c.duck.memory_limit, "512MiB");
        assert_eq!(c.duck.threads, 2);
    }

    #[test]
    fn auth_is_built_in_without_supabase_and_needs_the_anon_key_with_it() {
        let c = config(&[("DATABASE_URL", "postgres://x")]).expect("valid");
        assert!(matches!(c.auth.mode, AuthMode::BuiltIn));
        assert!(!c.auth.secure_cookies());
        let err = config(&[("DATABASE_URL", "postgres://x"), ("SUPABASE_URL", "https://p.supabase.co")])
            .expect_err("anon key required");
        assert_eq!(err.var, "SUPABASE_ANON_KEY");
        let c = config(&[
            ("DATABASE_URL", "postgres://x"),
            ("SUPABASE_URL", "https://p.supabase.co/"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("ADMIN_EMAILS", "Boss@Example.com, ops@example.com"),
            ("SITE_URL", "https://chat.example.com"),
        ])
        .expect("valid");
        assert!(matches!(&c.auth.mode, AuthMode::Supabase { url, .. } if url == "https://p.supabase.co"));
        assert!(c.auth.is_admin_email("boss@example.com") && c.auth.secure_cookies());
        let err = config(&[("DATABASE_URL", "postgres://x"), ("TRUSTED_PROXIES", "10.0.0.1,nope")]).expect_err("ip");
        assert_eq!(err.var, "TRUSTED_PROXIES");
    }

    #[test]
    fn short_signing_secrets_and_bad_admin_ids_are_refused() {
        let err = config(&[("DATABASE_URL", "postgres://x"), ("AUTH_JWT_SECRET", "short")]).expect_err("short");
        assert_eq!(err.var, "AUTH_JWT_SECRET");
        assert!(err.to_string().contains("5 bytes long"), "{err}");
        let err =
            config(&[("DATABASE_URL", "postgres://x"), ("SUPABASE_JWT_SECRET", &"s".repeat(31))]).expect_err("31");
        assert_eq!(err.var, "SUPABASE_JWT_SECRET");
        config(&[("DATABASE_URL", "postgres://x"), ("AUTH_JWT_SECRET", &"s".repeat(32))]).expect("32 bytes is enough");
        let id = uuid::Uuid::new_v4();
        let c = config(&[("DATABASE_URL", "postgres://x"), ("ADMIN_USER_IDS", &format!(" {id} ,"))]).expect("ids");
        assert_eq!(c.auth.admin_user_ids, vec![id]);
        let err = config(&[("DATABASE_URL", "postgres://x"), ("ADMIN_USER_IDS", "boss")]).expect_err("not a uuid");
        assert_eq!(err.var, "ADMIN_USER_IDS");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let c = config(&[("DATABASE_URL", "postgres://user:hunter2@db/x")]).expect("valid");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
