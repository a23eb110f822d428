// Accepted webhook deliveries on the embedded engine's SQLite database (table `webhook_deliveries`). A claim
// is one IMMEDIATE transaction — INSERT OR IGNORE, then SELECT — so concurrent claims of one delivery, from
// this connection or from another process on the same file, all see the run id of the first.
import type { Clock, WebhookClaim, WebhookDeliveryStore } from '../../functions/core/ports.js';
import type { Db } from './database.js';

export class SqliteWebhookDeliveryStore implements WebhookDeliveryStore {
  private readonly claimTransaction: (workflowId: string, deliveryId: string, runId: string) => WebhookClaim;
  private readonly pruneStatement;

  constructor(
    db: Db,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    const insert = db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO webhook_deliveries (workflow_id, delivery_id, run_id, created_at) VALUES (?, ?, ?, ?)',
    );
    const select = db.prepare<[string, string], { run_id: string }>(
      'SELECT run_id FROM webhook_deliveries WHERE workflow_id = ? AND delivery_id = ?',
    );
    const claim = db.transaction((workflowId: string, deliveryId: string, runId: string): WebhookClaim => {
      const inserted = insert.run(workflowId, deliveryId, runId, this.clock.now()).changes === 1;
      const row = select.get(workflowId, deliveryId);
      if (row === undefined) throw new Error(`webhook delivery ${deliveryId} vanished during its claim`);
      return { runId: row.run_id, existing: !inserted };
    });
    this.claimTransaction = (workflowId, deliveryId, runId) => claim.immediate(workflowId, deliveryId, runId);
    this.pruneStatement = db.prepare<[number]>('DELETE FROM webhook_deliveries WHERE created_at < ?');
  }

  async claim(workflowId: string, deliveryId: string, runId: string): Promise<WebhookClaim> {
    return this.claimTransaction(workflowId, deliveryId, runId);
  }

  async prune(before: number): Promise<number> {
    return this.pruneStatement.run(before).changes;
  }
}
