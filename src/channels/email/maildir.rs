//! The Maildir inbox (`$VENTANILLA_DATA_DIR/inbox`), the embedded default: whatever delivers
//! into `new/` (an MTA, fetchmail, a test) is read; a message moves to `cur/` (flagged seen)
//! only once its turn committed or it was recorded as ignored or unusable. When the database
//! fails it stays in `new/` and is read again on the next scan. A message whose processing
//! failed or crashed the service too often moves to `quarantine/` (see
//! [`super::receive_guarded`]) and the scan goes on with the next.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{Outcome, receive_guarded};
use crate::service::Service;

const QUARANTINE: &str = "quarantine";

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
    /// Moved to `quarantine/`.
    pub quarantined: usize,
}

impl Maildir {
    /// Opens (creating `new/`, `cur/`, `tmp/` and `quarantine/` if needed) the Maildir at `root`.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Maildir> {
        let root = root.into();
        for sub in ["new", "cur", "tmp", QUARANTINE] {
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

    /// Moves a message from `new/` to `quarantine/`, where nothing reads it again.
    fn set_aside(&self, path: &Path) -> std::io::Result<()> {
        let name = path.file_name().unwrap_or_default();
        std::fs::rename(path, self.root.join(QUARANTINE).join(name))
    }

    /// Messages set aside in `quarantine/`.
    pub fn quarantined(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.root.join(QUARANTINE))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// Reads every message waiting in `new/` once. One message never stops the others: a
    /// message that cannot be moved is logged and read again on the next scan.
    pub async fn scan(&self, service: &Service) -> std::io::Result<Scan> {
        let mut scan = Scan::default();
        // More than this is never parsed: a larger message is answered from its headers.
        let max_read = (service.settings.mail.max_message_bytes as u64).saturating_add(1);
        for path in self.waiting()? {
            let raw = match crate::files::read_at_most(&path, max_read).await {
                Ok(raw) => raw,
                // Taken by another reader meanwhile.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => {
                    tracing::warn!(%error, "cannot read a message of the Maildir inbox");
                    scan.deferred += 1;
                    continue;
                }
            };
            let moved = match receive_guarded(service, &raw).await {
                Outcome::Done(Ok(_)) => self.done(&path),
                Outcome::Done(Err(error)) => {
                    tracing::warn!(%error, "unusable e-mail set aside");
                    self.done(&path)
                }
                Outcome::Retry(error) => {
                    tracing::warn!(%error, "e-mail left in new/, to read again");
                    scan.deferred += 1;
                    continue;
                }
                Outcome::Quarantined(_) => {
                    scan.quarantined += 1;
                    self.set_aside(&path)
                }
            };
            match moved {
                Ok(()) => scan.received += 1,
                Err(error) => tracing::warn!(%error, "cannot move a message out of new/"),
            }
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
