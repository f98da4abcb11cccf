#!/usr/bin/env bash
# vendor.sh installs the pinned CodeMirror from npm (package-lock.json) and
# copies the files the web UI embeds, with the licence, into
# web/static/vendor/codemirror. `make ui-vendor` runs it; the copies are
# committed so `go build` needs neither npm nor the network.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
src=node_modules/codemirror
dst=../static/vendor/codemirror
mkdir -p "$dst"
cp "$src/lib/codemirror.js" "$src/lib/codemirror.css" "$src/mode/javascript/javascript.js" "$src/mode/python/python.js" "$src/LICENSE" "$dst/"
grep '"version"' "$src/package.json" | sed 's/[ ",]//g; s/version:/CodeMirror /' > "$dst/VERSION"
