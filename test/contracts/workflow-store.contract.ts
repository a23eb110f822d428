// The WorkflowStore contract (functions/core/ports.ts), written once and run against every adapter: every
// save is a new version (versions kept, the latest answers), a delete hides the workflow but keeps its
// versions, and racing saves of one workflow each get a version of their own.
import { describe, expect, it } from 'vitest';
import type { WorkflowStore } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

/** A valid definition of workflow `id` (its name says which edit it is). */
function definition(id: string, name = 'First'): { ir: IrWorkflow; source: string } {
  const source = `version: 1
id: ${id}
name: ${name}
triggers:
  - type: manual
steps:
  - id: go
    type: tool
    tool: supplies
`;
  const { ir, diagnostics } = validateWorkflow(source, 'yaml');
  if (ir === undefined) throw new Error(JSON.stringify(diagnostics));
  return { ir, source };
}

const save = (store: WorkflowStore, id: string, name = 'First', at = 1_000, by = 'lead@example.com') =>
  store.save({ ...definition(id, name), format: 'yaml', by, at });

/** The contract of `WorkflowStore`; `make` gives adapters over one fresh store. */
export function describeWorkflowStoreContract(
  name: string,
  make: () => Contenders<WorkflowStore> | Promise<Contenders<WorkflowStore>>,
): void {
  describe(`WorkflowStore contract: ${name}`, () => {
    it('stores a new workflow as version 1, as written, readable from any connection', async () => {
      const [store, other] = await fresh(make);
      const { ir, source } = definition('supplies');
      expect(
        await store.save({ ir, source, format: 'yaml', by: 'lead@example.com', at: 1_000 }),
      ).toMatchObject({
        id: 'supplies',
        version: 1,
      });
      expect(await other.get('supplies')).toEqual({
        id: 'supplies',
        version: 1,
        name: 'First',
        format: 'yaml',
        source,
        ir,
        createdAt: 1_000,
        createdBy: 'lead@example.com',
      });
    });

    it('makes every save a new version: the latest answers, history keeps them all, oldest first', async () => {
      const [store, other] = await fresh(make);
      await save(store, 'supplies', 'First', 1_000);
      expect(await save(other, 'supplies', 'Second', 2_000, 'admin@example.com')).toMatchObject({
        version: 2,
      });
      expect(await store.get('supplies')).toMatchObject({
        version: 2,
        name: 'Second',
        createdBy: 'admin@example.com',
      });
      expect((await store.history('supplies')).map((w) => [w.version, w.name, w.createdAt])).toEqual([
        [1, 'First', 1_000],
        [2, 'Second', 2_000],
      ]);
    });

    it('lists the latest version of every workflow, by id', async () => {
      const [store] = await fresh(make);
      await save(store, 'zeta');
      await save(store, 'alpha');
      await save(store, 'alpha', 'Alpha two');
      expect((await store.list()).map((w) => [w.id, w.version, w.name])).toEqual([
        ['alpha', 2, 'Alpha two'],
        ['zeta', 1, 'First'],
      ]);
    });

    it('answers undefined, nothing and false for a workflow it does not have', async () => {
      const [store] = await fresh(make);
      expect(await store.get('nothing')).toBeUndefined();
      expect(await store.history('nothing')).toEqual([]);
      expect(await store.delete('nothing')).toBe(false);
      expect(await store.list()).toEqual([]);
    });

    it('hides a deleted workflow but keeps its versions; deleting it again answers false', async () => {
      const [store, other] = await fresh(make);
      await save(store, 'supplies');
      await save(store, 'other');
      expect(await other.delete('supplies')).toBe(true);
      expect(await store.get('supplies')).toBeUndefined();
      expect((await store.list()).map((w) => w.id)).toEqual(['other']);
      expect((await store.history('supplies')).map((w) => w.version)).toEqual([1]);
      expect(await store.delete('supplies')).toBe(false);
    });

    it('shows a workflow saved again after a delete, under a version after the kept ones', async () => {
      const [store] = await fresh(make);
      await save(store, 'supplies');
      await store.delete('supplies');
      const saved = await save(store, 'supplies', 'Back');
      expect(saved.version).toBe(2);
      expect(await store.get('supplies')).toMatchObject({ version: 2, name: 'Back' });
      expect((await store.list()).map((w) => w.id)).toEqual(['supplies']);
    });

    it('gives each of many concurrent saves of one workflow a version of its own', async () => {
      const stores = await fresh(make);
      const outcomes = await race(8, (i) => save(connectionFor(stores, i), 'supplies', `Edit ${i}`));
      const versions = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value.version;
      });
      expect([...versions].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(await stores[1].history('supplies')).toHaveLength(8);
      expect((await stores[0].get('supplies'))?.version).toBe(8);
    });
  });
}
