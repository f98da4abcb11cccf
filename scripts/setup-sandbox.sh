#!/usr/bin/env bash
# setup-sandbox.sh installs what Spoke's code runtime needs on a Debian machine:
# bubblewrap, Debian's CPython and the libraries HubSpot preinstalls for Python
# custom code that Debian packages (requests, redis, nltk, Google's API client;
# pandas and numpy besides), and the Node.js libraries HubSpot preinstalls,
# pinned by sandbox/node/package-lock.json. mysql-connector-python is not in
# Debian 12, and the HubSpot client (`from hubspot import HubSpot`) ships
# with Spoke itself (sandbox/python/hubspot).
# It is idempotent and fast when everything is already in place. Run as root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

need_apt=()
for pkg in bubblewrap python3 python3-requests python3-urllib3 python3-redis python3-nltk \
	python3-googleapi python3-pandas python3-numpy; do
	installed "$pkg" || need_apt+=("$pkg")
done
if [ ! -x /usr/bin/node ] || [ ! -x /usr/bin/npm ]; then
	echo "setup-sandbox: /usr/bin/node and /usr/bin/npm (Node.js 20) are required" >&2
	exit 1
fi

if [ ${#need_apt[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	# Update the package lists only when they are missing or an install fails.
	if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 ||
		! apt-get install -y --no-install-recommends "${need_apt[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${need_apt[@]}"
	fi
fi

# Install the pinned Node libraries when the lockfile changed since the last
# install (npm writes node_modules/.package-lock.json on every install).
nodedir="$root/sandbox/node"
if [ ! -f "$nodedir/node_modules/.package-lock.json" ] ||
	[ "$nodedir/package-lock.json" -nt "$nodedir/node_modules/.package-lock.json" ]; then
	(cd "$nodedir" && npm ci --no-audit --no-fund --loglevel=error)
fi
# Reserve the host user IDs sandboxed code runs as, one per worker
# (docs/sandbox.md): the range is recorded for "spoke-sandbox" in
# /etc/subuid and /etc/subgid, where useradd and container runtimes look
# before they hand out subordinate IDs, after checking that it overlaps no
# other reservation. SPOKE_SANDBOX_UIDS=FIRST:COUNT picks another range
# (the pool reads it back from /etc/subuid).
uids="${SPOKE_SANDBOX_UIDS:-2000000000:65536}"
first="${uids%%:*}"
count="${uids##*:}"
last=$((first + count - 1))
for f in /etc/subuid /etc/subgid; do
	touch "$f"
	if grep -q '^spoke-sandbox:' "$f"; then
		continue
	fi
	while IFS=: read -r owner start n; do
		[ -n "$owner" ] && [ -n "$start" ] && [ -n "$n" ] || continue
		if [ "$start" -le "$last" ] && [ $((start + n - 1)) -ge "$first" ]; then
			echo "setup-sandbox: the sandbox's IDs $first-$last overlap $owner's range in $f; set SPOKE_SANDBOX_UIDS=FIRST:COUNT" >&2
			exit 1
		fi
	done <"$f"
	echo "spoke-sandbox:$first:$count" >>"$f"
done
# Users or groups already given an ID in the range keep it: the pool skips
# those IDs. Say so, since another process may run under them.
taken=$(awk -F: -v a="$first" -v b="$last" '$3 >= a && $3 <= b { print FILENAME ": " $1 " (" $3 ")" }' /etc/passwd /etc/group)
if [ -n "$taken" ]; then
	echo "setup-sandbox: warning: these IDs in the sandbox's range are taken and will be skipped:" >&2
	echo "$taken" >&2
fi
echo "setup-sandbox: ok"
