// The port contracts run against the SQLite adapters (and the directory held in memory): each test gets a
// fresh database file, reached through two connections (two adapter instances, each with its own
// better-sqlite3 connection), as two processes on one file would. Also what only SQLite has: the callback
// column at rest and the migration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SqliteApprovalLinkStore } from '../../adapters/local/approval-link-store.js';
import { approvalCallbackKey, SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { LocalDurableHost } from '../../adapters/local/durable-host.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteResultStore } from '../../adapters/local/result-store.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import { SqliteApiTokenStore, SqliteSessionStore } from '../../adapters/local/session-store.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import { SqliteQuorumTallies, SqliteStepVisits } from '../../adapters/local/step-tallies.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { SqliteWebhookDeliveryStore } from '../../adapters/local/webhook-store.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import { ACTIVITY, type ApprovalOutcome, approvalEventName } from '../../functions/core/protocol.js';
import { describeAdminDirectoryContract } from './admin-directory.contract.js';
import { describeApiTokenStoreContract } from './api-token-store.contract.js';
import { describeApprovalLinkStoreContract } from './approval-link-store.contract.js';
import { approvalRecord, describeApprovalStoreContract } from './approval-store.contract.js';
import type { Contenders } from './contenders.js';
import { describeDirectoryContract } from './directory.contract.js';
import { DECIDER, decisionEntry, describeDurableHostContract } from './durable-host.contract.js';
import { describeRateLimiterContract } from './rate-limiter.contract.js';
import { describeResultStoreContract } from './result-store.contract.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import { describeSessionStoreContract } from './session-store.contract.js';
import { describeQuorumTalliesContract, describeStepVisitsContract } from './step-tallies.contract.js';
import { describeVaultContract } from './vault.contract.js';
import { describeWebhookDeliveryStoreContract } from './webhook-delivery-store.contract.js';
import { describeWorkflowStoreContract } from './workflow-store.contract.js';

/** The audit entry a decision writes with its update. */
const DECISION_ENTRY: AuditEntry = {
  type: 'approval.decision',
  step: 'ask',
  data: {
    level: 1,
    decides: true,
    by: 'approver@example.com',
    decision: 'approve',
    comment: null,
    at: '2026-01-01T00:00:00.000Z',
    channel: 'api',
  },
};

const MASTER_KEY = new Uint8Array(32).fill(7);

/** A fresh database file; the directory goes when the test ends. */
function databaseFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-contract-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'stepgate.db');
}

/** Two connections to one fresh database file, each wrapped by `adapter`. */
function twoConnections<T>(adapter: (db: Db) => T): Contenders<T> {
  const file = databaseFile();
  const dbs = [openDatabase(file), openDatabase(file)];
  return {
    connections: dbs.map(adapter),
    close: () => {
      for (const db of dbs) db.close();
    },
  };
}

describeApprovalStoreContract('SQLite', () =>
  twoConnections((db) => new SqliteApprovalStore(db, { callbackKey: approvalCallbackKey(MASTER_KEY) })),
);
describeWebhookDeliveryStoreContract('SQLite', (time) =>
  twoConnections((db) => new SqliteWebhookDeliveryStore(db, { now: () => time.at })),
);
describeScheduleStoreContract('SQLite', () => twoConnections((db) => new SqliteScheduleStore(db)));
describeApprovalLinkStoreContract('SQLite', () => twoConnections((db) => new SqliteApprovalLinkStore(db)));
describeRateLimiterContract('SQLite', () => twoConnections((db) => new SqliteRateLimiter(db)));
describeVaultContract('SQLite', () => twoConnections((db) => new SqliteVault(db, MASTER_KEY)));
describeResultStoreContract('SQLite', () => twoConnections((db) => new SqliteResultStore(db)));
describeWorkflowStoreContract('SQLite', () => twoConnections((db) => new SqliteWorkflowStore(db)));
describeSessionStoreContract('SQLite', (time) =>
  twoConnections((db) => new SqliteSessionStore(db, { now: () => time.at })),
);
describeApiTokenStoreContract('SQLite', (time) =>
  twoConnections((db) => new SqliteApiTokenStore(db, { now: () => time.at })),
);
describeDirectoryContract('in memory', (users) => new InMemoryDirectory(users));
describeDirectoryContract('SQLite', async (users) => {
  const db = openDatabase(databaseFile());
  onTestFinished(() => {
    db.close();
  });
  const directory = new SqliteDirectory(db);
  for (const user of users) await directory.upsertUser(user);
  return directory;
});
describeAdminDirectoryContract('SQLite', () => twoConnections((db) => new SqliteDirectory(db)));
describeStepVisitsContract('SQLite', () => twoConnections((db) => new SqliteStepVisits(db)));
describeQuorumTalliesContract('SQLite', () => twoConnections((db) => new SqliteQuorumTallies(db)));
describeDurableHostContract(
  'SQLite',
  () => {
    const db = openDatabase(databaseFile());
    onTestFinished(() => {
      db.close();
    });
    // The approval activities as the platform's: the request goes to the contract's decider.
    const activities = {
      [ACTIVITY.approvalRequest]: async () => ({ approvers: [DECIDER] }),
      [ACTIVITY.approvalClose]: async () => null,
    };
    return new LocalDurableHost({ db, clock: new VirtualClock(), activities });
  },
  async (host, runId, decision) => {
    const local = host as LocalDurableHost;
    await local.idle(); // the request has been made: the run waits on the decision
    local.recordAudit(runId, decisionEntry(decision));
    const outcome: ApprovalOutcome = {
      approved: decision === 'approve',
      decidedBy: DECIDER,
      comment: null,
      decisions: [],
    };
    await local.raiseEvent(runId, approvalEventName('ask', 1, 1), outcome);
  },
);

describe('the SQLite approval store at rest', () => {
  const callback = 'arn:aws:states:task-token:AAAAKgAAAAIAAAAAAAAAAd9vSECRET';

  it('keeps the callback handle encrypted, bound to its row', async () => {
    const file = databaseFile();
    const db = openDatabase(file);
    onTestFinished(() => {
      db.close();
    });
    const store = new SqliteApprovalStore(db, { callbackKey: approvalCallbackKey(MASTER_KEY) });
    await store.create(approvalRecord({ callback }));
    const raw = db.prepare<[], { callback: Buffer }>('SELECT callback FROM approvals').get();
    expect(raw?.callback).toBeInstanceOf(Buffer);
    expect(raw?.callback.toString('latin1')).not.toContain('SECRET');
    expect(raw?.callback.toString('latin1')).not.toContain('task-token');
    // Moved to another request's row, the ciphertext no longer opens.
    await store.create(approvalRecord({ level: 2 }));
    db.prepare('UPDATE approvals SET callback = ? WHERE level = 2').run(raw?.callback);
    await expect(store.get('r1', 'ask', 1, 2)).rejects.toThrow(
      /cannot decrypt the callback handle of approval r1\/ask level 2/,
    );
    expect((await store.get('r1', 'ask', 1, 1))?.callback).toBe(callback);
  });

  it('opens no callback under another key, and says so without the handle', async () => {
    const db = openDatabase(databaseFile());
    onTestFinished(() => {
      db.close();
    });
    await new SqliteApprovalStore(db, { callbackKey: approvalCallbackKey(MASTER_KEY) }).create(
      approvalRecord({ callback }),
    );
    const otherKey = new SqliteApprovalStore(db, { callbackKey: approvalCallbackKey(new Uint8Array(32)) });
    await expect(otherKey.get('r1', 'ask', 1, 1)).rejects.toThrow(
      /the key is not the one it was stored with/,
    );
    await expect(otherKey.get('r1', 'ask', 1, 1)).rejects.not.toThrow(/SECRET/);
  });

  it('refuses to store a callback handle when it was given no key, and stores nothing', async () => {
    const db = openDatabase(databaseFile());
    onTestFinished(() => {
      db.close();
    });
    const store = new SqliteApprovalStore(db);
    await expect(store.create(approvalRecord({ callback }))).rejects.toThrow(/no key to encrypt it/);
    expect(await store.get('r1', 'ask', 1, 1)).toBeUndefined();
    expect(await store.create(approvalRecord())).toBe(true);
    expect((await store.get('r1', 'ask', 1, 1))?.callback).toBeNull();
  });

  it('writes an update and its audit entry together: a failed audit write leaves the update unwritten', async () => {
    const db = openDatabase(databaseFile());
    onTestFinished(() => {
      db.close();
    });
    const trail: string[] = [];
    let failNext = true;
    const store = new SqliteApprovalStore(db, {
      recordAudit: (runId, entry) => {
        if (failNext) throw new Error('audit trail unavailable');
        trail.push(`${runId}:${entry.type}`);
      },
    });
    await store.create(approvalRecord());
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not stored');
    const entry = DECISION_ENTRY;

    await expect(store.update({ ...read, status: 'approved' }, entry)).rejects.toThrow(/unavailable/);
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', version: 1 });

    failNext = false;
    expect(await store.update({ ...read, status: 'approved' }, entry)).toMatchObject({ version: 2 });
    expect(await store.update({ ...read, status: 'rejected' }, entry)).toBeUndefined();
    expect(trail).toEqual(['r1:approval.decision']);
  });

  it('refuses an update that carries an audit entry when it has no audit trail, and writes nothing', async () => {
    const db = openDatabase(databaseFile());
    onTestFinished(() => {
      db.close();
    });
    const store = new SqliteApprovalStore(db);
    await store.create(approvalRecord());
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not stored');
    await expect(store.update({ ...read, status: 'approved' }, DECISION_ENTRY)).rejects.toThrow(
      /no audit trail/,
    );
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', version: 1 });
  });

  it('gives a database made before versions its version and callback columns, existing rows at version 1', async () => {
    const file = databaseFile();
    const old = new Database(file);
    old.exec(`CREATE TABLE approvals (
      run_id TEXT NOT NULL, step_id TEXT NOT NULL, visit INTEGER NOT NULL, level INTEGER NOT NULL,
      workflow_id TEXT NOT NULL, event_name TEXT NOT NULL, approvers TEXT NOT NULL, require TEXT NOT NULL,
      message TEXT NOT NULL, requested_by TEXT NOT NULL, requesters TEXT NOT NULL DEFAULT '[]',
      allow_self_approval INTEGER NOT NULL DEFAULT 0, deadline INTEGER, status TEXT NOT NULL,
      decisions TEXT NOT NULL, created_at INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (run_id, step_id, visit, level)) WITHOUT ROWID`);
    old
      .prepare(
        `INSERT INTO approvals VALUES ('r1', 'ask', 1, 1, 'w', 'approval:ask:1:1', '["bob@example.com"]', '"any"',
           'ok?', 'alice@example.com', '["alice@example.com"]', 0, NULL, 'open', '[]', 1000, 0)`,
      )
      .run();
    old.close();
    const db = openDatabase(file);
    onTestFinished(() => {
      db.close();
    });
    const store = new SqliteApprovalStore(db);
    const record = await store.get('r1', 'ask', 1, 1);
    expect(record).toMatchObject({ version: 1, callback: null, status: 'open' });
    if (record === undefined) throw new Error('row lost');
    expect(await store.update({ ...record, status: 'closed' })).toMatchObject({ version: 2 });
    expect(await store.update({ ...record, status: 'approved' })).toBeUndefined();
  });
});
