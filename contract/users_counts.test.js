'use strict';
// The users object (0-115) through the generic objects API, and the
// association counts and primary company that Spoke maintains as HubSpot
// does, read back after v4 associations are made and removed.

const assert = require('node:assert/strict');
const { describe, it, before, client, email, uniq, rejects, raw } = require('./support/spoke');

const hs = client();
const objects = hs.crm.objects;
const assoc = hs.crm.associations.v4;

describe('users object', () => {
  let owner;
  let user;

  before(async () => {
    const o = await raw('POST', '/spoke/v1/owners', { body: { email: email('user'), firstName: 'Uma', lastName: 'User' } });
    assert.equal(o.res.status, 201, o.text);
    owner = o.json;
    const found = await objects.searchApi.doSearch('0-115', {
      filterGroups: [{ filters: [{ propertyName: 'hs_email', operator: 'EQ', value: owner.email }] }],
      properties: ['hs_email', 'hs_internal_user_id', 'hubspot_owner_id', 'hs_given_name'],
      limit: 10,
    });
    assert.equal(found.total, 1);
    user = found.results[0];
  });

  it('has one user per owner, with the owner\'s userId as hs_internal_user_id', async () => {
    assert.equal(user.properties.hs_internal_user_id, String(owner.userId));
    assert.equal(user.properties.hubspot_owner_id, owner.id);
    assert.equal(user.properties.hs_given_name, 'Uma');
    assert.notEqual(user.id, String(owner.userId), 'the record id is not the user id');
  });

  it('reads by id and by name, pages, and batch reads', async () => {
    const byId = await objects.basicApi.getById('0-115', user.id, ['hs_family_name']);
    assert.equal(byId.properties.hs_family_name, 'User');
    const byName = await objects.basicApi.getById('users', user.id, ['hs_email']);
    assert.equal(byName.properties.hs_email, owner.email);
    const page = await objects.basicApi.getPage('users', 100, undefined, ['hs_email']);
    assert.ok(page.results.some((u) => u.id === user.id));
    const batch = await objects.batchApi.read('0-115', { inputs: [{ id: user.id }], properties: ['hs_email'], propertiesWithHistory: [] });
    assert.equal(batch.results[0].properties.hs_email, owner.email);
  });

  it('updates its writable properties and refuses the owner\'s', async () => {
    const up = await objects.basicApi.update('0-115', user.id, { properties: { hs_job_title: 'Account executive', hs_availability_status: 'away' } });
    assert.equal(up.properties.hs_job_title, 'Account executive');
    await rejects(objects.basicApi.update('0-115', user.id, { properties: { hs_email: 'x@example.com' } }), 400, 'read-only hs_email');
  });

  it('cannot be created or archived through the objects API', async () => {
    await rejects(objects.basicApi.create('0-115', { properties: { hs_job_title: 'x' }, associations: [] }), 400, 'create a user');
    await rejects(objects.basicApi.archive('0-115', user.id), 400, 'archive a user');
  });

  it('follows the owner', async () => {
    const r = await raw('PATCH', `/spoke/v1/owners/${owner.id}`, { body: { lastName: 'Renamed' } });
    assert.equal(r.res.status, 200, r.text);
    const u = await objects.basicApi.getById('0-115', user.id, ['hs_family_name']);
    assert.equal(u.properties.hs_family_name, 'Renamed');
  });
});

describe('association counts and primary company', () => {
  let company;
  let other;
  let deal;
  const contacts = [];

  before(async () => {
    company = await hs.crm.companies.basicApi.create({ properties: { name: uniq('Counted ') }, associations: [] });
    other = await hs.crm.companies.basicApi.create({ properties: { name: uniq('Other ') }, associations: [] });
    deal = await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('Deal ') }, associations: [] });
    for (const n of ['a', 'b', 'c']) {
      contacts.push(await hs.crm.contacts.basicApi.create({ properties: { email: email('count-' + n) }, associations: [] }));
    }
  });

  const props = async (type, id, names) => (await hs.crm[type].basicApi.getById(id, names)).properties;

  it('counts default associations on both sides', async () => {
    await assoc.basicApi.createDefault('contacts', contacts[0].id, 'companies', company.id);
    await assoc.batchApi.createDefault('companies', 'contacts', {
      inputs: [{ _from: { id: company.id }, to: { id: contacts[1].id } }, { _from: { id: company.id }, to: { id: contacts[2].id } }],
    });
    assert.equal((await props('companies', company.id, ['num_associated_contacts'])).num_associated_contacts, '3');
    await assoc.basicApi.createDefault('deals', deal.id, 'contacts', contacts[0].id);
    assert.equal((await props('deals', deal.id, ['num_associated_contacts'])).num_associated_contacts, '1');
    assert.equal((await props('contacts', contacts[0].id, ['num_associated_deals'])).num_associated_deals, '1');
    await assoc.basicApi.createDefault('deals', deal.id, 'companies', company.id);
    assert.equal((await props('companies', company.id, ['num_associated_deals'])).num_associated_deals, '1');
  });

  it('sets associatedcompanyid from the primary association (type 1), one primary per contact', async () => {
    const c = contacts[0].id;
    assert.equal((await props('contacts', c, ['associatedcompanyid'])).associatedcompanyid, null, 'a default association is not primary');
    await assoc.basicApi.create('contacts', c, 'companies', company.id, [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }]);
    assert.equal((await props('contacts', c, ['associatedcompanyid'])).associatedcompanyid, company.id);
    await assoc.basicApi.create('contacts', c, 'companies', other.id, [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 1 }]);
    assert.equal((await props('contacts', c, ['associatedcompanyid'])).associatedcompanyid, other.id);
    const links = await assoc.basicApi.getPage('contacts', c, 'companies');
    const types = Object.fromEntries(links.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId).sort((x, y) => x - y)]));
    assert.deepEqual(types[company.id], [279], 'the old primary stays, unlabelled');
    assert.deepEqual(types[other.id], [1]);
  });

  it('counts down when associations go, with history', async () => {
    await assoc.basicApi.archive('contacts', contacts[2].id, 'companies', company.id);
    await assoc.batchApi.archive('companies', 'contacts', { inputs: [{ _from: { id: company.id }, to: [{ id: contacts[1].id }] }] });
    const got = await hs.crm.companies.basicApi.getById(company.id, ['num_associated_contacts'], ['num_associated_contacts']);
    assert.equal(got.properties.num_associated_contacts, '1');
    const hist = got.propertiesWithHistory.num_associated_contacts;
    assert.deepEqual(hist.map((h) => h.value), ['1', '2', '3', '2', '1']);
    assert.ok(hist.every((h) => h.sourceType === 'CALCULATED'), JSON.stringify(hist));
  });

  it('drops an archived record from the counts', async () => {
    await hs.crm.contacts.basicApi.archive(contacts[0].id);
    assert.equal((await props('companies', company.id, ['num_associated_contacts'])).num_associated_contacts, '0');
    assert.equal((await props('deals', deal.id, ['num_associated_contacts'])).num_associated_contacts, '0');
  });

  it('refuses writes of the counts', async () => {
    await rejects(hs.crm.companies.basicApi.update(company.id, { properties: { num_associated_contacts: '7' } }), 400, 'write a count');
  });
});
