#!/usr/bin/env bash
# setup.sh installs everything Spoke's run and test commands need on a fresh
# Debian machine (as root): the sandbox's runtimes and libraries, and the
# contract suite's pinned @hubspot/api-client, the pinned ESLint that
# `spoke lint` and flow saves run (lint/package-lock.json), Chromium for
# the web UI's browser tests, and PostgreSQL for the second store's tests.
# Idempotent and quick when done.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive # apt must never stop to ask
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/setup-sandbox.sh"

# ESLint for `spoke lint` and lint at save, pinned by lint/package-lock.json.
lintdir="$root/lint"
if [ ! -f "$lintdir/node_modules/.package-lock.json" ] ||
	[ "$lintdir/package-lock.json" -nt "$lintdir/node_modules/.package-lock.json" ]; then
	(cd "$lintdir" && npm ci --no-audit --no-fund --loglevel=error)
fi

contract="$root/contract"
if [ ! -f "$contract/node_modules/.package-lock.json" ] ||
	[ "$contract/package-lock.json" -nt "$contract/node_modules/.package-lock.json" ]; then
	(cd "$contract" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The web UI's browser tests drive Debian's Chromium.
if ! command -v chromium >/dev/null 2>&1; then
	apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }
fi
# The PostgreSQL store's tests start a throwaway server from Debian's
# postgresql package (initdb and pg_ctl; no service is enabled or needed).
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	apt-get install -y --no-install-recommends postgresql || { apt-get update && apt-get install -y --no-install-recommends postgresql; }
fi
echo "setup: ok"
