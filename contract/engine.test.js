'use strict';
// Workflow engine (Spoke's extension routes under /automation/v4): secrets,
// manual enrollment, enrollment status, the flow's write with its
// AUTOMATION_PLATFORM history, and usage, through apiRequest and the typed
// contacts client.

const assert = require('node:assert/strict');
const { describe, it, client, uniq, email, short } = require('./support/spoke');

const hs = client();

async function call(method, path, body) {
  const res = await hs.apiRequest(body === undefined ? { method, path } : { method, path, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('workflow engine through apiRequest', { concurrency: 1 }, () => {
  const secretName = uniq('CONTRACT_SECRET_').toUpperCase();
  const secretValue = uniq('value-');
  const title = uniq('engine-title-');
  let flowId;
  let contactId;

  it('PUT /automation/v4/secrets/{name} → 200 with name and dates, never the value', async () => {
    const r = await call('PUT', `/automation/v4/secrets/${secretName}`, { value: secretValue });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, secretName);
    assert.ok(!Number.isNaN(Date.parse(r.json.createdAt)), short(r.json));
    assert.ok(!r.text.includes(secretValue), 'the value is not echoed');

    const list = await call('GET', '/automation/v4/secrets');
    assert.equal(list.status, 200, list.text);
    assert.ok(list.json.results.some((s) => s.name === secretName), short(list.json));
    assert.ok(!list.text.includes(secretValue), 'GET never returns values');
  });

  it('PUT a secret with a bad name → 400', async () => {
    const r = await call('PUT', '/automation/v4/secrets/1-bad', { value: 'x' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.category, 'VALIDATION_ERROR');
  });

  it('POST an enabled set-property flow → 201', async () => {
    const r = await call('POST', '/automation/v4/flows', {
      name: uniq('engine_flow_'),
      type: 'CONTACT_FLOW',
      objectTypeId: '0-1',
      flowType: 'WORKFLOW',
      isEnabled: true,
      enrollmentCriteria: { type: 'MANUAL', shouldReEnroll: false },
      actions: [
        {
          type: 'SINGLE_CONNECTION',
          actionId: '1',
          actionTypeId: '0-5',
          actionTypeVersion: 0,
          fields: { property_name: 'jobtitle', value: { type: 'STATIC_VALUE', staticValue: title } },
        },
      ],
    });
    assert.equal(r.status, 201, r.text);
    flowId = r.json.id;
  });

  it('POST /automation/v4/flows/{id}/enrollments → 202 with the enrolled ids', async () => {
    const c = await hs.crm.contacts.basicApi.create({ properties: { email: email('engine') }, associations: [] });
    contactId = c.id;
    const r = await call('POST', `/automation/v4/flows/${flowId}/enrollments`, { objectIds: [contactId, '999999999'] });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.flowId, flowId);
    assert.deepEqual(r.json.enrolled, [contactId]);
    assert.equal(r.json.skipped.length, 1, short(r.json));
    assert.equal(r.json.skipped[0].objectId, '999999999');
    assert.match(r.json.skipped[0].reason, /^OBJECT_NOT_FOUND/);
  });

  it('the enrollment completes and the write has AUTOMATION_PLATFORM history', async () => {
    let en;
    for (let i = 0; i < 150; i++) {
      const r = await call('GET', `/automation/v4/flows/${flowId}/enrollments`);
      assert.equal(r.status, 200, r.text);
      en = r.json.results.find((e) => e.objectId === contactId);
      if (en && en.status !== 'ACTIVE') break;
      await sleep(50);
    }
    assert.ok(en, 'the enrollment is listed');
    assert.equal(en.status, 'COMPLETED', short(en));
    assert.equal(en.flowId, flowId);
    assert.equal(en.objectTypeId, '0-1');
    assert.ok(!Number.isNaN(Date.parse(en.completedAt)), short(en));

    const c = await hs.crm.contacts.basicApi.getById(contactId, ['jobtitle'], ['jobtitle']);
    assert.equal(c.properties.jobtitle, title);
    const hist = c.propertiesWithHistory.jobtitle;
    assert.ok(Array.isArray(hist) && hist.length >= 1, short(c));
    assert.equal(hist[0].value, title);
    assert.equal(hist[0].sourceType, 'AUTOMATION_PLATFORM', short(hist[0]));
    assert.equal(hist[0].sourceId, flowId, short(hist[0]));

    const x = await call('GET', `/automation/v4/flows/${flowId}/executions?objectId=${contactId}`);
    assert.equal(x.status, 200, x.text);
    assert.equal(x.json.results.length, 1, short(x.json));
    assert.equal(x.json.results[0].status, 'SUCCESS');
    assert.equal(x.json.results[0].actionId, '1');
  });

  it('enrolling an unknown flow → 404, bad objectIds → 400', async () => {
    const r = await call('POST', '/automation/v4/flows/987654321/enrollments', { objectIds: [contactId] });
    assert.equal(r.status, 404, r.text);
    const bad = await call('POST', `/automation/v4/flows/${flowId}/enrollments`, { objectIds: ['abc'] });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.category, 'VALIDATION_ERROR');
  });

  it('GET /automation/v4/usage → 200', async () => {
    const r = await call('GET', '/automation/v4/usage');
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.period, /^\d{4}-\d{2}$/);
    assert.equal(typeof r.json.customCodeExecutions, 'number');
    assert.equal(typeof r.json.unlimited, 'boolean');
  });

  it('DELETE the secret → 204, again → 404', async () => {
    const r = await call('DELETE', `/automation/v4/secrets/${secretName}`);
    assert.equal(r.status, 204, r.text);
    const again = await call('DELETE', `/automation/v4/secrets/${secretName}`);
    assert.equal(again.status, 404, again.text);
  });
});
