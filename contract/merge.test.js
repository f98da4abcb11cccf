'use strict';
// basicApi.merge and basicApi.purge (GDPR delete) through the typed client.

const assert = require('node:assert/strict');
const { describe, it, client, email, uniq, rejects } = require('./support/spoke');

const hs = client();
const contacts = hs.crm.contacts;

describe('merge and GDPR delete', { concurrency: 1 }, () => {
  it('merge keeps the primary, fills its blanks, moves associations and archives the other', async () => {
    const primaryEmail = email('mp');
    const primary = await contacts.basicApi.create({ properties: { email: primaryEmail, firstname: 'ada' } });
    const other = await contacts.basicApi.create({ properties: { email: email('mo'), firstname: 'augusta', lastname: 'king', jobtitle: 'analyst' } });
    const company = await hs.crm.companies.basicApi.create({ properties: { name: uniq('mco') } });
    await hs.crm.associations.v4.basicApi.createDefault('contacts', other.id, 'companies', company.id);

    const info = await contacts.basicApi.mergeWithHttpInfo({ primaryObjectId: primary.id, objectIdToMerge: other.id });
    assert.equal(info.httpStatusCode, 200);
    const merged = info.data;
    assert.equal(merged.id, primary.id);
    assert.equal(merged.properties.email, primaryEmail, "the primary's values win");
    assert.equal(merged.properties.firstname, 'ada');
    assert.equal(merged.properties.lastname, 'king', "the other record's values fill the primary's blanks");
    assert.equal(merged.properties.jobtitle, 'analyst');

    assert.equal(merged.properties.hs_merged_object_ids, other.id);
    // The merged id now answers the primary, as on HubSpot.
    const byOld = await contacts.basicApi.getById(other.id, ['firstname', 'hs_merged_object_ids']);
    assert.equal(byOld.id, primary.id);
    assert.equal(byOld.properties.hs_merged_object_ids, other.id);
    const archived = await contacts.basicApi.getById(other.id, undefined, undefined, undefined, true);
    assert.equal(archived.archived, true);
    assert.equal(archived.id, other.id);
    const links = await hs.crm.associations.v4.basicApi.getPage('contacts', primary.id, 'companies');
    assert.deepEqual(links.results.map((l) => String(l.toObjectId)), [company.id]);
    const back = await hs.crm.associations.v4.basicApi.getPage('companies', company.id, 'contacts');
    assert.deepEqual(back.results.map((l) => String(l.toObjectId)), [primary.id]);
  });

  it('merge refuses a record with itself (400) and a missing record (404)', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('ms') } });
    await rejects(contacts.basicApi.merge({ primaryObjectId: c.id, objectIdToMerge: c.id }), 400);
    await rejects(contacts.basicApi.merge({ primaryObjectId: c.id, objectIdToMerge: '999999999' }), 404);
  });

  it('purge erases a contact by id or by email (204), live or archived', async () => {
    const a = await contacts.basicApi.create({ properties: { email: email('pa') } });
    const info = await contacts.basicApi.purgeWithHttpInfo({ objectId: a.id });
    assert.equal(info.httpStatusCode, 204);
    await rejects(contacts.basicApi.getById(a.id, undefined, undefined, undefined, true), 404);

    const addr = email('pb');
    const b = await contacts.basicApi.create({ properties: { email: addr } });
    await contacts.basicApi.archive(b.id);
    await contacts.basicApi.purge({ objectId: addr, idProperty: 'email' });
    await rejects(contacts.basicApi.getById(b.id, undefined, undefined, undefined, true), 404);
    // The email is free again.
    await contacts.basicApi.create({ properties: { email: addr } });

    await rejects(contacts.basicApi.purge({ objectId: '999999999' }), 404);
  });
});
