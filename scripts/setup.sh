#!/usr/bin/env bash
# setup.sh installs everything Spoke's run and test commands need on a fresh
# Debian machine (as root): the sandbox's runtimes and libraries, and the
# contract suite's pinned @hubspot/api-client. Idempotent and quick when done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/scripts/setup-sandbox.sh"

contract="$root/contract"
if [ ! -f "$contract/node_modules/.package-lock.json" ] ||
	[ "$contract/package-lock.json" -nt "$contract/node_modules/.package-lock.json" ]; then
	(cd "$contract" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok"
