// The WAL checkpointer thread: while it runs, the committing connection does not checkpoint (its
// auto-checkpoint is off) and the pages still reach the database file, copied by the thread; stopping it
// brings the connection's own auto-checkpoint back.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, startWalCheckpointer } from '../../adapters/local/database.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const until = async (what: string, probe: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('startWalCheckpointer', () => {
  it('copies committed pages into the database file from its own thread, then hands back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-wal-'));
    dirs.push(dir);
    const file = join(dir, 'db.sqlite');
    const db = openDatabase(file);
    db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const checkpointer = startWalCheckpointer(db, file, { intervalMs: 50 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(file).size;
    const insert = db.prepare('INSERT INTO blobs (data) VALUES (?)');
    // ~6 MB: well past the connection's own threshold, so it would have checkpointed by itself.
    db.transaction(() => {
      for (let i = 0; i < 1_500; i++) insert.run(Buffer.alloc(4_096, i % 256));
    })();
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(6_000_000);
    await until('the thread to copy the pages', () => statSync(file).size > before + 6_000_000);
    await checkpointer.stop();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    expect(db.prepare('SELECT count(*) AS n FROM blobs').get()).toEqual({ n: 1_500 });
    db.close();
  });
});
