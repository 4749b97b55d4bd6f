//! Files Ventanilla writes under `VENTANILLA_DATA_DIR` hold personal data (the database, the
//! e-mails, the documents): the folders it creates are owner-only (0700) and the files it
//! creates are readable by their owner only (0600), whatever the umask allows. Existing files
//! and folders keep the mode they have.

use std::io;
use std::path::Path;

/// The first `max` bytes of a file (all of it when smaller): what is read of a file anyone
/// may have put there (an inbound message, a PDF to verify) never exceeds its cap.
pub async fn read_at_most(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let file = tokio::fs::File::open(path).await?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

/// Owner-only folders.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
/// Owner-only files.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents, each owner-only.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path)
}

/// Like [`create_private_dir_all`], without blocking the runtime.
pub async fn create_private_dir_all_async(path: &Path) -> io::Result<()> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder.create(path).await
}

/// Creates `path` empty and owner-only when it does not exist (so that a program creating it
/// later, such as SQLite, finds it with that mode); leaves an existing file as it is.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path).map(|_| ())
}

/// Writes `bytes` to `path`, creating it owner-only, replacing what it held.
pub async fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    let mut file = options.open(path).await?;
    file.write_all(bytes).await?;
    file.flush().await
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn folders_and_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        let file = nested.join("f.pdf");
        let empty = nested.join("db");

        create_private_dir_all(&nested).unwrap();
        write_private(&file, b"%PDF").await.unwrap();
        create_private_file(&empty).unwrap();
        create_private_dir_all_async(&dir.path().join("c/d"))
            .await
            .unwrap();

        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&dir.path().join("c/d")), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"%PDF");
        assert_eq!(mode(&empty), 0o600);
        // An existing file is left as it is.
        write_private(&empty, b"x").await.unwrap();
        create_private_file(&empty).unwrap();
        assert_eq!(std::fs::read(&empty).unwrap(), b"x");
    }
}
