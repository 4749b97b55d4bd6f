//! Logging: structured `tracing` events to standard error, filtered by `RUST_LOG`.
//! Personal data never goes into a log line (CURPs are masked by their `Debug`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber; `default` is the filter when `RUST_LOG` is not set.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
