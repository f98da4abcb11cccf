#!/bin/sh
# Runs the PostgreSQL benchmarks of BENCHMARKS.md ("PostgreSQL", issue 14),
# each beside SQLite in the same run, and keeps their output in a
# directory. Usage: scripts/bench-postgres.sh [DATABASE [OUTDIR]]
# DATABASE is pgtest (the default: a throwaway server that each command
# starts in a temporary directory and removes) or a postgres:// URL whose
# role may create databases (each command creates and drops its own).
# The whole run takes about 15 minutes on the 2-core development machine;
# the search benchmark holds 1,000,000 contacts in both stores for most of
# it (about 1.5 GB of disk and 2 GB of memory).
set -eu
db="${1:-pgtest}"
out="${2:-bench-postgres-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
go build -o bin/spoke ./cmd/spoke
{ date -u; uname -a; nproc; free -g; go version; } >"$out/machine.txt" 2>&1 || true
bin/spoke bench engine --database "$db" --worker-processes 1,2,4 | tee "$out/engine.txt"
bin/spoke bench crm --database "$db" | tee "$out/crm.txt"
bin/spoke bench search --database "$db" | tee "$out/search.txt"
echo "figures in $out"
