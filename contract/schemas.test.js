'use strict';
// Custom objects: schemas through crm.schemas.coreApi, records through the
// generic crm.objects API by objectTypeId, fully qualified name and
// p_{name}, search and associations.

const assert = require('node:assert/strict');
const { describe, it, before, client, uniq, email, rejects, short, raw } = require('./support/spoke');

const hs = client();

describe('custom object schemas', { concurrency: 1 }, () => {
  const name = uniq('cars');
  let schema;

  before(async () => {
    schema = await hs.crm.schemas.coreApi.create({
      name,
      labels: { singular: 'Car', plural: 'Cars' },
      primaryDisplayProperty: 'model',
      secondaryDisplayProperties: ['make'],
      requiredProperties: ['model'],
      searchableProperties: ['model', 'vin'],
      properties: [
        { name: 'model', label: 'Model', type: 'string', fieldType: 'text' },
        { name: 'make', label: 'Make', type: 'string', fieldType: 'text' },
        { name: 'year', label: 'Year', type: 'number', fieldType: 'number' },
        { name: 'vin', label: 'VIN', type: 'string', fieldType: 'text', hasUniqueValue: true },
      ],
      associatedObjects: ['CONTACT'],
    });
  });

  it('coreApi.create answers the schema with its 2-… id and fully qualified name', async () => {
    assert.match(schema.objectTypeId, /^2-\d+$/);
    assert.match(schema.fullyQualifiedName, new RegExp(`^p\\d+_${name}$`));
    assert.equal(schema.name, name);
    assert.deepEqual({ ...schema.labels }, { singular: 'Car', plural: 'Cars' });
    assert.deepEqual(schema.requiredProperties, ['model']);
    assert.ok(schema.properties.some((p) => p.name === 'vin' && p.hasUniqueValue), short(schema.properties.map((p) => p.name)));
    assert.ok(schema.associations.some((a) => a.toObjectTypeId === '0-1'), short(schema.associations));
  });

  it('coreApi.getAll and getById (by id, fully qualified name and p_{name})', async () => {
    const all = await hs.crm.schemas.coreApi.getAll();
    assert.ok(all.results.some((s) => s.objectTypeId === schema.objectTypeId));
    for (const key of [schema.objectTypeId, schema.fullyQualifiedName, `p_${name}`]) {
      const got = await hs.crm.schemas.coreApi.getById(key);
      assert.equal(got.objectTypeId, schema.objectTypeId, key);
    }
    await rejects(hs.crm.schemas.coreApi.getById(name), 404, 'base name');
  });

  it('records: basicApi.create on 2-…, required properties, get, search, associations', async () => {
    const t = schema.objectTypeId;
    await rejects(hs.crm.objects.basicApi.create(t, { properties: { make: 'Nissan' }, associations: [] }), 400, 'model is required');
    const contact = (await hs.crm.contacts.basicApi.create({ properties: { email: email('owner') }, associations: [] })).id;
    const vin = uniq('VIN');
    const car = await hs.crm.objects.basicApi.create(t, { properties: { model: 'Frontier', make: 'Nissan', year: '2014', vin }, associations: [] });
    const got = await hs.crm.objects.basicApi.getById(schema.fullyQualifiedName, car.id, ['model', 'year']);
    assert.equal(got.properties.year, '2014');
    const found = await hs.crm.objects.searchApi.doSearch(`p_${name}`, {
      filterGroups: [{ filters: [{ propertyName: 'year', operator: 'GTE', value: '2010' }, { propertyName: 'vin', operator: 'EQ', value: vin }] }],
      properties: ['model'],
      limit: 10,
    });
    assert.equal(found.total, 1);
    assert.equal(String(found.results[0].id), String(car.id));
    await hs.crm.associations.v4.basicApi.createDefault(t, car.id, 'contacts', contact);
    const back = await hs.crm.associations.v4.basicApi.getPage('contacts', contact, t);
    assert.deepEqual(back.results.map((r) => String(r.toObjectId)), [String(car.id)]);
    assert.equal(back.results[0].associationTypes[0].category, 'USER_DEFINED');
    await rejects(hs.crm.objects.basicApi.create(t, { properties: { model: 'Other', vin }, associations: [] }), 409, 'duplicate vin');
    // The schema cannot go while it has records.
    await rejects(hs.crm.schemas.coreApi.archive(t), 400, 'delete with records');
    await hs.crm.objects.basicApi.archive(t, car.id);
  });

  it('coreApi.update changes the property lists; archive, then purge with archived=true', async () => {
    const t = schema.objectTypeId;
    const up = await hs.crm.schemas.coreApi.update(t, { searchableProperties: ['model', 'make', 'vin'] });
    assert.deepEqual(up.searchableProperties, ['model', 'make', 'vin']);
    await hs.crm.schemas.coreApi.archive(t);
    await rejects(hs.crm.objects.basicApi.getPage(t), 400, 'archived type');
    const { res } = await raw('DELETE', `/crm/v3/schemas/${t}?archived=true`);
    assert.equal(res.status, 204);
    await rejects(hs.crm.schemas.coreApi.getById(t), 404, 'purged');
  });
});
