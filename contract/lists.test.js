'use strict';
// Lists v3 through crm.lists: manual (static) lists and their
// memberships, dynamic lists defined by filter branches, snapshot lists,
// names, search, delete and restore.

const assert = require('node:assert/strict');
const { describe, it, before, client, uniq, email, rejects, assertDate } = require('./support/spoke');

const hs = client();
const lists = hs.crm.lists.listsApi;
const memberships = hs.crm.lists.membershipsApi;

const city = uniq('City');
let ids;

before(async () => {
  const made = await hs.crm.contacts.batchApi.create({
    inputs: [
      { properties: { email: email('l1'), city }, associations: [] },
      { properties: { email: email('l2'), city }, associations: [] },
      { properties: { email: email('l3'), city: 'Elsewhere' }, associations: [] },
    ],
  });
  ids = made.results.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
});

const cityFilter = () => ({
  filterBranchType: 'OR',
  filters: [],
  filterBranches: [{
    filterBranchType: 'AND',
    filterBranches: [],
    filters: [{ filterType: 'PROPERTY', property: 'city', operation: { operationType: 'MULTISTRING', operator: 'IS_EQUAL_TO', values: [city] } }],
  }],
});

describe('lists', () => {
  it('a MANUAL list: create, add, read, remove members', async () => {
    const name = uniq('Static ');
    const { list } = await lists.create({ name, objectTypeId: '0-1', processingType: 'MANUAL' });
    assert.match(list.listId, /^\d+$/);
    assert.equal(list.name, name);
    assert.equal(list.processingType, 'MANUAL');
    assert.equal(list.processingStatus, 'COMPLETE');
    assert.equal(list.listVersion, 1);
    assertDate(list.createdAt, 'createdAt');

    const added = await memberships.add(list.listId, [ids[0], ids[1], '999999999']);
    assert.deepEqual([...added.recordsIdsAdded].sort(), [ids[0], ids[1]].sort());
    assert.deepEqual(added.recordIdsMissing, ['999999999']);

    const page1 = await memberships.getPage(list.listId, undefined, undefined, 1);
    assert.deepEqual(page1.results.map((m) => m.recordId), [ids[0]]);
    assertDate(page1.results[0].membershipTimestamp, 'membershipTimestamp');
    const page2 = await memberships.getPage(list.listId, page1.paging.next.after, undefined, 1);
    assert.deepEqual(page2.results.map((m) => m.recordId), [ids[1]]);

    const of = await memberships.getLists('0-1', ids[0]);
    assert.ok(of.results.some((m) => m.listId === list.listId), 'record memberships name the list');

    const changed = await memberships.addAndRemove(list.listId, { recordIdsToAdd: [ids[2]], recordIdsToRemove: [ids[0]] });
    assert.deepEqual(changed.recordsIdsAdded, [ids[2]]);
    assert.deepEqual(changed.recordIdsRemoved, [ids[0]]);

    const removed = await memberships.remove(list.listId, [ids[1]]);
    assert.deepEqual(removed.recordIdsRemoved, [ids[1]]);
    const { list: after } = await lists.getById(list.listId);
    assert.equal(after.size, 1);

    await memberships.removeAll(list.listId);
    assert.equal((await lists.getById(list.listId)).list.size, 0);
  });

  it('a DYNAMIC list holds the records meeting its filters, a SNAPSHOT those that met them', async () => {
    const { list: dyn } = await lists.create({ name: uniq('Dynamic '), objectTypeId: '0-1', processingType: 'DYNAMIC', filterBranch: cityFilter() });
    assert.equal(dyn.size, 2);
    assert.equal(dyn.filterBranch.filterBranches[0].filters[0].property, 'city');
    const { list: snap } = await lists.create({ name: uniq('Snapshot '), objectTypeId: '0-1', processingType: 'SNAPSHOT', filterBranch: cityFilter() });
    assert.equal(snap.size, 2);

    await hs.crm.contacts.basicApi.update(ids[2], { properties: { city } });
    assert.equal((await lists.getById(dyn.listId)).list.size, 3);
    assert.equal((await lists.getById(snap.listId)).list.size, 2);
    const members = await memberships.getPage(dyn.listId);
    assert.deepEqual(members.results.map((m) => m.recordId), ids);

    await rejects(memberships.add(dyn.listId, [ids[0]]), 400, 'adding to a dynamic list');

    const withFilters = await lists.getById(dyn.listId, true);
    assert.deepEqual(JSON.parse(JSON.stringify(withFilters.list.filterBranch)), cityFilter());
    const withoutFilters = await lists.getById(dyn.listId);
    assert.equal(withoutFilters.list.filterBranch, undefined);

    const narrowed = cityFilter();
    narrowed.filterBranches[0].filters.push({ filterType: 'PROPERTY', property: 'email', operation: { operationType: 'MULTISTRING', operator: 'IS_EQUAL_TO', values: [email('nobody')] } });
    const updated = await lists.updateListFilters(dyn.listId, { filterBranch: narrowed });
    assert.equal(updated.updatedList.listVersion, 2);
    assert.equal(updated.updatedList.size, 0);
    await hs.crm.contacts.basicApi.update(ids[2], { properties: { city: 'Elsewhere' } });
  });

  it('names, getAll, search, delete and restore', async () => {
    const name = uniq('Named ');
    const { list } = await lists.create({ name, objectTypeId: '0-1', processingType: 'MANUAL' });
    await rejects(lists.create({ name, objectTypeId: '0-1', processingType: 'MANUAL' }), 409, 'duplicate name');
    const byName = await lists.getByName(name, '0-1');
    assert.equal(byName.list.listId, list.listId);

    const renamed = await lists.updateName(list.listId, name + ' 2');
    assert.equal(renamed.updatedList.name, name + ' 2');
    assert.equal(renamed.updatedList.listVersion, 2);

    const all = await lists.getAll([list.listId]);
    assert.deepEqual(all.lists.map((l) => l.listId), [list.listId]);

    const found = await lists.doSearch({ query: name, processingTypes: ['MANUAL'] });
    assert.equal(found.total, 1);
    assert.equal(found.lists[0].listId, list.listId);
    assert.equal(found.hasMore, false);

    await lists.remove(list.listId);
    await rejects(lists.getById(list.listId), 404, 'deleted list');
    await lists.restore(list.listId);
    assert.equal((await lists.getById(list.listId)).list.name, name + ' 2');
  });

  it('an unknown list is a 404 and a bad processing type a 400', async () => {
    await rejects(lists.getById('987654321'), 404, 'unknown list');
    await rejects(lists.create({ name: uniq('Bad '), objectTypeId: '0-1', processingType: 'SOMETIMES' }), 400, 'bad processing type');
  });
});
