//! The Maildir inbox (`$VENTANILLA_DATA_DIR/inbox`), the embedded default: whatever delivers
//! into `new/` (an MTA, fetchmail, a test) is read; a message moves to `cur/` (flagged seen)
//! only once its turn committed or it was recorded as ignored or unusable. When the database
//! fails it stays in `new/` and is read again on the next scan.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{ReceiveError, receive};
use crate::service::Service;

#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

/// What one scan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub received: usize,
    /// Left in `new/`, to read again (the database failed).
    pub deferred: usize,
}

impl Maildir {
    /// Opens (creating `new/`, `cur/` and `tmp/` if needed) the Maildir at `root`.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Maildir> {
        let root = root.into();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(Maildir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Delivers a message the Maildir way: written in `tmp/`, then moved to `new/`.
    pub fn deliver(&self, raw: &[u8]) -> std::io::Result<PathBuf> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "{}.M{}P{}Q{}.ventanilla",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = self.root.join("tmp").join(&name);
        std::fs::write(&tmp, raw)?;
        let new = self.root.join("new").join(&name);
        std::fs::rename(&tmp, &new)?;
        Ok(new)
    }

    /// Messages waiting in `new/`, oldest name first.
    pub fn waiting(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.root.join("new"))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// Moves a message from `new/` to `cur/`, flagged seen.
    fn done(&self, path: &Path) -> std::io::Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let base = name.split(":2,").next().unwrap_or(&name);
        std::fs::rename(path, self.root.join("cur").join(format!("{base}:2,S")))
    }

    /// Reads every message waiting in `new/` once.
    pub async fn scan(&self, service: &Service) -> std::io::Result<Scan> {
        let mut scan = Scan::default();
        for path in self.waiting()? {
            let raw = match tokio::fs::read(&path).await {
                Ok(raw) => raw,
                // Taken by another reader meanwhile.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            };
            match receive(service, &raw).await {
                Ok(_) => {}
                Err(error @ ReceiveError::Unusable(_)) => {
                    tracing::warn!(%error, "unusable e-mail set aside");
                }
                Err(error) => {
                    tracing::warn!(%error, "e-mail left in new/, to read again");
                    scan.deferred += 1;
                    continue;
                }
            }
            self.done(&path)?;
            scan.received += 1;
        }
        Ok(scan)
    }

    /// Scans `new/` every `every` until `shutdown` turns true.
    pub async fn run(self, service: Service, every: Duration, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(error) = self.scan(&service).await {
                tracing::warn!(%error, "cannot read the Maildir inbox");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
