'use strict';
// Search (reference §2.5): every operator, OR of filter groups, both sort
// forms, query, limit, after as number and string, total, and numeric (not
// lexical) comparison of number and date properties.
//
// Every search is scoped to records made by this run (a run-unique value in
// an EQ filter), so the suite may share a server with other runs.

const assert = require('node:assert/strict');
const { describe, it, before, client, uniq, RUN, short, rejects } = require('./support/spoke');

const hs = client();

// --- contacts fixture -------------------------------------------------------
// company = scope tag; lowercase values so IN/NOT_IN are case-agnostic.
const ctag = uniq('srch');
const qtoken = `zephyr${RUN}`;
const people = {
  alice: { firstname: 'alice', lastname: qtoken, jobtitle: 'engineer', phone: '+1 555 0101', mail: 'alpha' },
  bob: { firstname: 'bob', lastname: 'brown', jobtitle: 'manager', mail: 'beta' },
  carol: { firstname: 'carol', lastname: 'clark', jobtitle: 'senior engineer', mail: 'alpha' },
  dave: { firstname: 'dave', lastname: 'davis', jobtitle: 'designer', mail: 'gamma' },
  erin: { firstname: 'erin', lastname: 'evans', jobtitle: 'manager', mail: 'beta' },
};
const cid = {}; // name -> id
const alphaDomain = `alpha${RUN}.example`;

// --- companies fixture: numbers -------------------------------------------
const dtag = `${uniq('co')}.example`; // shared domain = scope
const firms = {
  nine: { numberofemployees: '9', annualrevenue: '1500.5' },
  ten: { numberofemployees: '10', annualrevenue: '200' },
  hundred: { numberofemployees: '100', annualrevenue: '30000' },
};
const fid = {};

// --- deals fixture: datetimes ----------------------------------------------
const ms = (iso) => Date.parse(iso);
const deals = {
  [uniq('dealjan')]: '2025-01-15T12:00:00.000Z',
  [uniq('dealjun')]: '2025-06-15T12:00:00.000Z',
  [uniq('dealjan26')]: '2026-01-15T12:00:00.000Z',
};
const dealNames = Object.keys(deals);
let runStart;

function cscope() {
  return { propertyName: 'company', operator: 'EQ', value: ctag };
}

async function contactSearch(filters, extra = {}) {
  return hs.crm.contacts.searchApi.doSearch({
    filterGroups: [{ filters: [cscope(), ...filters] }],
    properties: ['firstname', 'email'],
    limit: 100,
    ...extra,
  });
}
function names(res) {
  const byId = Object.fromEntries(Object.entries(cid).map(([k, v]) => [v, k]));
  return res.results.map((r) => byId[r.id] || `?${r.id}`).sort();
}
async function expectContacts(filters, want, what) {
  const res = await contactSearch(filters);
  assert.deepEqual(names(res), [...want].sort(), `${what}: ${JSON.stringify(filters)}`);
  assert.equal(res.total, want.length, `${what}: total`);
  return res;
}

async function companySearch(filters, extra = {}) {
  return hs.crm.companies.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'domain', operator: 'EQ', value: dtag }, ...filters] }],
    properties: ['name', 'numberofemployees', 'annualrevenue'],
    limit: 100,
    ...extra,
  });
}
function firmNames(res) {
  const byId = Object.fromEntries(Object.entries(fid).map(([k, v]) => [v, k]));
  return res.results.map((r) => byId[r.id] || `?${r.id}`);
}
async function expectFirms(filters, want, what) {
  const res = await companySearch(filters);
  assert.deepEqual(firmNames(res).sort(), [...want].sort(), `${what}: ${JSON.stringify(filters)}`);
  assert.equal(res.total, want.length, `${what}: total`);
}

async function dealSearch(filters, extra = {}) {
  return hs.crm.deals.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'dealname', operator: 'IN', values: dealNames }, ...filters] }],
    properties: ['dealname', 'closedate'],
    limit: 100,
    ...extra,
  });
}
async function expectDeals(filters, wantIdx, what) {
  const res = await dealSearch(filters);
  const got = res.results.map((r) => r.properties.dealname).sort();
  assert.deepEqual(got, wantIdx.map((i) => dealNames[i]).sort(), `${what}: ${JSON.stringify(filters)}`);
}

before(async () => {
  runStart = Date.now();
  const inputs = Object.entries(people).map(([, p]) => {
    const props = {
      email: `${p.firstname}.${RUN}@${p.mail}${RUN}.example`,
      firstname: p.firstname,
      lastname: p.lastname,
      jobtitle: p.jobtitle,
      company: ctag,
    };
    if (p.phone) props.phone = p.phone;
    return { properties: props };
  });
  const res = await hs.crm.contacts.batchApi.create({ inputs });
  for (const r of res.results) cid[r.properties.firstname] = r.id;
  assert.equal(Object.keys(cid).length, 5, `contacts fixture: ${short(res)}`);

  for (const [name, p] of Object.entries(firms)) {
    const c = await hs.crm.companies.basicApi.create({ properties: { name: `${name}${RUN}`, domain: dtag, ...p } });
    fid[name] = c.id;
  }
  for (const [name, when] of Object.entries(deals)) {
    await hs.crm.deals.basicApi.create({ properties: { dealname: name, closedate: when, amount: '100' } });
  }
});

describe('search operators (contacts, strings)', { concurrency: 1 }, () => {
  it('EQ', async () => {
    const res = await expectContacts([{ propertyName: 'firstname', operator: 'EQ', value: 'bob' }], ['bob'], 'EQ');
    assert.equal(res.results[0].properties.firstname, 'bob');
  });
  it('EQ on email', async () => {
    await expectContacts([{ propertyName: 'email', operator: 'EQ', value: `carol.${RUN}@alpha${RUN}.example` }], ['carol'], 'EQ email');
  });
  it('NEQ', async () => {
    await expectContacts([{ propertyName: 'jobtitle', operator: 'NEQ', value: 'manager' }], ['alice', 'carol', 'dave'], 'NEQ');
  });
  it('IN', async () => {
    await expectContacts([{ propertyName: 'firstname', operator: 'IN', values: ['alice', 'carol', 'nobody'] }], ['alice', 'carol'], 'IN');
  });
  it('NOT_IN', async () => {
    await expectContacts([{ propertyName: 'firstname', operator: 'NOT_IN', values: ['alice', 'carol'] }], ['bob', 'dave', 'erin'], 'NOT_IN');
  });
  it('HAS_PROPERTY', async () => {
    await expectContacts([{ propertyName: 'phone', operator: 'HAS_PROPERTY' }], ['alice'], 'HAS_PROPERTY');
  });
  it('NOT_HAS_PROPERTY', async () => {
    await expectContacts([{ propertyName: 'phone', operator: 'NOT_HAS_PROPERTY' }], ['bob', 'carol', 'dave', 'erin'], 'NOT_HAS_PROPERTY');
  });
  it('CONTAINS_TOKEN', async () => {
    await expectContacts([{ propertyName: 'jobtitle', operator: 'CONTAINS_TOKEN', value: 'engineer' }], ['alice', 'carol'], 'CONTAINS_TOKEN');
  });
  it('CONTAINS_TOKEN with a * wildcard (docs: "*@hubspot.com")', async () => {
    await expectContacts([{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: `*@${alphaDomain}` }], ['alice', 'carol'], 'CONTAINS_TOKEN *');
  });
  it('NOT_CONTAINS_TOKEN', async () => {
    await expectContacts([{ propertyName: 'jobtitle', operator: 'NOT_CONTAINS_TOKEN', value: 'engineer' }], ['bob', 'dave', 'erin'], 'NOT_CONTAINS_TOKEN');
  });
  it('LT / LTE / GT / GTE / BETWEEN on hs_object_id compare numerically', async () => {
    const all = Object.values(cid).map(Number).sort((a, b) => a - b);
    const mid = String(all[2]);
    const byId = Object.fromEntries(Object.entries(cid).map(([k, v]) => [Number(v), k]));
    const pick = (pred) => all.filter(pred).map((n) => byId[n]);
    await expectContacts([{ propertyName: 'hs_object_id', operator: 'LT', value: mid }], pick((n) => n < all[2]), 'LT id');
    await expectContacts([{ propertyName: 'hs_object_id', operator: 'LTE', value: mid }], pick((n) => n <= all[2]), 'LTE id');
    await expectContacts([{ propertyName: 'hs_object_id', operator: 'GT', value: mid }], pick((n) => n > all[2]), 'GT id');
    await expectContacts([{ propertyName: 'hs_object_id', operator: 'GTE', value: mid }], pick((n) => n >= all[2]), 'GTE id');
    await expectContacts(
      [{ propertyName: 'hs_object_id', operator: 'BETWEEN', value: String(all[1]), highValue: String(all[3]) }],
      pick((n) => n >= all[1] && n <= all[3]),
      'BETWEEN id',
    );
    await expectContacts([{ propertyName: 'hs_object_id', operator: 'IN', values: [String(all[0]), String(all[4])] }], pick((n) => n === all[0] || n === all[4]), 'IN id');
  });
  it('createdate compares with epoch-ms values', async () => {
    const everyone = Object.keys(cid);
    await expectContacts([{ propertyName: 'createdate', operator: 'GTE', value: String(runStart - 60000) }], everyone, 'createdate GTE');
    await expectContacts([{ propertyName: 'createdate', operator: 'LT', value: String(runStart - 60000) }], [], 'createdate LT');
    await expectContacts(
      [{ propertyName: 'createdate', operator: 'BETWEEN', value: String(runStart - 60000), highValue: String(Date.now() + 60000) }],
      everyone,
      'createdate BETWEEN',
    );
  });
});

describe('search: groups, sorts, query, paging (contacts)', { concurrency: 1 }, () => {
  it('filterGroups are ORed, filters inside a group ANDed', async () => {
    const res = await hs.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [cscope(), { propertyName: 'firstname', operator: 'EQ', value: 'alice' }] },
        { filters: [cscope(), { propertyName: 'jobtitle', operator: 'EQ', value: 'manager' }, { propertyName: 'firstname', operator: 'EQ', value: 'erin' }] },
      ],
      limit: 100,
    });
    assert.deepEqual(names(res), ['alice', 'erin']);
    assert.equal(res.total, 2);
  });

  it('sorts in object form', async () => {
    const asc = await contactSearch([], { sorts: [{ propertyName: 'firstname', direction: 'ASCENDING' }] });
    assert.deepEqual(asc.results.map((r) => r.properties.firstname), ['alice', 'bob', 'carol', 'dave', 'erin']);
    const desc = await contactSearch([], { sorts: [{ propertyName: 'firstname', direction: 'DESCENDING' }] });
    assert.deepEqual(desc.results.map((r) => r.properties.firstname), ['erin', 'dave', 'carol', 'bob', 'alice']);
  });

  it('sorts in string form ("firstname", "-firstname", "-createdate")', async () => {
    const asc = await contactSearch([], { sorts: ['firstname'] });
    assert.deepEqual(asc.results.map((r) => r.properties.firstname), ['alice', 'bob', 'carol', 'dave', 'erin']);
    const desc = await contactSearch([], { sorts: ['-firstname'] });
    assert.deepEqual(desc.results.map((r) => r.properties.firstname), ['erin', 'dave', 'carol', 'bob', 'alice']);
    const byDate = await contactSearch([], { sorts: ['-createdate'], properties: ['createdate'] });
    const stamps = byDate.results.map((r) => r.properties.createdate);
    const toMs = (v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v));
    for (let i = 1; i < stamps.length; i++) assert.ok(toMs(stamps[i - 1]) >= toMs(stamps[i]), `-createdate order: ${stamps}`);
  });

  it('sorts as JSON strings (the client types sorts as strings: JSON.stringify({propertyName, direction}))', async () => {
    const desc = await contactSearch([], { sorts: [JSON.stringify({ propertyName: 'firstname', direction: 'DESCENDING' })] });
    assert.deepEqual(desc.results.map((r) => r.properties.firstname), ['erin', 'dave', 'carol', 'bob', 'alice']);
    const asc = await contactSearch([], { sorts: [JSON.stringify({ propertyName: 'firstname', direction: 'ASCENDING' })] });
    assert.deepEqual(asc.results.map((r) => r.properties.firstname), ['alice', 'bob', 'carol', 'dave', 'erin']);
  });

  it('query matches a token in the default searchable properties', async () => {
    const res = await hs.crm.contacts.searchApi.doSearch({ query: qtoken, limit: 10 });
    assert.deepEqual(names(res), ['alice']);
    assert.equal(res.total, 1);
  });

  it('query combines with filterGroups', async () => {
    const res = await contactSearch([], { query: qtoken });
    assert.deepEqual(names(res), ['alice']);
    const none = await contactSearch([{ propertyName: 'firstname', operator: 'EQ', value: 'bob' }], { query: qtoken });
    assert.equal(none.total, 0);
    assert.deepEqual(none.results, []);
  });

  it('limit, total and paging with after as number 0 and as string', async () => {
    const base = { sorts: [{ propertyName: 'firstname', direction: 'ASCENDING' }] };
    const p1 = await contactSearch([], { ...base, limit: 2, after: 0 });
    assert.equal(p1.total, 5);
    assert.equal(p1.results.length, 2);
    assert.deepEqual(p1.results.map((r) => r.properties.firstname), ['alice', 'bob']);
    assert.ok(p1.paging && p1.paging.next && p1.paging.next.after !== undefined, `paging.next: ${short(p1.paging)}`);
    const same = await contactSearch([], { ...base, limit: 2, after: '0' });
    assert.deepEqual(same.results.map((r) => r.id), p1.results.map((r) => r.id), 'after "0" equals after 0');

    const seen = [...p1.results];
    let after = p1.paging.next.after;
    let pages = 1;
    while (after !== undefined && after !== null && after !== '') {
      const p = await contactSearch([], { ...base, limit: 2, after: String(after) });
      assert.equal(p.total, 5);
      seen.push(...p.results);
      after = p.paging && p.paging.next ? p.paging.next.after : undefined;
      pages += 1;
      assert.ok(pages <= 5, 'paging must end');
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((r) => r.properties.firstname), ['alice', 'bob', 'carol', 'dave', 'erin']);

    const last = await contactSearch([], { ...base, limit: 2, after: 4 });
    assert.deepEqual(last.results.map((r) => r.properties.firstname), ['erin'], 'after as a number');
    assert.ok(!(last.paging && last.paging.next), `last page has no paging.next: ${short(last.paging)}`);
  });

  it('limit 200 is accepted', async () => {
    const res = await contactSearch([], { limit: 200 });
    assert.equal(res.results.length, 5);
  });

  it('properties selects the returned properties; defaults without it', async () => {
    const sel = await contactSearch([{ propertyName: 'firstname', operator: 'EQ', value: 'dave' }], { properties: ['jobtitle'] });
    assert.equal(sel.results[0].properties.jobtitle, 'designer');
    assert.equal(sel.results[0].properties.firstname, undefined, 'a properties list overrides the defaults');

    const def = await hs.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [cscope(), { propertyName: 'firstname', operator: 'EQ', value: 'dave' }] }],
    });
    const p = def.results[0].properties;
    assert.equal(p.firstname, 'dave');
    assert.equal(p.lastname, 'davis');
    assert.equal(p.email, `dave.${RUN}@gamma${RUN}.example`);
    assert.equal(String(p.hs_object_id), cid.dave);
    assert.ok(p.createdate && p.lastmodifieddate, `default properties: ${short(p)}`);
    assert.equal(p.jobtitle, undefined, 'jobtitle is not a default search property');
  });

  it('an empty search request answers 200 with total and results', async () => {
    const res = await hs.crm.contacts.searchApi.doSearch({});
    assert.equal(typeof res.total, 'number');
    assert.ok(res.total >= 5);
    assert.ok(Array.isArray(res.results) && res.results.length > 0);
  });
});

describe('search: numbers compare numerically (companies)', { concurrency: 1 }, () => {
  const emp = (operator, value, extra = {}) => ({ propertyName: 'numberofemployees', operator, value, ...extra });
  it('EQ / NEQ', async () => {
    await expectFirms([emp('EQ', '10')], ['ten'], 'EQ 10');
    await expectFirms([emp('NEQ', '10')], ['nine', 'hundred'], 'NEQ 10');
  });
  it('LT / LTE / GT / GTE (9 < 10 < 100)', async () => {
    await expectFirms([emp('LT', '10')], ['nine'], 'LT 10');
    await expectFirms([emp('LTE', '10')], ['nine', 'ten'], 'LTE 10');
    await expectFirms([emp('GT', '10')], ['hundred'], 'GT 10');
    await expectFirms([emp('GTE', '10')], ['ten', 'hundred'], 'GTE 10');
    await expectFirms([emp('GT', '9')], ['ten', 'hundred'], 'GT 9');
    await expectFirms([emp('LT', '100')], ['nine', 'ten'], 'LT 100');
  });
  it('BETWEEN is inclusive', async () => {
    await expectFirms([emp('BETWEEN', '9', { highValue: '10' })], ['nine', 'ten'], 'BETWEEN 9..10');
    await expectFirms([emp('BETWEEN', '10', { highValue: '100' })], ['ten', 'hundred'], 'BETWEEN 10..100');
    await expectFirms([emp('BETWEEN', '11', { highValue: '99' })], [], 'BETWEEN 11..99');
  });
  it('IN / NOT_IN on a number property', async () => {
    await expectFirms([{ propertyName: 'numberofemployees', operator: 'IN', values: ['9', '100'] }], ['nine', 'hundred'], 'IN');
    await expectFirms([{ propertyName: 'numberofemployees', operator: 'NOT_IN', values: ['9', '100'] }], ['ten'], 'NOT_IN');
  });
  it('decimals: annualrevenue GT 1000', async () => {
    await expectFirms([{ propertyName: 'annualrevenue', operator: 'GT', value: '1000' }], ['nine', 'hundred'], 'GT 1000');
    await expectFirms([{ propertyName: 'annualrevenue', operator: 'LTE', value: '1500.5' }], ['nine', 'ten'], 'LTE 1500.5');
  });
  it('HAS_PROPERTY / NOT_HAS_PROPERTY on a number property', async () => {
    await expectFirms([{ propertyName: 'numberofemployees', operator: 'HAS_PROPERTY' }], ['nine', 'ten', 'hundred'], 'HAS_PROPERTY');
    await expectFirms([{ propertyName: 'numberofemployees', operator: 'NOT_HAS_PROPERTY' }], [], 'NOT_HAS_PROPERTY');
  });
  it('sorting a number property is numeric, in both sort forms', async () => {
    const asc = await companySearch([], { sorts: [{ propertyName: 'numberofemployees', direction: 'ASCENDING' }] });
    assert.deepEqual(firmNames(asc), ['nine', 'ten', 'hundred']);
    const desc = await companySearch([], { sorts: ['-numberofemployees'] });
    assert.deepEqual(firmNames(desc), ['hundred', 'ten', 'nine']);
    const asc2 = await companySearch([], { sorts: ['numberofemployees'] });
    assert.deepEqual(firmNames(asc2), ['nine', 'ten', 'hundred']);
  });
});

describe('search: datetimes compare as instants (deals, epoch ms)', { concurrency: 1 }, () => {
  const cd = (operator, value, extra = {}) => ({ propertyName: 'closedate', operator, value: String(value), ...extra });
  it('LT / LTE / GT / GTE', async () => {
    await expectDeals([cd('LT', ms('2025-07-01T00:00:00Z'))], [0, 1], 'LT 2025-07-01');
    await expectDeals([cd('GT', ms('2025-07-01T00:00:00Z'))], [2], 'GT 2025-07-01');
    await expectDeals([cd('GTE', ms('2025-06-15T12:00:00.000Z'))], [1, 2], 'GTE exact instant');
    await expectDeals([cd('LTE', ms('2025-06-15T12:00:00.000Z'))], [0, 1], 'LTE exact instant');
    // 1e12 ms (2001) vs 1.7e12 ms: a lexical comparison of "999999999999" would get this wrong.
    await expectDeals([cd('GT', '999999999999')], [0, 1, 2], 'GT 12-digit epoch');
  });
  it('EQ on the exact instant', async () => {
    await expectDeals([cd('EQ', ms('2026-01-15T12:00:00.000Z'))], [2], 'EQ');
  });
  it('BETWEEN', async () => {
    await expectDeals([cd('BETWEEN', ms('2025-01-01T00:00:00Z'), { highValue: String(ms('2025-12-31T23:59:59Z')) })], [0, 1], 'BETWEEN 2025');
  });
  it('sort by closedate', async () => {
    const res = await dealSearch([], { sorts: [{ propertyName: 'closedate', direction: 'DESCENDING' }] });
    assert.deepEqual(res.results.map((r) => r.properties.dealname), [dealNames[2], dealNames[1], dealNames[0]]);
  });
  it('sort by amount is numeric', async () => {
    const a = await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('amt'), amount: '9' } });
    const b = await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('amt'), amount: '100' } });
    const c = await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('amt'), amount: '10.5' } });
    const res = await hs.crm.deals.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'IN', values: [a.id, b.id, c.id] }] }],
      sorts: ['amount'],
      properties: ['amount'],
    });
    assert.deepEqual(res.results.map((r) => r.id), [a.id, c.id, b.id], `amount order: ${short(res.results.map((r) => r.properties.amount))}`);
  });
});

describe('search: HubSpot\'s limits (5 filterGroups, 6 filters a group, 18 in all, 10,000 results)', { concurrency: 1 }, () => {
  const f = () => cscope();
  const groups = (...sizes) => sizes.map((n) => ({ filters: Array.from({ length: n }, f) }));
  it('at the limits the search runs', async () => {
    const res = await hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(6, 6, 6), limit: 1 });
    assert.equal(res.total, Object.keys(people).length);
    const five = await hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(1, 1, 1, 1, 1), limit: 1 });
    assert.equal(five.total, Object.keys(people).length);
  });
  it('six filterGroups → 400 VALIDATION_ERROR', async () => {
    const body = await rejects(hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(1, 1, 1, 1, 1, 1) }), 400, '6 groups');
    assert.equal(body.category, 'VALIDATION_ERROR');
  });
  it('seven filters in a group → 400', async () => {
    await rejects(hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(7) }), 400, '7 filters in a group');
  });
  it('nineteen filters in all → 400', async () => {
    await rejects(hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(6, 6, 6, 1) }), 400, '19 filters');
  });
  it('after 10000 → 400 (no paging past the 10,000th result)', async () => {
    const body = await rejects(hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(1), after: '10000' }), 400, 'after 10000');
    assert.equal(body.category, 'VALIDATION_ERROR');
    const ok = await hs.crm.contacts.searchApi.doSearch({ filterGroups: groups(1), after: '9999' });
    assert.equal(ok.results.length, 0);
  });
});

describe('search: bad requests are 400, not 5xx', { concurrency: 1 }, () => {
  it('unknown operator', async () => {
    await rejects(
      hs.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] }),
      400,
      'unknown operator',
    );
  });
  it('unknown property in a filter names it', async () => {
    const prop = uniq('no_such_prop_');
    const body = await rejects(
      hs.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: prop, operator: 'EQ', value: 'x' }] }] }),
      400,
      'unknown filter property',
    );
    assert.ok(body.message.includes(prop), `message should name ${prop}: ${body.message}`);
  });
});
