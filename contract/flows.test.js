'use strict';
// Automation v4 flows (reference §5, checklist item 13): neither client
// has a typed flows API, so callers use apiRequest. POST 201, GET 200,
// PUT 200 (and 409 on a stale revisionId), DELETE 204, with HubSpot's
// defaults filled and unknown fields kept.

const assert = require('node:assert/strict');
const { describe, it, client, uniq, assertEnvelope, short } = require('./support/spoke');

const hs = client();

function flowBody(name) {
  return {
    name,
    type: 'CONTACT_FLOW',
    objectTypeId: '0-1',
    flowType: 'WORKFLOW',
    isEnabled: false,
    contractExtra: { kept: [1, 'two'] },
    actions: [
      {
        type: 'CUSTOM_CODE',
        actionId: '1',
        runtime: 'NODE20X',
        secretNames: [],
        sourceCode:
          "exports.main = async (event, callback) => callback({outputFields: {zip: (event.inputFields.zip || '').trim()}});",
        inputFields: [{ name: 'zip', value: { type: 'OBJECT_PROPERTY', propertyName: 'zip' } }],
        outputFields: [{ name: 'zip', type: 'STRING' }],
        connection: { edgeType: 'STANDARD', nextActionId: '2' },
      },
      {
        type: 'SINGLE_CONNECTION',
        actionId: '2',
        actionTypeId: '0-5',
        actionTypeVersion: 0,
        fields: { property_name: 'zip', value: { type: 'FIELD_DATA', actionId: '1', dataKey: 'zip' } },
        connection: { edgeType: 'STANDARD', nextActionId: '3' },
      },
      {
        type: 'SINGLE_CONNECTION',
        actionId: '3',
        actionTypeId: '0-1',
        actionTypeVersion: 0,
        fields: { delta: '60', time_unit: 'MINUTES' },
      },
    ],
    enrollmentCriteria: { type: 'MANUAL', shouldReEnroll: false },
  };
}

async function call(method, path, body) {
  const res = await hs.apiRequest(body === undefined ? { method, path } : { method, path, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

describe('automation v4 flows through apiRequest', { concurrency: 1 }, () => {
  let id;
  let created;

  it('POST /automation/v4/flows → 201 with id, revisionId "1" and defaults', async () => {
    const r = await call('POST', '/automation/v4/flows', flowBody(uniq('flow_')));
    assert.equal(r.status, 201, r.text);
    created = r.json;
    id = created.id;
    assert.match(String(id), /^\d+$/, `id: ${short(created)}`);
    assert.equal(created.revisionId, '1');
    assert.equal(created.startActionId, '1');
    assert.equal(created.nextAvailableActionId, '4');
    assert.equal(created.crmObjectCreationStatus, 'COMPLETE');
    for (const k of ['timeWindows', 'blockedDates', 'dataSources', 'suppressionListIds']) {
      assert.deepEqual(created[k], [], `${k}: ${short(created)}`);
    }
    assert.deepEqual(created.customProperties, {});
    assert.equal(created.canEnrollFromSalesforce, false);
    assert.deepEqual(created.contractExtra, { kept: [1, 'two'] }, 'unknown fields round-trip');
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)) && !Number.isNaN(Date.parse(created.updatedAt)));
  });

  it('GET → 200, the same document; the list shows key fields only', async () => {
    const r = await call('GET', `/automation/v4/flows/${id}`);
    assert.equal(r.status, 200, r.text);
    // The save's answer adds Spoke's lint findings ("warnings"), which
    // belong to the save and are not stored.
    const { warnings, ...stored } = created;
    assert.ok(Array.isArray(warnings), `warnings: ${short(created)}`);
    assert.deepEqual(r.json, stored);
    const list = await call('GET', '/automation/v4/flows?limit=100');
    assert.equal(list.status, 200, list.text);
    assert.ok(Array.isArray(list.json.results));
    const item = list.json.results.find((f) => f.id === id);
    if (item) {
      assert.equal(item.revisionId, '1');
      assert.equal(item.actions, undefined, 'listing has no actions');
    }
  });

  it('PUT with the current revisionId → 200 and the next revision', async () => {
    const body = { ...flowBody('renamed'), revisionId: '1' };
    const r = await call('PUT', `/automation/v4/flows/${id}`, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.revisionId, '2');
    assert.equal(r.json.name, 'renamed');
    assert.equal(r.json.id, id);
  });

  it('PUT with a stale revisionId → 409', async () => {
    const r = await call('PUT', `/automation/v4/flows/${id}`, { ...flowBody('stale'), revisionId: '1' });
    assert.equal(r.status, 409, r.text);
    assertEnvelope(r.json, 'stale PUT');
    assert.match(r.json.message, /revision 2/);
  });

  it('a flow with a broken action → 400 naming the action', async () => {
    const body = flowBody(uniq('bad_'));
    body.actions[1].connection.nextActionId = '99';
    const r = await call('POST', '/automation/v4/flows', body);
    assert.equal(r.status, 400, r.text);
    assertEnvelope(r.json, 'bad flow');
    assert.match(r.json.message, /action "2"/);
  });

  it('DELETE → 204, then GET → 404', async () => {
    const r = await call('DELETE', `/automation/v4/flows/${id}`);
    assert.equal(r.status, 204, r.text);
    const g = await call('GET', `/automation/v4/flows/${id}`);
    assert.equal(g.status, 404, g.text);
    assertEnvelope(g.json, 'deleted flow');
  });
});
