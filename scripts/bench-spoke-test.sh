#!/bin/sh
# Times `spoke test` on 100 cases: the scaffold's score.js with 100 cases,
# then 100 cases that each seed a contact and update it through
# @hubspot/api-client. Usage: scripts/bench-spoke-test.sh [SPOKE_BINARY]
set -eu
bin=$(realpath "${1:-bin/spoke}")
export SPOKE_SANDBOX_NODE_MODULES="${SPOKE_SANDBOX_NODE_MODULES:-$(realpath sandbox/node/node_modules)}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" init "$dir/plain" >/dev/null
{
	echo "cases:"
	i=0
	while [ $i -lt 100 ]; do
		if [ $((i % 2)) -eq 0 ]; then
			printf '  - name: founder %d\n    inputFields: {email: u%d@corp.example, jobtitle: Founder}\n    expect: {outputs: {score: 100, grade: A}, logs: [{contains: scored}]}\n' $i $i
		else
			printf '  - name: personal %d\n    inputFields: {email: u%d@gmail.com}\n    expect: {outputs: {score: {lt: 40}, grade: C}}\n' $i $i
		fi
		i=$((i + 1))
	done
} >"$dir/plain/actions/score.test.yaml"

mkdir -p "$dir/crm"
cat >"$dir/crm/touch.js" <<'JS'
const hubspot = require('@hubspot/api-client');
exports.main = async (event, callback) => {
  const client = new hubspot.Client({ accessToken: process.env.HUBSPOT_TOKEN });
  await client.crm.contacts.basicApi.update(String(event.object.objectId), { properties: { lifecyclestage: 'lead' } });
  callback({ outputFields: { ok: true } });
};
JS
{
	echo "cases:"
	i=0
	while [ $i -lt 100 ]; do
		printf '  - name: c%d\n    secrets: {HUBSPOT_TOKEN: {crm: token}}\n    crm: {records: {r: {type: contacts, properties: {email: u%d@x.example}}}}\n    expect: {crm: {updated: [{ref: r, properties: {lifecyclestage: lead}}]}}\n' $i $i
		i=$((i + 1))
	done
} >"$dir/crm/touch.test.yaml"

for set in plain crm; do
	for run in 1 2 3; do
		start=$(date +%s.%N)
		"$bin" test "$dir/$set" | tail -1 | tr -d '\n'
		end=$(date +%s.%N)
		echo " -- $set, run $run: $(echo "$end - $start" | bc) s wall for the whole command"
	done
done
