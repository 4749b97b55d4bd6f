//! The cédula's signature: Ed25519 over the *cadena original*. The signing key is a file (32
//! random bytes, base64) named by the settings; its public half is published by the HTTP
//! server and stored with every cédula it signed.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

/// The office's signing key.
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    /// Creates a new key at `path` (refusing to overwrite one), readable by its owner only.
    pub fn generate(path: &Path) -> anyhow::Result<Signer> {
        if path.exists() {
            bail!(
                "{} already exists: a new key would leave the cédulas signed with it unverifiable",
                path.display()
            );
        }
        if let Some(dir) = path.parent() {
            crate::files::create_private_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let seed: [u8; 32] = rand::random();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        std::io::Write::write_all(&mut file, format!("{}\n", STANDARD.encode(seed)).as_bytes())?;
        Ok(Signer {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn load(path: &Path) -> anyhow::Result<Signer> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "no signing key at {} (create one with `ventanilla staff keygen`)",
                path.display()
            )
        })?;
        let bytes = STANDARD
            .decode(text.trim())
            .context("the signing key file is not base64")?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the signing key file does not hold 32 bytes"))?;
        Ok(Signer {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The signature of `message`, base64.
    pub fn sign(&self, message: &str) -> String {
        STANDARD.encode(self.key.sign(message.as_bytes()).to_bytes())
    }

    /// The public key, base64.
    pub fn public_key(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }
}

/// Why a signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the public key is malformed")]
    BadKey,
    #[error("the signature is malformed")]
    BadSignature,
    #[error("the signature does not match the cadena original")]
    Mismatch,
}

/// Checks a base64 signature of `message` against a base64 public key.
pub fn verify(public_key: &str, message: &str, signature: &str) -> Result<(), SignatureError> {
    let key: [u8; 32] = STANDARD
        .decode(public_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::BadKey)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| SignatureError::BadKey)?;
    let signature: [u8; 64] = STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::BadSignature)?;
    key.verify_strict(message.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/cedula.key");
        let signer = Signer::generate(&path).unwrap();
        assert!(Signer::generate(&path).is_err(), "never overwrites a key");
        let loaded = Signer::load(&path).unwrap();
        assert_eq!(loaded.public_key(), signer.public_key());
        let signature = signer.sign("||1|00000001||");
        assert_eq!(
            verify(&signer.public_key(), "||1|00000001||", &signature),
            Ok(())
        );
        assert_eq!(
            verify(&signer.public_key(), "||1|00000002||", &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&signer.public_key(), "||1|00000001||", "AAAA"),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(verify("xx", "a", &signature), Err(SignatureError::BadKey));
    }
}
