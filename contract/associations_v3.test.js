'use strict';
// Associations v3 (HubSpot's v3 associations guide and the v3 OpenAPI
// descriptions in HubSpot-public-api-spec-collection): the typed
// crm.associations.batchApi (create 201/207, read 200/207, archive 204) and
// schema.typesApi, plus the per-record v3 endpoints through apiRequest (the
// 13.5.0 client has no typed v3 associationsApi on contacts): PUT 200 with
// SimplePublicObjectWithAssociations, GET {results:[{id, type}]}, DELETE 204.

const assert = require('node:assert/strict');
const { describe, it, client, uniq, email, rejects, assertEnvelope, short } = require('./support/spoke');

const hs = client();
const v3 = hs.crm.associations;

async function contact() {
  return (await hs.crm.contacts.basicApi.create({ properties: { email: email('a3') } })).id;
}
async function company() {
  return (await hs.crm.companies.basicApi.create({ properties: { name: uniq('a3co') } })).id;
}

async function call(method, path, body) {
  const res = await hs.apiRequest(body === undefined ? { method, path } : { method, path, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

describe('associations v3 batch API', { concurrency: 1 }, () => {
  it('batchApi.create → 201 BatchResponsePublicAssociation; read lists {id, type}', async () => {
    const c = await contact();
    const co = await company();
    const info = await v3.batchApi.createWithHttpInfo('contacts', 'companies', {
      inputs: [{ _from: { id: c }, to: { id: co }, type: 'contact_to_company' }],
    });
    assert.equal(info.httpStatusCode, 201, short(info.data));
    assert.equal(info.data.status, 'COMPLETE');
    assert.ok(info.data.startedAt instanceof Date && info.data.completedAt instanceof Date);
    assert.deepEqual(
      info.data.results.map((r) => [r._from.id, r.to.id, r.type]),
      [[c, co, 'contact_to_company']],
    );

    const read = await v3.batchApi.read('companies', 'contacts', { inputs: [{ id: co }] });
    assert.equal(read.status, 'COMPLETE');
    assert.equal(read.results.length, 1, short(read));
    assert.equal(read.results[0]._from.id, co);
    assert.deepEqual(read.results[0].to.map((t) => [t.id, t.type]), [[c, 'company_to_contact']]);

    // The same link is visible through v4, as HubSpot's primary type (1).
    const page = await hs.crm.associations.v4.basicApi.getPage('contacts', c, 'companies');
    assert.ok(page.results[0].associationTypes.some((t) => Number(t.typeId) === 1), short(page));
  });

  it('batchApi.create with a bad type and a missing record → 207 with errors', async () => {
    const c = await contact();
    const co = await company();
    const info = await v3.batchApi.createWithHttpInfo('contacts', 'companies', {
      inputs: [
        { _from: { id: c }, to: { id: co }, type: 'contact_to_company_unlabeled' },
        { _from: { id: c }, to: { id: co }, type: 'no_such_type' },
        { _from: { id: '999999999' }, to: { id: co }, type: 'contact_to_company' },
      ],
    });
    assert.equal(info.httpStatusCode, 207, short(info.data));
    assert.equal(info.data.numErrors, 2);
    assert.equal(info.data.results.length, 1);
    const cats = info.data.errors.map((e) => e.category).sort();
    assert.deepEqual(cats, ['OBJECT_NOT_FOUND', 'VALIDATION_ERROR']);
    const bad = info.data.errors.find((e) => e.category === 'VALIDATION_ERROR');
    assert.equal(bad.message, 'no_such_type is not a valid association type between contacts and companies');
  });

  it('batchApi.read with an unknown id → 207; archive → 204 removes that type only', async () => {
    const c = await contact();
    const co = await company();
    await v3.batchApi.create('contacts', 'companies', {
      inputs: [
        { _from: { id: c }, to: { id: co }, type: 'contact_to_company' },
        { _from: { id: c }, to: { id: co }, type: 'contact_to_company_unlabeled' },
      ],
    });
    const info = await v3.batchApi.readWithHttpInfo('contacts', 'companies', { inputs: [{ id: c }, { id: '999999998' }] });
    assert.equal(info.httpStatusCode, 207, short(info.data));
    assert.deepEqual(
      info.data.results[0].to.map((t) => t.type).sort(),
      ['contact_to_company', 'contact_to_company_unlabeled'],
      'a record is listed once per association type',
    );

    const archived = await v3.batchApi.archiveWithHttpInfo('contacts', 'companies', {
      inputs: [{ _from: { id: c }, to: { id: co }, type: 'contact_to_company' }],
    });
    assert.equal(archived.httpStatusCode, 204);
    const after = await v3.batchApi.read('contacts', 'companies', { inputs: [{ id: c }] });
    assert.deepEqual(after.results[0].to.map((t) => [t.id, t.type]), [[co, 'contact_to_company_unlabeled']]);
  });

  it('schema.typesApi.getAll → [{id, name}] with HubSpot’s v3 names', async () => {
    const types = await v3.schema.typesApi.getAll('contacts', 'companies');
    const byId = Object.fromEntries(types.results.map((t) => [t.id, t.name]));
    assert.equal(byId['1'], 'contact_to_company');
    assert.equal(byId['279'], 'contact_to_company_unlabeled');
    const back = await v3.schema.typesApi.getAll('companies', 'contacts');
    assert.ok(back.results.some((t) => t.id === '280' && t.name === 'company_to_contact_unlabeled'), short(back));
  });
});

describe('associations v3 per-record endpoints (apiRequest)', { concurrency: 1 }, () => {
  it('PUT …/associations/{to}/{id}/{type} → 200 SimplePublicObjectWithAssociations', async () => {
    const c = await contact();
    const co = await company();
    const r = await call('PUT', `/crm/v3/objects/contacts/${c}/associations/companies/${co}/contact_to_company`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, c);
    assert.equal(r.json.properties.hs_object_id, c);
    assert.deepEqual(r.json.associations.companies.results, [{ id: co, type: 'contact_to_company' }]);

    // A numeric type id is accepted too.
    const n = await call('PUT', `/crm/v3/objects/companies/${co}/associations/contacts/${c}/280`);
    assert.equal(n.status, 200, n.text);

    const list = await call('GET', `/crm/v3/objects/contacts/${c}/associations/companies`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.json.results.map((x) => x.type).sort(),
      ['contact_to_company', 'contact_to_company_unlabeled'],
    );

    // The record read with associations=companies gives the same v3 shape.
    const got = await hs.crm.contacts.basicApi.getById(c, undefined, undefined, ['companies']);
    assert.deepEqual(
      got.associations.companies.results.map((x) => `${x.id}:${x.type}`).sort(),
      [`${co}:contact_to_company`, `${co}:contact_to_company_unlabeled`],
    );

    const del = await call('DELETE', `/crm/v3/objects/contacts/${c}/associations/companies/${co}/contact_to_company_unlabeled`);
    assert.equal(del.status, 204, del.text);
    const left = await call('GET', `/crm/v3/objects/contacts/${c}/associations/companies`);
    assert.deepEqual(left.json.results, [{ id: co, type: 'contact_to_company' }]);
  });

  it('an unknown type → 400 VALIDATION_ERROR crm.associations.INVALID_ASSOCIATION_TYPE', async () => {
    const c = await contact();
    const co = await company();
    const r = await call('PUT', `/crm/v3/objects/contacts/${c}/associations/companies/${co}/deal_to_contact`);
    assert.equal(r.status, 400, r.text);
    assertEnvelope(r.json, 'PUT with a type of another pair');
    assert.equal(r.json.category, 'VALIDATION_ERROR');
    assert.equal(r.json.subCategory, 'crm.associations.INVALID_ASSOCIATION_TYPE');
    assert.equal(r.json.message, 'deal_to_contact is not a valid association type between contacts and companies');
    assert.deepEqual(r.json.context.type, ['deal_to_contact']);
    await rejects(
      v3.batchApi.archive('contacts', 'companies', { inputs: [{ _from: { id: c }, to: { id: co }, type: 'bogus' }] }),
      400,
      'batch archive with an unknown type',
    );
  });
});
