'use strict';
// Owners (CRM v3 owners API, read only as on HubSpot) and the
// hubspot_owner_id property. Owners are added through Spoke's admin API
// (POST /spoke/v1/owners), which HubSpot does in its UI.

const assert = require('node:assert/strict');
const { describe, it, before, client, uniq, email, rejects, raw, assertDate } = require('./support/spoke');

const hs = client();
const owners = hs.crm.owners.ownersApi;

let ann;
let bob;
const team = uniq('Team ');

before(async () => {
  const a = await raw('POST', '/spoke/v1/owners', { body: { email: email('ann'), firstName: 'Ann', lastName: 'Lee', teams: [team, uniq('Other ')] } });
  assert.equal(a.res.status, 201, a.text);
  ann = a.json;
  const b = await raw('POST', '/spoke/v1/owners', { body: { email: email('bob'), firstName: 'Bob', lastName: 'Ray' } });
  assert.equal(b.res.status, 201, b.text);
  bob = b.json;
});

describe('owners', () => {
  it('getById returns a PublicOwner with teams', async () => {
    const o = await owners.getById(Number(ann.id));
    assert.equal(o.id, ann.id);
    assert.equal(o.email, ann.email);
    assert.equal(o.firstName, 'Ann');
    assert.equal(o.lastName, 'Lee');
    assert.equal(o.type, 'PERSON');
    assert.equal(o.archived, false);
    assert.equal(typeof o.userId, 'number');
    assert.notEqual(String(o.userId), o.id, 'owner ids and user ids differ');
    assert.equal(o.userIdIncludingInactive, o.userId);
    assertDate(o.createdAt, 'createdAt');
    assertDate(o.updatedAt, 'updatedAt');
    assert.equal(o.teams.length, 2);
    assert.deepEqual({ name: o.teams[0].name, primary: o.teams[0].primary }, { name: team, primary: true });
    assert.equal(o.teams[1].primary, false);
  });

  it('getById by userId', async () => {
    const o = await owners.getById(Number(ann.userId), 'userId');
    assert.equal(o.id, ann.id);
  });

  it('getById of an unknown owner is a 404', async () => {
    await rejects(owners.getById(1), 404, 'unknown owner');
  });

  it('getPage filters by email and pages with after', async () => {
    const byEmail = await owners.getPage(bob.email.toUpperCase());
    assert.deepEqual(byEmail.results.map((o) => o.id), [bob.id]);

    const seen = [];
    let after;
    for (let i = 0; i < 1000; i++) {
      const page = await owners.getPage(undefined, after, 1);
      assert.ok(page.results.length <= 1);
      seen.push(...page.results.map((o) => o.id));
      if (!page.paging) break;
      after = page.paging.next.after;
    }
    assert.ok(seen.includes(ann.id) && seen.includes(bob.id), 'paging reaches every owner');
    assert.equal(new Set(seen).size, seen.length, 'no owner twice');
  });

  it('archived owners are listed only with archived=true', async () => {
    const c = await raw('POST', '/spoke/v1/owners', { body: { email: email('gone') } });
    assert.equal(c.res.status, 201);
    const d = await raw('DELETE', `/spoke/v1/owners/${c.json.id}`);
    assert.equal(d.res.status, 204);
    const live = await owners.getPage(c.json.email);
    assert.equal(live.results.length, 0);
    const archived = await owners.getPage(c.json.email, undefined, 10, true);
    assert.equal(archived.results.length, 1);
    assert.equal(archived.results[0].archived, true);
    await rejects(owners.getById(Number(c.json.id)), 404, 'archived owner read as live');
  });
});

describe('hubspot_owner_id', () => {
  it('is an enumeration whose options are the owners', async () => {
    const p = await hs.crm.properties.coreApi.getByName('contacts', 'hubspot_owner_id');
    assert.equal(p.type, 'enumeration');
    assert.equal(p.fieldType, 'select');
    const opt = p.options.find((o) => o.value === ann.id);
    assert.ok(opt, 'ann is an option');
    assert.equal(opt.label, 'Ann Lee');
  });

  it('is validated, set, searchable and kept in history', async () => {
    const body = await rejects(
      hs.crm.deals.basicApi.create({ properties: { dealname: uniq('d'), hubspot_owner_id: '1' }, associations: [] }),
      400,
      'unknown owner',
    );
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.match(body.message, /hubspot_owner_id/);

    const c = await hs.crm.contacts.basicApi.create({ properties: { email: email(), hubspot_owner_id: ann.id }, associations: [] });
    assert.equal(c.properties.hubspot_owner_id, ann.id);
    await hs.crm.contacts.basicApi.update(c.id, { properties: { hubspot_owner_id: bob.id } });
    const got = await hs.crm.contacts.basicApi.getById(c.id, ['hubspot_owner_id', 'hubspot_team_id'], ['hubspot_owner_id']);
    assert.equal(got.properties.hubspot_owner_id, bob.id);
    assert.deepEqual(got.propertiesWithHistory.hubspot_owner_id.map((h) => h.value), [bob.id, ann.id]);
    assert.equal(got.properties.hubspot_team_id, ann.teams[0].id, "ann's primary team, set when she was assigned");

    const found = await hs.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hubspot_owner_id', operator: 'EQ', value: bob.id }, { propertyName: 'hs_object_id', operator: 'EQ', value: c.id }] }],
      properties: ['hubspot_owner_id'],
      limit: 10,
    });
    assert.deepEqual(found.results.map((r) => r.id), [c.id]);
  });
});
