//! IMAP inbound (`IMAP_URL`, `imap://` or `imaps://`, async-imap over tokio, rustls for TLS).
//!
//! Unseen messages are fetched without marking them (`BODY.PEEK[]`, at most one byte more than
//! `[mail] max_message_bytes`), handed to [`super::receive_guarded`], and flagged `\Seen` only
//! once their turn committed (or they were recorded as ignored or unusable), or set aside with
//! the keyword `$Quarantined` after failing twice. When the database fails, the message stays
//! unseen and is read again on the next pass. Between passes the poller waits in IDLE when the server supports it, else
//! it polls. On PostgreSQL, one poller runs at a time among all instances (advisory lock).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::client::TlsStream;

use super::{Outcome, receive_guarded};
use crate::service::Service;

/// Where to read mail: parsed from `IMAP_URL` (`imap://user:pass@host:143/INBOX`).
#[derive(Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub user: String,
    pub password: SecretString,
    pub mailbox: String,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    pub fn parse(value: &str) -> anyhow::Result<ImapConfig> {
        let url = url::Url::parse(value)
            .context("IMAP_URL must look like imap://user:pass@host:143/INBOX")?;
        let tls = match url.scheme() {
            "imap" => false,
            "imaps" => true,
            other => bail!("IMAP_URL: unknown scheme {other}: (use imap:// or imaps://)"),
        };
        let host = url.host_str().context("IMAP_URL has no host")?.to_string();
        let decode = |s: &str| {
            percent_decode(s).context("IMAP_URL: the user or password is not valid UTF-8")
        };
        let user = decode(url.username())?;
        if user.is_empty() {
            bail!("IMAP_URL has no user (imap://user:pass@host/INBOX)");
        }
        let password = decode(url.password().unwrap_or_default())?;
        let mailbox = decode(url.path().trim_start_matches('/'))?;
        Ok(ImapConfig {
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            host,
            tls,
            user,
            password: password.into(),
            mailbox: if mailbox.is_empty() {
                "INBOX".into()
            } else {
                mailbox
            },
        })
    }
}

fn percent_decode(s: &str) -> anyhow::Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8(out)?)
}

/// A plain or TLS connection.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<Stream>;

async fn connect(config: &ImapConfig) -> anyhow::Result<Session> {
    let tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("cannot connect to {}:{}", config.host, config.port))?;
    let stream = if config.tls {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(config.host.clone())
            .context("IMAP_URL: the host is not a valid TLS server name")?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await
            .context("TLS handshake with the IMAP server failed")?;
        Stream::Tls(Box::new(stream))
    } else {
        Stream::Plain(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .context("no greeting from the IMAP server")?
        .context("the IMAP server closed the connection")?;
    let mut session = client
        .login(&config.user, config.password.expose_secret())
        .await
        .map_err(|(error, _)| error)
        .context("IMAP login failed")?;
    session
        .select(&config.mailbox)
        .await
        .with_context(|| format!("cannot open the mailbox {}", config.mailbox))?;
    Ok(session)
}

/// What one pass over the mailbox did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub received: usize,
    /// Left unseen, to read again (the database failed).
    pub deferred: usize,
}

/// Reads every unseen message once.
async fn pass(service: &Service, session: &mut Session) -> anyhow::Result<Pass> {
    let mut uids: Vec<u32> = session.uid_search("UNSEEN").await?.into_iter().collect();
    uids.sort_unstable();
    let mut result = Pass::default();
    // At most one byte more than is ever parsed (a larger message is answered from its
    // headers): a partial fetch, so a huge message never comes whole into memory.
    let query = format!(
        "BODY.PEEK[]<0.{}>",
        service.settings.mail.max_message_bytes.saturating_add(1)
    );
    for uid in uids {
        let raw = {
            let mut fetches = session.uid_fetch(uid.to_string(), &query).await?;
            let mut raw = None;
            while let Some(fetch) = fetches.next().await {
                if let Some(body) = fetch?.body() {
                    raw = Some(body.to_vec());
                }
            }
            raw
        };
        let Some(raw) = raw else { continue };
        let flags = match receive_guarded(service, &raw).await {
            Outcome::Done(Ok(_)) => "(\\Seen)",
            Outcome::Done(Err(error)) => {
                tracing::warn!(%error, "unusable e-mail set aside");
                "(\\Seen)"
            }
            Outcome::Retry(error) => {
                tracing::warn!(%error, "e-mail left unseen, to read again");
                result.deferred += 1;
                continue;
            }
            // Seen, so never read again, and marked so that a person can find it.
            Outcome::Quarantined(_) => "(\\Seen $Quarantined)",
        };
        let mut stored = session
            .uid_store(uid.to_string(), format!("+FLAGS.SILENT {flags}"))
            .await?;
        while let Some(fetch) = stored.next().await {
            fetch?;
        }
        result.received += 1;
    }
    while session.unsolicited_responses.try_recv().is_ok() {}
    Ok(result)
}

/// Polls (or IDLEs on) the mailbox until `shutdown` turns true; reconnects after errors.
pub async fn run(service: Service, config: ImapConfig, mut shutdown: watch::Receiver<bool>) {
    let _lock = match service.db.singleton("imap-poller", &mut shutdown).await {
        Some(lock) => lock,
        None => return,
    };
    let mut backoff = Duration::from_secs(1);
    while !*shutdown.borrow() {
        match session_loop(&service, &config, &mut shutdown).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), ?backoff, "IMAP session ended; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn session_loop(
    service: &Service,
    config: &ImapConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut session = connect(config).await?;
    let idle = session.capabilities().await?.has_str("IDLE");
    tracing::info!(idle, mailbox = %config.mailbox, "IMAP connected");
    let rules = &service.settings.mail;
    loop {
        let done = pass(service, &mut session).await?;
        if *shutdown.borrow() {
            session.logout().await.ok();
            return Ok(());
        }
        if done.deferred > 0 {
            // The database failed: wait a little before reading them again.
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if idle {
            let mut handle = session.idle();
            handle.init().await?;
            let (wait, _stop) =
                handle.wait_with_timeout(Duration::from_secs(rules.imap_idle_seconds));
            let stop = tokio::select! {
                result = wait => { result?; false }
                _ = shutdown.changed() => true,
            };
            session = handle.done().await?;
            if stop {
                session.logout().await.ok();
                return Ok(());
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(rules.imap_poll_seconds)) => {}
                _ = shutdown.changed() => {
                    session.logout().await.ok();
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imap_urls_give_host_port_tls_user_and_mailbox() {
        let c =
            ImapConfig::parse("imap://tramites%40ventanilla.test:s%3Acret@127.0.0.1:1143/INBOX")
                .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.tls), ("127.0.0.1", 1143, false));
        assert_eq!(c.user, "tramites@ventanilla.test");
        assert_eq!(c.password.expose_secret(), "s:cret");
        assert_eq!(c.mailbox, "INBOX");
        let c = ImapConfig::parse("imaps://u:hunter2@mail.example.mx").unwrap();
        assert_eq!((c.port, c.tls, c.mailbox.as_str()), (993, true, "INBOX"));
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "the password stays out of logs"
        );
        assert!(ImapConfig::parse("pop3://u:p@host").is_err());
        assert!(ImapConfig::parse("imap://host/INBOX").is_err());
    }
}
