'use strict';
// Associations v4 (reference §4): create (PUT, 201, LabelsBetweenObjectPair),
// createDefault (200), getPage, archive (204) and batch read.

const assert = require('node:assert/strict');
const { describe, it, client, uniq, email, rejects, short, sorted } = require('./support/spoke');

const hs = client();
const v4 = hs.crm.associations.v4;
const HUBSPOT_DEFINED = 'HUBSPOT_DEFINED';

async function contact() {
  return (await hs.crm.contacts.basicApi.create({ properties: { email: email('as') } })).id;
}
async function company() {
  return (await hs.crm.companies.basicApi.create({ properties: { name: uniq('asco') } })).id;
}
async function deal() {
  return (await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('asdeal') } })).id;
}
async function ticket() {
  return (await hs.crm.tickets.basicApi.create({ properties: { subject: uniq('astk'), hs_pipeline_stage: '1' } })).id;
}

function toIds(page) {
  return page.results.map((r) => String(r.toObjectId)).sort();
}
function typesOf(page, toId) {
  const r = page.results.find((x) => String(x.toObjectId) === String(toId));
  return r ? r.associationTypes : undefined;
}

describe('associations v4 basic API', { concurrency: 1 }, () => {
  it('create (PUT) → 201 LabelsBetweenObjectPair; getPage lists it both ways', async () => {
    const c = await contact();
    const co = await company();
    const info = await v4.basicApi.createWithHttpInfo('contacts', c, 'companies', co, [
      { associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 },
    ]);
    assert.equal(info.httpStatusCode, 201);
    const pair = info.data;
    assert.equal(String(pair.fromObjectId), c);
    assert.equal(String(pair.toObjectId), co);
    assert.equal(pair.fromObjectTypeId, '0-1');
    assert.equal(pair.toObjectTypeId, '0-2');
    assert.ok(Array.isArray(pair.labels), `labels is an array: ${short(pair)}`);

    const page = await v4.basicApi.getPage('contacts', c, 'companies');
    assert.deepEqual(toIds(page), [co]);
    const types = typesOf(page, co);
    assert.ok(
      types.some((t) => t.category === HUBSPOT_DEFINED && Number(t.typeId) === 279),
      `contact→company association type 279: ${short(types)}`,
    );

    const back = await v4.basicApi.getPage('companies', co, 'contacts');
    assert.deepEqual(toIds(back), [c], 'associations are visible from the other side');
    const btypes = typesOf(back, c);
    assert.ok(
      btypes.some((t) => t.category === HUBSPOT_DEFINED && Number(t.typeId) === 280),
      `company→contact association type 280: ${short(btypes)}`,
    );
  });

  it('creating the same association twice is idempotent', async () => {
    const c = await contact();
    const co = await company();
    const spec = [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 }];
    await v4.basicApi.create('contacts', c, 'companies', co, spec);
    await v4.basicApi.create('contacts', c, 'companies', co, spec);
    const page = await v4.basicApi.getPage('contacts', c, 'companies');
    assert.deepEqual(toIds(page), [co]);
  });

  it('createDefault → 200 with the default type (deal→company 341)', async () => {
    const d = await deal();
    const co = await company();
    const info = await v4.basicApi.createDefaultWithHttpInfo('deals', d, 'companies', co);
    assert.equal(info.httpStatusCode, 200);
    assert.equal(info.data.status, 'COMPLETE');
    assert.ok(Array.isArray(info.data.results) && info.data.results.length >= 1, short(info.data));
    const page = await v4.basicApi.getPage('deals', d, 'companies');
    assert.deepEqual(toIds(page), [co]);
    assert.ok(typesOf(page, co).some((t) => Number(t.typeId) === 341), `default deal→company type 341: ${short(page.results)}`);
  });

  it('getPage pages with limit and after', async () => {
    const c = await contact();
    const cos = [await company(), await company(), await company()];
    for (const co of cos) {
      await v4.basicApi.createDefault('contacts', c, 'companies', co);
    }
    const p1 = await v4.basicApi.getPage('contacts', c, 'companies', undefined, 2);
    assert.equal(p1.results.length, 2);
    assert.ok(p1.paging && p1.paging.next && p1.paging.next.after, `paging.next: ${short(p1.paging)}`);
    const p2 = await v4.basicApi.getPage('contacts', c, 'companies', p1.paging.next.after, 2);
    assert.equal(p2.results.length, 1);
    assert.ok(!(p2.paging && p2.paging.next), 'last page has no paging.next');
    assert.deepEqual([...toIds(p1), ...toIds(p2)].sort(), sorted(cos));
  });

  it('archive → 204 (resolves undefined); getPage no longer lists it, on either side', async () => {
    const c = await contact();
    const co = await company();
    await v4.basicApi.create('contacts', c, 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 }]);
    const info = await v4.basicApi.archiveWithHttpInfo('contacts', c, 'companies', co);
    assert.equal(info.httpStatusCode, 204);
    assert.equal(info.data, undefined);
    assert.deepEqual(toIds(await v4.basicApi.getPage('contacts', c, 'companies')), []);
    assert.deepEqual(toIds(await v4.basicApi.getPage('companies', co, 'contacts')), []);
  });

  it('other pairs: contact→deal (4), ticket→contact (16)', async () => {
    const c = await contact();
    const d = await deal();
    const t = await ticket();
    await v4.basicApi.create('contacts', c, 'deals', d, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 4 }]);
    await v4.basicApi.create('tickets', t, 'contacts', c, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 16 }]);
    assert.deepEqual(toIds(await v4.basicApi.getPage('deals', d, 'contacts')), [c]);
    assert.deepEqual(toIds(await v4.basicApi.getPage('contacts', c, 'tickets')), [t]);
  });

  it('object types by singular name and by objectTypeId', async () => {
    const c = await contact();
    const co = await company();
    await v4.basicApi.create('contact', c, 'company', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 }]);
    assert.deepEqual(toIds(await v4.basicApi.getPage('0-1', c, '0-2')), [co]);
    assert.deepEqual(toIds(await v4.basicApi.getPage('contacts', c, 'companies')), [co]);
  });

  it('a missing record → 404, not 5xx', async () => {
    const co = await company();
    await rejects(
      v4.basicApi.create('contacts', '987654321093', 'companies', co, [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 }]),
      [400, 404],
      'association to a missing contact',
    );
  });

  it('embedded associations on object create', async () => {
    const co = await company();
    const c = await hs.crm.contacts.basicApi.create({
      properties: { email: email('emb') },
      associations: [{ to: { id: co }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 }] }],
    });
    assert.deepEqual(toIds(await v4.basicApi.getPage('contacts', c.id, 'companies')), [co]);
  });
});

describe('associations v4 batch API', { concurrency: 1 }, () => {
  it('batch read (batchApi.getPage) → 200 with _from and to per input', async () => {
    const c1 = await contact();
    const c2 = await contact();
    const co1 = await company();
    const co2 = await company();
    await v4.basicApi.createDefault('contacts', c1, 'companies', co1);
    await v4.basicApi.createDefault('contacts', c1, 'companies', co2);
    await v4.basicApi.createDefault('contacts', c2, 'companies', co2);

    const info = await v4.batchApi.getPageWithHttpInfo('contacts', 'companies', { inputs: [{ id: c1 }, { id: c2 }] });
    assert.equal(info.httpStatusCode, 200, short(info.data));
    const res = info.data;
    assert.equal(res.status, 'COMPLETE');
    const byFrom = Object.fromEntries(res.results.map((r) => [String(r._from.id), r.to.map((x) => String(x.toObjectId)).sort()]));
    assert.deepEqual(byFrom, { [c1]: sorted([co1, co2]), [c2]: [co2] });
    for (const r of res.results) {
      for (const x of r.to) assert.ok(Array.isArray(x.associationTypes) && x.associationTypes.length > 0, short(x));
    }
  });

  it('archiveLabels → 204 removes the given label in both directions and keeps the others', async () => {
    const c = await contact();
    const co = await company();
    const types = [
      { associationCategory: HUBSPOT_DEFINED, associationTypeId: 279 },
      { associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 },
    ];
    await v4.basicApi.create('contacts', c, 'companies', co, types);
    const info = await v4.batchApi.archiveLabelsWithHttpInfo('contacts', 'companies', {
      inputs: [{ _from: { id: c }, to: { id: co }, types: [types[1]] }],
    });
    assert.equal(info.httpStatusCode, 204);
    const fwd = typesOf(await v4.basicApi.getPage('contacts', c, 'companies'), co).map((t) => Number(t.typeId));
    assert.deepEqual(fwd, [279], 'contact→company keeps the unlabeled type only');
    const back = typesOf(await v4.basicApi.getPage('companies', co, 'contacts'), c).map((t) => Number(t.typeId));
    assert.deepEqual(back, [280], 'company→contact lost the paired primary type 2');
  });
});

describe('associations v4 label definitions', { concurrency: 1 }, () => {
  const defs = hs.crm.associations.v4.schema.definitionsApi;
  const USER_DEFINED = 'USER_DEFINED';

  it('getAll lists HubSpot types with their labels', async () => {
    const info = await defs.getAllWithHttpInfo('contacts', 'companies');
    assert.equal(info.httpStatusCode, 200);
    const byId = Object.fromEntries(info.data.results.map((t) => [Number(t.typeId), t]));
    assert.equal(byId[279].category, HUBSPOT_DEFINED);
    assert.ok(!byId[279].label, `279 is unlabelled: ${short(byId[279])}`);
    assert.equal(byId[1].label, 'Primary');
  });

  it('create, use, rename and remove a user-defined label', async () => {
    const name = uniq('reseller').replace(/[^a-z0-9_]/g, '_');
    const created = await defs.createWithHttpInfo('deals', 'companies', { label: 'Reseller', name, inverseLabel: 'Resold by' });
    assert.equal(created.httpStatusCode, 200);
    const spec = created.data.results[0];
    assert.equal(spec.category, USER_DEFINED);
    assert.equal(spec.label, 'Reseller');
    const typeId = Number(spec.typeId);
    assert.ok(typeId > 0, short(spec));

    const listed = await defs.getAll('companies', 'deals');
    assert.ok(listed.results.some((t) => Number(t.typeId) === typeId && t.label === 'Resold by'), `reverse listing: ${short(listed.results)}`);

    const d = await deal();
    const co = await company();
    await v4.basicApi.create('deals', d, 'companies', co, [{ associationCategory: USER_DEFINED, associationTypeId: typeId }]);
    let back = typesOf(await v4.basicApi.getPage('companies', co, 'deals'), d);
    assert.ok(back.some((t) => Number(t.typeId) === typeId && t.label === 'Resold by'), short(back));

    const upd = await defs.updateWithHttpInfo('deals', 'companies', { associationTypeId: typeId, label: 'Partner', inverseLabel: 'Partner of' });
    assert.equal(upd.httpStatusCode, 204);
    back = typesOf(await v4.basicApi.getPage('companies', co, 'deals'), d);
    assert.ok(back.some((t) => Number(t.typeId) === typeId && t.label === 'Partner of'), `renamed on the association: ${short(back)}`);

    const rm = await defs.removeWithHttpInfo('deals', 'companies', typeId);
    assert.equal(rm.httpStatusCode, 204);
    assert.deepEqual(toIds(await v4.basicApi.getPage('deals', d, 'companies')), [], 'the label went with its associations');
    await rejects(defs.remove('deals', 'companies', typeId), 404);
  });

  it('refuses an undefined user label (400) and a bad name (400)', async () => {
    const d = await deal();
    const co = await company();
    await rejects(v4.basicApi.create('deals', d, 'companies', co, [{ associationCategory: USER_DEFINED, associationTypeId: 987654 }]), 400);
    await rejects(defs.create('deals', 'companies', { label: 'X', name: 'Not Valid!' }), 400);
  });
});
