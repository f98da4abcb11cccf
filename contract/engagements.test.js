'use strict';
// Engagements and commerce objects through their typed APIs: notes and
// tasks created with associations (HubSpot's default type ids 202 and
// 204), hs_timestamp required, line items on a deal with their computed
// amount, and products.

const assert = require('node:assert/strict');
const { describe, it, before, client, uniq, email, rejects, short } = require('./support/spoke');

const hs = client();
const HUBSPOT_DEFINED = 'HUBSPOT_DEFINED';

describe('notes and tasks', { concurrency: 1 }, () => {
  let contact;
  let deal;
  before(async () => {
    contact = (await hs.crm.contacts.basicApi.create({ properties: { email: email('eng') }, associations: [] })).id;
    deal = (await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('deal') }, associations: [] })).id;
  });

  it('notes.basicApi.create with associations links the note to the contact (202, and 201 back)', async () => {
    const info = await hs.crm.objects.notes.basicApi.createWithHttpInfo({
      properties: { hs_timestamp: '2025-06-01T12:00:00.000Z', hs_note_body: 'Met at the fair' },
      associations: [{ to: { id: contact }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 202 }] }],
    });
    assert.equal(info.httpStatusCode, 201);
    const note = info.data;
    assert.equal(note.properties.hs_note_body, 'Met at the fair');
    const got = await hs.crm.objects.notes.basicApi.getById(note.id, ['hs_note_body', 'hs_timestamp'], undefined, ['contacts']);
    assert.equal(Date.parse(got.properties.hs_timestamp), Date.parse('2025-06-01T12:00:00.000Z'));
    assert.deepEqual(got.associations.contacts.results.map((r) => String(r.id)), [String(contact)], short(got.associations));
    const back = await hs.crm.associations.v4.basicApi.getPage('contacts', contact, 'notes');
    const link = back.results.find((r) => String(r.toObjectId) === String(note.id));
    assert.ok(link, short(back));
    assert.deepEqual(link.associationTypes.map((t) => t.typeId), [201]);
  });

  it('a note without hs_timestamp is refused with 400 VALIDATION_ERROR', async () => {
    const body = await rejects(hs.crm.objects.notes.basicApi.create({ properties: { hs_note_body: 'when?' }, associations: [] }), 400, 'no hs_timestamp');
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.match(body.message, /hs_timestamp/);
  });

  it('tasks.basicApi.create with a contact and a deal, then search by status', async () => {
    const subject = uniq('task');
    const task = await hs.crm.objects.tasks.basicApi.create({
      properties: { hs_timestamp: String(Date.parse('2025-07-01T09:00:00Z')), hs_task_subject: subject, hs_task_status: 'NOT_STARTED', hs_task_priority: 'HIGH', hs_task_type: 'CALL' },
      associations: [
        { to: { id: contact }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 204 }] },
        { to: { id: deal }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 216 }] },
      ],
    });
    const fromDeal = await hs.crm.associations.v4.basicApi.getPage('deals', deal, 'tasks');
    assert.ok(fromDeal.results.some((r) => String(r.toObjectId) === String(task.id) && r.associationTypes.some((t) => t.typeId === 215)), short(fromDeal));
    const found = await hs.crm.objects.tasks.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_task_subject', operator: 'EQ', value: subject }, { propertyName: 'hs_task_status', operator: 'EQ', value: 'NOT_STARTED' }] }],
      properties: ['hs_task_subject', 'hs_task_priority'],
      limit: 10,
    });
    assert.equal(found.total, 1);
    assert.equal(found.results[0].properties.hs_task_priority, 'HIGH');
    await hs.crm.objects.tasks.basicApi.update(task.id, { properties: { hs_task_status: 'COMPLETED' } });
    await rejects(hs.crm.objects.tasks.basicApi.update(task.id, { properties: { hs_task_status: 'FINISHED' } }), 400, 'bad status');
  });

  it('a note type id on a task is refused and creates nothing', async () => {
    await rejects(
      hs.crm.objects.tasks.basicApi.create({
        properties: { hs_timestamp: '1700000000000', hs_task_subject: uniq('bad') },
        associations: [{ to: { id: contact }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 202 }] }],
      }),
      400,
      'note type on a task',
    );
  });
});

describe('line items and products', { concurrency: 1 }, () => {
  it('products: create, batch create, search by sku', async () => {
    const sku = uniq('sku');
    const p = await hs.crm.products.basicApi.create({ properties: { name: 'Widget', price: '25', hs_sku: sku, description: 'A widget' } });
    assert.equal(p.properties.hs_sku, sku);
    const batch = await hs.crm.products.batchApi.create({ inputs: [{ properties: { name: 'Gizmo', price: '5', hs_sku: `${sku}b` } }, { properties: { name: 'Doohickey', price: '7' } }] });
    assert.equal(batch.results.length, 2);
    const found = await hs.crm.products.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'hs_sku', operator: 'EQ', value: sku }] }], properties: ['name'], limit: 5 });
    assert.equal(found.total, 1);
    assert.equal(String(found.results[0].id), String(p.id));
  });

  it('line items on a deal (20, 19 back) with amount = quantity × price − discount', async () => {
    const deal = (await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('deal') }, associations: [] })).id;
    const product = await hs.crm.products.basicApi.create({ properties: { name: 'Seat', price: '40' } });
    const li = await hs.crm.lineItems.basicApi.create({
      properties: { name: 'Seats', hs_product_id: String(product.id), quantity: '3', price: '40', hs_discount_percentage: '25' },
      associations: [{ to: { id: deal }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 20 }] }],
    });
    assert.equal(li.properties.amount, '90', short(li.properties));
    assert.equal(li.properties.hs_total_discount, '30');
    const updated = await hs.crm.lineItems.basicApi.update(li.id, { properties: { quantity: '4', discount: '5' } });
    assert.equal(updated.properties.amount, '140', short(updated.properties));
    const onDeal = await hs.crm.associations.v4.basicApi.getPage('deals', deal, 'line_items');
    assert.deepEqual(onDeal.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)]), [[String(li.id), [19]]]);
    await rejects(hs.crm.lineItems.basicApi.update(li.id, { properties: { amount: '1' } }), 400, 'amount is calculated');
  });
});
