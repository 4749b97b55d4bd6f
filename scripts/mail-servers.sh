#!/usr/bin/env bash
# Installs (from Debian's packages) and starts a local mail stack for the e-mail tests:
#   Postfix on 127.0.0.1:2525 (SMTP) delivering over LMTP to Dovecot (IMAP on 127.0.0.1:1143),
#   local domains ventanilla.test (the service) and correo.test (applicants), '+' as the
#   recipient delimiter. Every address of those domains is a mailbox (password "secret"), so
#   each test uses mailboxes of its own. Mail to the domain rebota.test is accepted, then
#   cannot be delivered (its relay refuses connections) and, as every delivery here is tried
#   once, Postfix sends a real delivery status notification back to the sender. Mail to
#   rechaza.test is refused at RCPT with 554 5.7.1, to demora.test with 451 4.3.0.
# Idempotent: running it again restarts both servers with the same configuration.
set -euo pipefail

SMTP_PORT=2525
IMAP_PORT=1143
LMTP_PORT=2424
MAIL_ROOT=/var/mail/ventanilla-test

if ! command -v postfix >/dev/null 2>&1 || ! command -v dovecot >/dev/null 2>&1 \
  || [ ! -e /usr/lib/dovecot/lmtp ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix dovecot-imapd dovecot-lmtpd >/dev/null
fi

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && { exec 3>&- 3<&- 2>/dev/null || true; return 0; }
    sleep 0.2
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# --- Dovecot -----------------------------------------------------------------------------
# Mailboxes belong to a system user of their own (Dovecot refuses to store mail as root).
id -u vtmail >/dev/null 2>&1 || useradd --system --home-dir "$MAIL_ROOT" --shell /usr/sbin/nologin vtmail
uid=$(id -u vtmail)
gid=$(id -g vtmail)
mkdir -p "$MAIL_ROOT"
chown -R vtmail:vtmail "$MAIL_ROOT"
cat > /etc/dovecot/ventanilla.conf <<CONF
# Written by scripts/mail-servers.sh for Ventanilla's tests. Not for production.
protocols = imap lmtp
listen = 127.0.0.1
base_dir = /run/dovecot-ventanilla
state_dir = /var/lib/dovecot-ventanilla
log_path = /var/log/dovecot-ventanilla.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $uid
mail_location = maildir:~/Maildir
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
# Any user of the test domains exists, with the password "secret".
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$MAIL_ROOT/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
protocol imap {
  imap_idle_notify_interval = 2 secs
}
CONF
mkdir -p /run/dovecot-ventanilla /var/lib/dovecot-ventanilla
if [ -e /run/dovecot-ventanilla/master.pid ]; then
  doveadm -c /etc/dovecot/ventanilla.conf stop >/dev/null 2>&1 || true
  sleep 0.5
fi
# Daemons must not keep the caller's stdout open (a CI log pipe would never end).
dovecot -c /etc/dovecot/ventanilla.conf </dev/null >/dev/null 2>&1

# --- Postfix -----------------------------------------------------------------------------
postconf -e \
  "compatibility_level = 3.6" \
  "maillog_file = /var/log/postfix.log" \
  "inet_interfaces = loopback-only" \
  "inet_protocols = ipv4" \
  "mydestination =" \
  "myhostname = mail.ventanilla.test" \
  "mynetworks = 127.0.0.0/8" \
  "smtpd_relay_restrictions = check_recipient_access inline:{ {rechaza.test=554 5.7.1 rejected for the tests}, {demora.test=451 4.3.0 try again later} }, permit_mynetworks, reject_unauth_destination" \
  "virtual_mailbox_domains = ventanilla.test correo.test" \
  "virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT" \
  "transport_maps = inline:{ rebota.test=smtp:[127.0.0.1]:9 }" \
  "maximal_queue_lifetime = 0" \
  "bounce_queue_lifetime = 0" \
  "recipient_delimiter = +" \
  "message_size_limit = 20480000" \
  "smtputf8_enable = yes"
# SMTP on a test port instead of 25.
sed -i -E "s/^smtp[[:space:]]+inet[[:space:]].*$/127.0.0.1:$SMTP_PORT inet n - n - - smtpd/" /etc/postfix/master.cf
grep -q "^127.0.0.1:$SMTP_PORT inet" /etc/postfix/master.cf \
  || echo "127.0.0.1:$SMTP_PORT inet n - n - - smtpd" >> /etc/postfix/master.cf
postfix check
if postfix status >/dev/null 2>&1; then postfix reload </dev/null >/dev/null 2>&1; else postfix start </dev/null >/dev/null 2>&1; fi

wait_port "$IMAP_PORT"
wait_port "$LMTP_PORT"
wait_port "$SMTP_PORT"
echo "mail stack ready: smtp://127.0.0.1:$SMTP_PORT imap://127.0.0.1:$IMAP_PORT"
