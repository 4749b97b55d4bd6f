#!/usr/bin/env bash
# The test command: starts what the tests talk to (PostgreSQL, Postfix + Dovecot for the e-mail
# tests, poppler to read PDFs back, Chromium and its WebDriver for the console; installed from
# Debian's packages on first use, which needs root), then runs the whole suite on SQLite and
# PostgreSQL. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/postgres.sh
bash scripts/mail-servers.sh
# The document tests read PDFs back with poppler (pdftotext, pdftoppm).
if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
# The console's browser tests drive Debian's headless Chromium through its WebDriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo test "$@"
# Every benchmark once, small, in the test profile: that each still runs (not how fast).
if [ "$#" -eq 0 ]; then
  bash scripts/bench-smoke.sh
fi
