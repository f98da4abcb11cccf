'use strict';
// Batch API: read / create / update / upsert / archive with 200, 201, 207
// and 204 as documented (reference §2.4), and no half-written inputs.

const assert = require('node:assert/strict');
const { describe, it, client, email, uniq, rejects, ids, sorted, short, assertDate } = require('./support/spoke');

const hs = client();
const contacts = hs.crm.contacts;
const companies = hs.crm.companies;
const MISSING = '987654321095';

async function twoContacts() {
  const res = await contacts.batchApi.create({
    inputs: [
      { properties: { email: email('b'), firstname: 'one' }, associations: [] },
      { properties: { email: email('b'), firstname: 'two' }, associations: [] },
    ],
  });
  return res.results;
}

describe('batch read', { concurrency: 1 }, () => {
  it('all found → 200 COMPLETE with the requested properties', async () => {
    const [a, b] = await twoContacts();
    const info = await contacts.batchApi.readWithHttpInfo({
      inputs: [{ id: a.id }, { id: b.id }],
      properties: ['email', 'firstname'],
      propertiesWithHistory: [],
    });
    assert.equal(info.httpStatusCode, 200);
    const res = info.data;
    assert.equal(res.status, 'COMPLETE');
    assert.deepEqual(ids(res.results), sorted([a.id, b.id]));
    const ra = res.results.find((r) => r.id === a.id);
    assert.equal(ra.properties.email, a.properties.email);
    assert.equal(ra.properties.firstname, 'one');
    assertDate(res.startedAt, 'startedAt');
    assertDate(res.completedAt, 'completedAt');
    assert.ok(!res.numErrors, `numErrors on a 200: ${short(res.numErrors)}`);
  });

  it('one missing id → 207 with numErrors 1 and errors[0].context.ids', async () => {
    const [a] = await twoContacts();
    const info = await contacts.batchApi.readWithHttpInfo({ inputs: [{ id: a.id }, { id: MISSING }], properties: ['email'] }, false);
    assert.equal(info.httpStatusCode, 207);
    const res = info.data;
    assert.equal(res.numErrors, 1, short(res));
    assert.equal(res.errors.length, 1);
    assert.equal(res.errors[0].status, 'error');
    assert.equal(res.errors[0].category, 'OBJECT_NOT_FOUND');
    assert.deepEqual(res.errors[0].context.ids, [MISSING]);
    assert.deepEqual(ids(res.results), [a.id]);
  });

  it('the plain read() call resolves on a 207 too', async () => {
    const [a] = await twoContacts();
    const res = await contacts.batchApi.read({ inputs: [{ id: a.id }, { id: MISSING }], properties: ['email'] });
    assert.equal(res.numErrors, 1);
    assert.equal(res.results.length, 1);
  });

  it('idProperty=email reads by email', async () => {
    const [a, b] = await twoContacts();
    const res = await contacts.batchApi.read({
      idProperty: 'email',
      inputs: [{ id: a.properties.email }, { id: b.properties.email }],
      properties: ['email'],
    });
    assert.deepEqual(ids(res.results), sorted([a.id, b.id]));
  });
});

describe('batch create', { concurrency: 1 }, () => {
  it('→ 201 COMPLETE with every record', async () => {
    const e1 = email('bc');
    const e2 = email('bc');
    const info = await contacts.batchApi.createWithHttpInfo({
      inputs: [{ properties: { email: e1, lastname: 'x' } }, { properties: { email: e2, lastname: 'y' } }],
    });
    assert.equal(info.httpStatusCode, 201);
    assert.equal(info.data.status, 'COMPLETE');
    assert.equal(info.data.results.length, 2);
    const emails = info.data.results.map((r) => r.properties.email).sort();
    assert.deepEqual(emails, [e1, e2].sort());
    for (const r of info.data.results) {
      assert.match(String(r.id), /^\d+$/);
      assertDate(r.createdAt, 'createdAt');
    }
  });

  it('a bad input → 207; the good one is written, the bad one is not', async () => {
    const good = uniq('good');
    const bad = uniq('bad');
    const info = await companies.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { name: good, numberofemployees: '5' } },
        { properties: { name: bad, numberofemployees: 'abc' } },
      ],
    });
    assert.equal(info.httpStatusCode, 207, short(info.data));
    assert.equal(info.data.numErrors, 1);
    assert.equal(info.data.errors.length, 1);
    assert.equal(info.data.errors[0].status, 'error');
    assert.equal(info.data.results.length, 1);
    assert.equal(info.data.results[0].properties.name, good);

    const found = await companies.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'name', operator: 'IN', values: [good, bad] }] }],
      properties: ['name'],
      limit: 10,
    });
    assert.deepEqual(found.results.map((r) => r.properties.name), [good], 'only the good input is stored');
  });

  it('an unknown property in one input → 207 and that contact is not created', async () => {
    const okEmail = email('ok');
    const badEmail = email('bad');
    const info = await contacts.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { email: okEmail } },
        { properties: { email: badEmail, [uniq('no_such_prop_')]: 'x' } },
      ],
    });
    assert.equal(info.httpStatusCode, 207, short(info.data));
    assert.equal(info.data.numErrors, 1);
    await contacts.basicApi.getById(okEmail, ['email'], undefined, undefined, false, 'email');
    await rejects(contacts.basicApi.getById(badEmail, ['email'], undefined, undefined, false, 'email'), 404, 'bad input must not be written');
  });

  it('a duplicate email in a batch is rejected (409 or 207), never a 5xx', async () => {
    const [a] = await twoContacts();
    try {
      const info = await contacts.batchApi.createWithHttpInfo({ inputs: [{ properties: { email: a.properties.email } }] });
      assert.equal(info.httpStatusCode, 207, `duplicate in batch: ${short(info.data)}`);
      assert.equal(info.data.numErrors, 1);
      assert.equal(info.data.results.length, 0);
    } catch (e) {
      if (e.code === 'ERR_ASSERTION') throw e;
      assert.equal(e.code, 409, `duplicate in batch: ${short(e.body)}`);
      assert.match(e.body.message, new RegExp(`Existing ID: ${a.id}`));
    }
  });
});

describe('batch update', { concurrency: 1 }, () => {
  it('→ 200 COMPLETE with the updated records', async () => {
    const [a, b] = await twoContacts();
    const info = await contacts.batchApi.updateWithHttpInfo({
      inputs: [
        { id: a.id, properties: { firstname: 'uno' } },
        { id: b.id, properties: { firstname: 'dos' } },
      ],
    });
    assert.equal(info.httpStatusCode, 200);
    assert.equal(info.data.status, 'COMPLETE');
    const byId = Object.fromEntries(info.data.results.map((r) => [r.id, r.properties.firstname]));
    assert.deepEqual(byId, { [a.id]: 'uno', [b.id]: 'dos' });
    const got = await contacts.basicApi.getById(b.id, ['firstname']);
    assert.equal(got.properties.firstname, 'dos');
  });

  it('by idProperty=email', async () => {
    const [a] = await twoContacts();
    const res = await contacts.batchApi.update({ inputs: [{ id: a.properties.email, idProperty: 'email', properties: { lastname: 'mailed' } }] });
    assert.equal(res.results.length, 1);
    assert.equal(res.results[0].id, a.id);
    assert.equal(res.results[0].properties.lastname, 'mailed');
  });

  it('a missing id → 207 with one error; the other input is applied', async () => {
    const [a] = await twoContacts();
    const info = await contacts.batchApi.updateWithHttpInfo({
      inputs: [
        { id: a.id, properties: { firstname: 'applied' } },
        { id: MISSING, properties: { firstname: 'nobody' } },
      ],
    });
    assert.equal(info.httpStatusCode, 207, short(info.data));
    assert.equal(info.data.numErrors, 1);
    assert.deepEqual(ids(info.data.results), [a.id]);
    const got = await contacts.basicApi.getById(a.id, ['firstname']);
    assert.equal(got.properties.firstname, 'applied');
  });
});

describe('batch upsert', { concurrency: 1 }, () => {
  it('by idProperty=email creates new and updates existing, with a boolean _new', async () => {
    const [a] = await twoContacts();
    const fresh = email('up');
    const info = await contacts.batchApi.upsertWithHttpInfo({
      inputs: [
        { idProperty: 'email', id: a.properties.email, properties: { firstname: 'updated' } },
        { idProperty: 'email', id: fresh, properties: { firstname: 'created' } },
      ],
    });
    assert.equal(info.httpStatusCode, 200, short(info.data));
    const res = info.data;
    assert.equal(res.status, 'COMPLETE');
    assert.equal(res.results.length, 2);
    for (const r of res.results) assert.equal(typeof r._new, 'boolean', `_new must be boolean (wire name "new"): ${short(r)}`);
    const old = res.results.find((r) => r.id === a.id);
    assert.ok(old, `upsert must keep the existing id ${a.id}: ${short(res.results)}`);
    assert.equal(old._new, false);
    assert.equal(old.properties.firstname, 'updated');
    const created = res.results.find((r) => r.id !== a.id);
    assert.equal(created._new, true);
    assert.equal(created.properties.firstname, 'created');

    const got = await contacts.basicApi.getById(fresh, ['email', 'firstname'], undefined, undefined, false, 'email');
    assert.equal(got.id, created.id);
    assert.equal(got.properties.email, fresh, 'the upserted contact gets the idProperty value as its email');
  });

  it('repeating the same upsert is idempotent (_new false the second time)', async () => {
    const fresh = email('up2');
    const input = { inputs: [{ idProperty: 'email', id: fresh, properties: { lastname: 'same' } }] };
    const first = await contacts.batchApi.upsert(input);
    const second = await contacts.batchApi.upsert(input);
    assert.equal(first.results[0]._new, true);
    assert.equal(second.results[0]._new, false);
    assert.equal(second.results[0].id, first.results[0].id);
  });
});

describe('batch archive', { concurrency: 1 }, () => {
  it('→ 204 (resolves undefined); the records are gone', async () => {
    const [a, b] = await twoContacts();
    const info = await contacts.batchApi.archiveWithHttpInfo({ inputs: [{ id: a.id }, { id: b.id }] });
    assert.equal(info.httpStatusCode, 204);
    assert.equal(info.data, undefined);
    await rejects(contacts.basicApi.getById(a.id), 404, 'archived a');
    await rejects(contacts.basicApi.getById(b.id), 404, 'archived b');
    const res = await contacts.batchApi.read({ inputs: [{ id: a.id }, { id: b.id }] });
    assert.ok(res.numErrors >= 1, `missing ids must be reported: ${short(res)}`);
    const missing = res.errors.flatMap((e) => (e.context && e.context.ids) || []);
    assert.deepEqual(sorted(missing), sorted([a.id, b.id]));
    const arch = await contacts.batchApi.read({ inputs: [{ id: a.id }, { id: b.id }], properties: ['email'] }, true);
    assert.deepEqual(ids(arch.results), sorted([a.id, b.id]), 'batch read with archived=true finds them');
  });

  it('the plain archive() call resolves undefined', async () => {
    const [a] = await twoContacts();
    assert.equal(await contacts.batchApi.archive({ inputs: [{ id: a.id }] }), undefined);
  });
});
