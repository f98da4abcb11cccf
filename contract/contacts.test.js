'use strict';
// Contacts in depth through the typed client: basic API, idProperty, 404,
// 409, paging, getAll, archive and archived listings, property history.

const assert = require('node:assert/strict');
const { describe, it, before, client, email, uniq, rejects, ids, assertDate, short, raw } = require('./support/spoke');

const hs = client();
const contacts = hs.crm.contacts;

async function newContact(props = {}) {
  const input = { properties: { email: email(), firstname: 'ada', lastname: 'lovelace', ...props } };
  return contacts.basicApi.create(input);
}

// Properties a GET may always add beyond the ones asked for (HubSpot returns
// these with any property list; whether it does is UNCONFIRMED, so allow them).
const ALWAYS = new Set(['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate']);

describe('contacts basic API', { concurrency: 1 }, () => {
  it('create answers 201 with id, properties and ISO timestamps', async () => {
    const addr = email('create');
    const info = await contacts.basicApi.createWithHttpInfo({
      properties: { email: addr, firstname: 'grace', lastname: 'hopper', phone: '+1 555 0100' },
      associations: [],
    });
    assert.equal(info.httpStatusCode, 201);
    const c = info.data;
    assert.match(String(c.id), /^\d+$/, `id should be a numeric string, got ${short(c.id)}`);
    assert.equal(typeof c.id, 'string', 'id is a string on the wire');
    assert.equal(c.properties.email, addr);
    assert.equal(c.properties.firstname, 'grace');
    assertDate(c.createdAt, 'createdAt');
    assertDate(c.updatedAt, 'updatedAt');
    assert.equal(c.archived, false);
  });

  it('getById returns the default properties including hs_object_id', async () => {
    const c = await newContact({ jobtitle: 'engineer' });
    const got = await contacts.basicApi.getById(c.id);
    assert.equal(got.id, c.id);
    assert.equal(got.properties.email, c.properties.email);
    assert.equal(got.properties.firstname, 'ada');
    assert.equal(got.properties.lastname, 'lovelace');
    assert.equal(String(got.properties.hs_object_id), c.id, 'properties.hs_object_id equals the id');
    assert.ok(got.properties.createdate, 'createdate is a default property');
    assert.ok(got.properties.lastmodifieddate, 'lastmodifieddate is a default property');
    assertDate(got.createdAt, 'createdAt');
    assert.equal(got.archived, false);
  });

  it('getById with properties returns only those (plus hs_object_id/createdate/lastmodifieddate)', async () => {
    const c = await newContact({ jobtitle: 'pilot', city: 'paris' });
    const got = await contacts.basicApi.getById(c.id, ['email', 'jobtitle']);
    assert.equal(got.properties.email, c.properties.email);
    assert.equal(got.properties.jobtitle, 'pilot');
    for (const k of Object.keys(got.properties)) {
      assert.ok(
        k === 'email' || k === 'jobtitle' || ALWAYS.has(k),
        `unrequested property ${k} returned: ${short(got.properties)}`,
      );
    }
    // A comma-joined list (what raw HTTP users send) works too.
    const r = await raw('GET', `/crm/v3/objects/contacts/${c.id}?properties=email,city`);
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.properties.city, 'paris');
    assert.equal(r.json.properties.email, c.properties.email);
  });

  it('getById with associations lists the associated ids', async () => {
    const c = await newContact();
    const co = await hs.crm.companies.basicApi.create({ properties: { name: uniq('assoc') } });
    await hs.crm.associations.v4.basicApi.createDefault('contacts', c.id, 'companies', co.id);
    const got = await contacts.basicApi.getById(c.id, ['email'], undefined, ['companies']);
    assert.ok(got.associations && got.associations.companies, `associations.companies missing: ${short(got)}`);
    assert.deepEqual(got.associations.companies.results.map((r) => String(r.id)), [co.id]);
    const plain = await contacts.basicApi.getById(c.id, ['email']);
    assert.equal(plain.associations, undefined, 'associations appear only when asked for');
  });

  it('comma-joined properties and propertiesWithHistory are accepted on getPage', async () => {
    const c = await newContact({ city: 'lima' });
    const r = await raw('GET', `/crm/v3/objects/contacts/${c.id}?properties=email,city&propertiesWithHistory=city,firstname`);
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.properties.city, 'lima');
    assert.ok(r.json.propertiesWithHistory && r.json.propertiesWithHistory.city && r.json.propertiesWithHistory.firstname, r.text);
    const page = await raw('GET', '/crm/v3/objects/contacts?limit=1&properties=email,city&archived=false');
    assert.equal(page.res.status, 200, page.text);
    assert.equal(page.json.results.length, 1);
  });

  it('getById with idProperty=email finds the contact by email', async () => {
    const c = await newContact();
    const got = await contacts.basicApi.getById(c.properties.email, ['email', 'firstname'], undefined, undefined, false, 'email');
    assert.equal(got.id, c.id);
    assert.equal(got.properties.email, c.properties.email);
  });

  it('getById of a missing id is 404 OBJECT_NOT_FOUND', async () => {
    const body = await rejects(contacts.basicApi.getById('987654321098'), 404, 'getById missing');
    assert.equal(body.category, 'OBJECT_NOT_FOUND');
  });

  it('getById of a missing email with idProperty=email is 404', async () => {
    const body = await rejects(
      contacts.basicApi.getById(email('nobody'), undefined, undefined, undefined, false, 'email'),
      404,
      'getById missing email',
    );
    assert.equal(body.category, 'OBJECT_NOT_FOUND');
  });

  it('update (PATCH) answers 200 with the new values', async () => {
    const c = await newContact({ jobtitle: 'clerk' });
    const u = await contacts.basicApi.update(c.id, { properties: { firstname: 'augusta', jobtitle: 'analyst' } });
    assert.equal(u.id, c.id);
    assert.equal(u.properties.firstname, 'augusta');
    assert.equal(u.properties.jobtitle, 'analyst');
    assertDate(u.updatedAt, 'updatedAt');
    assert.ok(u.updatedAt.getTime() >= c.updatedAt.getTime(), 'updatedAt does not go backwards');
    const got = await contacts.basicApi.getById(c.id, ['firstname', 'jobtitle', 'lastname']);
    assert.equal(got.properties.firstname, 'augusta');
    assert.equal(got.properties.jobtitle, 'analyst');
    assert.equal(got.properties.lastname, 'lovelace', 'PATCH leaves other properties alone');
  });

  it('update with idProperty=email', async () => {
    const c = await newContact();
    const u = await contacts.basicApi.update(c.properties.email, { properties: { lastname: 'byron' } }, 'email');
    assert.equal(u.id, c.id);
    assert.equal(u.properties.lastname, 'byron');
  });

  it('update with an empty string clears a value', async () => {
    const c = await newContact({ jobtitle: 'temp' });
    await contacts.basicApi.update(c.id, { properties: { jobtitle: '' } });
    const got = await contacts.basicApi.getById(c.id, ['jobtitle']);
    const v = got.properties.jobtitle;
    assert.ok(v === '' || v === null || v === undefined, `jobtitle should be cleared, got ${short(v)}`);
  });

  it('update of a missing id is 404', async () => {
    const body = await rejects(contacts.basicApi.update('987654321097', { properties: { firstname: 'x' } }), 404, 'update missing');
    assert.equal(body.category, 'OBJECT_NOT_FOUND');
  });

  it('archive resolves undefined (204); the contact is then 404 and listed with archived=true', async () => {
    const c = await newContact();
    const r = await contacts.basicApi.archive(c.id);
    assert.equal(r, undefined);
    const body = await rejects(contacts.basicApi.getById(c.id), 404, 'getById archived');
    assert.equal(body.category, 'OBJECT_NOT_FOUND');

    const archived = await contacts.getAll(100, undefined, ['email'], undefined, undefined, true);
    const hit = archived.find((x) => x.id === c.id);
    assert.ok(hit, `archived=true listing should contain ${c.id}`);
    assert.equal(hit.archived, true);
    for (const x of archived) assert.equal(x.archived, true, `archived=true listing returned a live record ${x.id}`);

    const live = await contacts.getAll(100, undefined, ['email']);
    assert.ok(!live.some((x) => x.id === c.id), 'the default listing must not contain an archived contact');

    // getById with archived=true still finds it.
    const got = await contacts.basicApi.getById(c.id, ['email'], undefined, undefined, true);
    assert.equal(got.id, c.id);
    assert.equal(got.archived, true);
    if (got.archivedAt !== undefined) assertDate(got.archivedAt, 'archivedAt');
  });

  it('archive of a missing id does not fail with a 5xx', async () => {
    try {
      const r = await contacts.basicApi.archive('987654321096');
      assert.equal(r, undefined);
    } catch (e) {
      assert.ok(e.code === 404, `archive of a missing id: expected 204 or 404, got ${e.code} ${short(e.body)}`);
    }
  });
});

describe('contacts: duplicate email is 409', { concurrency: 1 }, () => {
  it('same email → 409 CONFLICT "Contact already exists. Existing ID: N"', async () => {
    const c = await newContact();
    const body = await rejects(contacts.basicApi.create({ properties: { email: c.properties.email } }), 409, 'duplicate email');
    assert.equal(body.category, 'CONFLICT');
    assert.equal(body.message, `Contact already exists. Existing ID: ${c.id}`);
    assert.equal(body.message.match(/Existing ID: (\d+)/)[1], c.id);
  });

  it('same email in another case → 409 with the same Existing ID', async () => {
    const c = await newContact();
    const upper = c.properties.email.toUpperCase();
    const body = await rejects(contacts.basicApi.create({ properties: { email: upper } }), 409, 'duplicate email (case)');
    assert.match(body.message, new RegExp(`Existing ID: ${c.id}$`));
  });

  it('updating a contact to its own email in another case is not a conflict', async () => {
    const c = await newContact();
    const u = await contacts.basicApi.update(c.id, { properties: { email: c.properties.email.toUpperCase(), firstname: 'same' } });
    assert.equal(u.id, c.id);
  });

  it('the same email twice in one batch never creates two contacts', async () => {
    const addr = email('twice');
    const input = { inputs: [{ properties: { email: addr } }, { properties: { email: addr.toUpperCase() } }] };
    try {
      const info = await contacts.batchApi.createWithHttpInfo(input);
      assert.equal(info.httpStatusCode, 207, `duplicate inside a batch: ${short(info.data)}`);
      assert.equal(info.data.numErrors, 1);
      assert.equal(info.data.results.length, 1);
    } catch (e) {
      if (e.code === 'ERR_ASSERTION') throw e;
      assert.ok(e.code === 409 || e.code === 400, `duplicate inside a batch: ${e.code} ${short(e.body)}`);
    }
    const found = await contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: addr }] }] });
    assert.ok(found.total <= 1, `at most one contact with ${addr}, found ${found.total}`);

    const up = email('twiceup');
    const res = await contacts.batchApi
      .upsertWithHttpInfo({ inputs: [{ idProperty: 'email', id: up, properties: {} }, { idProperty: 'email', id: up, properties: { firstname: 'x' } }] })
      .catch((e) => e);
    if (res instanceof Error && res.code === 'ERR_ASSERTION') throw res;
    if (res instanceof Error) assert.ok(res.code >= 400 && res.code < 500, `upsert with a repeated id: ${res.code} ${short(res.body)}`);
    const found2 = await contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: up }] }] });
    assert.ok(found2.total <= 1, `at most one contact with ${up}, found ${found2.total}`);
  });

  it('updating a contact to another contact’s email → 409', async () => {
    const a = await newContact();
    const b = await newContact();
    const body = await rejects(contacts.basicApi.update(b.id, { properties: { email: a.properties.email } }), 409, 'update to taken email');
    assert.equal(body.category, 'CONFLICT');
  });
});

describe('contacts paging', { concurrency: 1 }, () => {
  const mine = [];
  const tag = uniq('page');

  before(async () => {
    // 105 contacts: more than one page of getAll's limit=100.
    for (const n of [100, 5]) {
      const inputs = [];
      for (let i = 0; i < n; i++) inputs.push({ properties: { email: email('pg'), company: tag, firstname: `p${mine.length + i}` } });
      const res = await contacts.batchApi.create({ inputs });
      assert.equal(res.results.length, n, 'batch create of paging fixtures');
      mine.push(...res.results.map((r) => r.id));
    }
  });

  it('getPage honours limit and returns paging.next.after until the last page', async () => {
    const first = await contacts.basicApi.getPage(2, undefined, ['email']);
    assert.equal(first.results.length, 2);
    assert.ok(first.paging && first.paging.next && first.paging.next.after, `paging.next.after expected: ${short(first.paging)}`);
    assert.equal(typeof first.paging.next.after, 'string', 'after is a string cursor');
    const second = await contacts.basicApi.getPage(2, first.paging.next.after, ['email']);
    assert.equal(second.results.length, 2);
    const overlap = second.results.filter((r) => first.results.some((f) => f.id === r.id));
    assert.deepEqual(overlap, [], 'pages must not overlap');
  });

  it('getPage with limit=100 returns 100 records', async () => {
    const page = await contacts.basicApi.getPage(100, undefined, ['email']);
    assert.equal(page.results.length, 100);
    assert.ok(page.paging && page.paging.next && page.paging.next.after, 'more pages remain');
  });

  it('getPage default limit is 10', async () => {
    const page = await contacts.basicApi.getPage();
    assert.equal(page.results.length, 10);
  });

  it('getAll pages to the end (>100 records) without duplicates or losses', async () => {
    const all = await contacts.getAll(undefined, undefined, ['email', 'company']);
    assert.ok(all.length >= 105, `getAll returned ${all.length} records`);
    const seen = new Set();
    for (const r of all) {
      assert.ok(!seen.has(r.id), `getAll returned ${r.id} twice`);
      seen.add(r.id);
    }
    for (const id of mine) assert.ok(seen.has(id), `getAll lost contact ${id}`);
    const tagged = all.filter((r) => r.properties.company === tag);
    assert.deepEqual(ids(tagged), [...mine].sort());
  });

  it('getAll with a small page size also reaches the end', async () => {
    // 105 of ours plus whatever else exists; limit 50 means >= 3 pages.
    const all = await contacts.getAll(50, undefined, ['company']);
    const tagged = all.filter((r) => r.properties.company === tag);
    assert.equal(tagged.length, 105);
  });
});

describe('contacts property history', { concurrency: 1 }, () => {
  it('propertiesWithHistory lists old and new values with sourceType API', async () => {
    const c = await newContact({ firstname: 'first' });
    await contacts.basicApi.update(c.id, { properties: { firstname: 'second' } });
    await contacts.basicApi.update(c.id, { properties: { firstname: 'third' } });
    const got = await contacts.basicApi.getById(c.id, ['firstname'], ['firstname']);
    assert.equal(got.properties.firstname, 'third');
    assert.ok(got.propertiesWithHistory, `propertiesWithHistory missing: ${short(got)}`);
    const hist = got.propertiesWithHistory.firstname;
    assert.ok(Array.isArray(hist), `propertiesWithHistory.firstname must be an array: ${short(got.propertiesWithHistory)}`);
    assert.deepEqual(hist.map((h) => h.value).sort(), ['first', 'second', 'third']);
    for (const h of hist) {
      assert.equal(h.sourceType, 'API', `sourceType of ${short(h)}`);
      assertDate(h.timestamp, 'history timestamp');
      // Issue 2 item 6: API writes record the token's id as sourceId.
      assert.ok(h.sourceId !== undefined && h.sourceId !== null && String(h.sourceId) !== '', `sourceId of ${short(h)}`);
    }
  });

  it('batch update and batch upsert write history too', async () => {
    const c = await newContact({ jobtitle: 'v1' });
    await contacts.batchApi.update({ inputs: [{ id: c.id, properties: { jobtitle: 'v2' } }] });
    await contacts.batchApi.upsert({ inputs: [{ idProperty: 'email', id: c.properties.email, properties: { jobtitle: 'v3' } }] });
    const got = await contacts.basicApi.getById(c.id, ['jobtitle'], ['jobtitle']);
    const hist = got.propertiesWithHistory && got.propertiesWithHistory.jobtitle;
    assert.ok(Array.isArray(hist), short(got));
    assert.deepEqual(hist.map((h) => h.value).sort(), ['v1', 'v2', 'v3']);
    for (const h of hist) assert.equal(h.sourceType, 'API');
  });

  it('propertiesWithHistory appears only when asked for', async () => {
    const c = await newContact();
    const got = await contacts.basicApi.getById(c.id, ['firstname']);
    assert.ok(
      got.propertiesWithHistory === undefined || Object.keys(got.propertiesWithHistory).length === 0,
      `unrequested propertiesWithHistory: ${short(got.propertiesWithHistory)}`,
    );
  });

  it('getPage and batch read also return propertiesWithHistory', async () => {
    const c = await newContact({ lastname: 'one' });
    await contacts.basicApi.update(c.id, { properties: { lastname: 'two' } });
    const res = await contacts.batchApi.read({ inputs: [{ id: c.id }], properties: ['lastname'], propertiesWithHistory: ['lastname'] });
    const r = res.results.find((x) => x.id === c.id);
    assert.ok(r && r.propertiesWithHistory && r.propertiesWithHistory.lastname, `batch read history: ${short(r)}`);
    assert.deepEqual(r.propertiesWithHistory.lastname.map((h) => h.value).sort(), ['one', 'two']);

    const page = await contacts.basicApi.getPage(1, undefined, ['lastname'], ['lastname']);
    assert.equal(page.results.length, 1);
    assert.ok(page.results[0].propertiesWithHistory, `getPage history: ${short(page.results[0])}`);
  });
});
