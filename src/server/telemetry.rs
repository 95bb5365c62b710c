//! Structured logging with `tracing` (text for people, JSON for log shippers; `RUST_LOG` filters) and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, OpenTelemetry traces over OTLP/HTTP
//! (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the default, or `http/json`), through `tracing-opentelemetry`.
//!
//! The spans follow the OpenTelemetry GenAI semantic conventions: `invoke_agent tradechat` per run, `chat {model}`
//! per model call and `execute_tool {tool}` per tool call, with `gen_ai.*` attributes.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::server::config::LogFormat;

/// What [`init`] installed; [`Telemetry::shutdown`] flushes the spans still buffered.
#[must_use = "call shutdown() before exiting, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        if let Some(provider) = self.traces {
            // The batch exporter works on a thread of its own with a blocking client: wait for it off the runtime.
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(e)) = flushed {
                tracing::warn!(error = %e, "could not flush the last traces");
            }
        }
    }
}

/// Installs the global subscriber (logs, and traces when configured). Call once, first thing in `main`.
pub fn init(format: LogFormat) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn,tradechat=info"));
    let (traces, trace_error) = match tracer_provider() {
        Ok(provider) => (provider, None),
        Err(e) => (None, Some(e)),
    };
    let otel = traces.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("tradechat")));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_target(true);
    let result = match format {
        LogFormat::Text => registry.with(fmt).try_init(),
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).try_init(),
    };
    // Already installed (tests call this more than once): keep the first.
    drop(result);
    if let Some(e) = trace_error {
        tracing::warn!("OpenTelemetry traces are off: {e}");
    }
    Telemetry { traces }
}

/// The OTLP exporter the standard `OTEL_*` variables describe, or `None` when no endpoint is set.
fn tracer_provider() -> Result<Option<SdkTracerProvider>, String> {
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Ok(None);
    }
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        Ok("http/json") => Protocol::HttpJson,
        Ok("http/protobuf") | Err(_) => Protocol::HttpBinary,
        Ok(other) => return Err(format!("OTEL_EXPORTER_OTLP_PROTOCOL={other}: use http/protobuf or http/json")),
    };
    // The exporter's blocking HTTP client may not be made on an async runtime's thread.
    let built = std::thread::spawn(move || {
        opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(protocol).build()
    })
    .join()
    .map_err(|_| "the OTLP exporter panicked while starting".to_owned())?
    .map_err(|e| e.to_string())?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "tradechat".into());
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(built)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build(),
    ))
}
