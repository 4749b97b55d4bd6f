#!/usr/bin/env bash
# Every benchmark once, small and in the test profile: proof that each still runs and prints its
# figures next to its anchor (the figures themselves mean nothing here; `cargo bench` measures).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_APPLICANTS=5 cargo test -q --bench turns
BENCH_UPDATES=20 cargo test -q --bench telegram
BENCH_MESSAGES=5 cargo test -q --bench email
BENCH_PDFS=2 cargo test -q --bench documents
BENCH_APPOINTMENTS=5 BENCH_RENDERS=2 cargo test -q --bench console
BENCH_QUEUED=20 BENCH_PROBES=2 cargo test -q --bench lanes
BENCH_APPLICANTS=2 BENCH_APPLICATIONS=20 BENCH_QUEUED=20 BENCH_TURNS=3 BENCH_THINK_MS=0 \
  cargo test -q --bench load
