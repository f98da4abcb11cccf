'use strict';
// Companies, deals and tickets: basic CRUD, paging and batch through their
// typed APIs, and the generic crm.objects API addressed by name and by
// objectTypeId (0-1, 0-2, 0-3, 0-5).

const assert = require('node:assert/strict');
const { describe, it, client, uniq, email, rejects, ids, sorted, assertDate, short, sameInstant } = require('./support/spoke');

const hs = client();

const types = [
  {
    name: 'companies',
    typeId: '0-2',
    api: hs.crm.companies,
    create: () => ({ name: uniq('acme'), domain: `${uniq('d')}.example`, numberofemployees: '42', annualrevenue: '1000000' }),
    update: { numberofemployees: '43' },
    check: 'numberofemployees',
  },
  {
    name: 'deals',
    typeId: '0-3',
    api: hs.crm.deals,
    create: () => ({ dealname: uniq('deal'), amount: '1500.25', pipeline: 'default', dealstage: 'appointmentscheduled', closedate: '2026-03-01T00:00:00.000Z' }),
    update: { amount: '2000' },
    check: 'amount',
  },
  {
    name: 'tickets',
    typeId: '0-5',
    api: hs.crm.tickets,
    create: () => ({ subject: uniq('ticket'), content: 'printer on fire', hs_pipeline_stage: '1', hs_ticket_priority: 'HIGH' }),
    update: { content: 'printer no longer on fire' },
    check: 'content',
  },
];

for (const t of types) {
  describe(`${t.name} basic CRUD`, { concurrency: 1 }, () => {
    it('create → 201, getById, update, archive → 204, then 404', async () => {
      const props = t.create();
      const info = await t.api.basicApi.createWithHttpInfo({ properties: props, associations: [] });
      assert.equal(info.httpStatusCode, 201);
      const obj = info.data;
      assert.match(String(obj.id), /^\d+$/);
      for (const [k, v] of Object.entries(props)) {
        if (k === 'closedate') continue; // datetime rendering is checked below
        assert.equal(obj.properties[k], v, `create echoes ${k}: ${short(obj.properties)}`);
      }
      assertDate(obj.createdAt, 'createdAt');

      const got = await t.api.basicApi.getById(obj.id, Object.keys(props));
      assert.equal(got.id, obj.id);
      for (const [k, v] of Object.entries(props)) {
        if (k === 'closedate') {
          const ms = Date.parse(v);
          const gv = got.properties[k];
          assert.ok(sameInstant(gv, ms), `closedate round-trip: ${gv}`);
          continue;
        }
        assert.equal(got.properties[k], v, `getById ${k}`);
      }
      assert.equal(String(got.properties.hs_object_id), obj.id);

      const upd = await t.api.basicApi.update(obj.id, { properties: t.update });
      assert.equal(upd.id, obj.id);
      assert.equal(upd.properties[t.check], t.update[t.check]);
      const again = await t.api.basicApi.getById(obj.id, [t.check]);
      assert.equal(again.properties[t.check], t.update[t.check]);

      assert.equal(await t.api.basicApi.archive(obj.id), undefined);
      const body = await rejects(t.api.basicApi.getById(obj.id), 404, `${t.name} getById archived`);
      assert.equal(body.category, 'OBJECT_NOT_FOUND');
    });

    it('getById of a missing id → 404 OBJECT_NOT_FOUND', async () => {
      const body = await rejects(t.api.basicApi.getById('987654321094'), 404, `${t.name} missing`);
      assert.equal(body.category, 'OBJECT_NOT_FOUND');
    });

    it('getPage pages; batch create / read / update / archive', async () => {
      const info = await t.api.batchApi.createWithHttpInfo({ inputs: [{ properties: t.create() }, { properties: t.create() }, { properties: t.create() }] });
      assert.equal(info.httpStatusCode, 201);
      const made = info.data.results.map((r) => r.id);
      assert.equal(made.length, 3);

      const page = await t.api.basicApi.getPage(2);
      assert.equal(page.results.length, 2);
      assert.ok(page.paging && page.paging.next && page.paging.next.after);

      const all = await t.api.getAll(100);
      const seen = new Set(all.map((r) => r.id));
      assert.equal(seen.size, all.length, 'getAll without duplicates');
      for (const id of made) assert.ok(seen.has(id), `getAll lost ${id}`);

      const read = await t.api.batchApi.readWithHttpInfo({ inputs: made.map((id) => ({ id })), properties: [t.check] });
      assert.equal(read.httpStatusCode, 200);
      assert.deepEqual(ids(read.data.results), sorted(made));

      const up = await t.api.batchApi.updateWithHttpInfo({ inputs: made.map((id) => ({ id, properties: t.update })) });
      assert.equal(up.httpStatusCode, 200);
      for (const r of up.data.results) assert.equal(r.properties[t.check], t.update[t.check]);

      const arch = await t.api.batchApi.archiveWithHttpInfo({ inputs: made.map((id) => ({ id })) });
      assert.equal(arch.httpStatusCode, 204);
      const after = await t.api.batchApi.readWithHttpInfo({ inputs: made.map((id) => ({ id })) });
      assert.equal(after.httpStatusCode, 207);
      assert.equal(after.data.results.length, 0);
    });

    it(`search works on ${t.name}`, async () => {
      const props = t.create();
      const obj = await t.api.basicApi.create({ properties: props });
      const res = await t.api.searchApi.doSearch({
        filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: obj.id }] }],
        properties: [t.check],
      });
      assert.equal(res.total, 1);
      assert.equal(res.results[0].id, obj.id);
      assert.equal(res.results[0].properties[t.check], props[t.check]);
    });

    it(`generic crm.objects API by name and by objectTypeId ${t.typeId}`, async () => {
      const props = t.create();
      const byId = await hs.crm.objects.basicApi.create(t.typeId, { properties: props, associations: [] });
      const viaName = await hs.crm.objects.basicApi.getById(t.name, byId.id, [t.check]);
      assert.equal(viaName.id, byId.id);
      assert.equal(viaName.properties[t.check], props[t.check]);
      const viaTypedApi = await t.api.basicApi.getById(byId.id, [t.check]);
      assert.equal(viaTypedApi.id, byId.id);
      const viaTypeId = await hs.crm.objects.basicApi.getById(t.typeId, byId.id, [t.check]);
      assert.equal(viaTypeId.id, byId.id);
    });
  });
}

describe('contacts through the generic objects API (0-1)', { concurrency: 1 }, () => {
  it('create, get, search and archive by objectTypeId', async () => {
    const addr = email('obj');
    const c = await hs.crm.objects.basicApi.create('0-1', { properties: { email: addr }, associations: [] });
    const got = await hs.crm.contacts.basicApi.getById(c.id, ['email']);
    assert.equal(got.properties.email, addr);
    const res = await hs.crm.objects.searchApi.doSearch('0-1', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: addr }] }],
    });
    assert.equal(res.total, 1);
    assert.equal(res.results[0].id, c.id);
    assert.equal(await hs.crm.objects.basicApi.archive('0-1', c.id), undefined);
    await rejects(hs.crm.contacts.basicApi.getById(c.id), 404, 'archived via 0-1');
  });

  it('an unknown object type → 400 or 404 naming it', async () => {
    const name = uniq('nosuchobject');
    const body = await rejects(hs.crm.objects.basicApi.getPage(name, 10), [400, 404], 'unknown object type');
    assert.ok(body.message.includes(name), `message should name ${name}: ${body.message}`);
  });
});
