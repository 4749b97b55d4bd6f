#!/usr/bin/env bash
# The test command: starts what the tests talk to (PostgreSQL, and Postfix + Dovecot for the
# e-mail tests; installed from Debian's packages on first use, which needs root), then runs the
# whole suite on SQLite and PostgreSQL. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/postgres.sh
bash scripts/mail-servers.sh
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo test "$@"
