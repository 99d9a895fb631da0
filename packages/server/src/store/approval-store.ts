import type { Kysely } from 'kysely';
import type { DependencyFinding, GateApproval } from '@failsmall/core';
import { appendCommitted, Commits } from './commits.ts';
import type { GateApprovalRow, StoreSchema } from './schema.ts';

/**
 * Dependency-gate approvals: who (by their own token) approved which version past the gate,
 * against which findings, until when, and which rollout spent it. The same queries on SQLite
 * and PostgreSQL. A rollout spends its approval in the transaction that creates it
 * (`Store.createRollout(…, { spendApproval })`).
 */
export class ApprovalStore {
  readonly #db: Kysely<StoreSchema>;
  readonly #commits: Commits;

  /** `commits`: the Store's, so these events reach its commit listeners too. */
  constructor(db: Kysely<StoreSchema>, commits = new Commits()) {
    this.#db = db;
    this.#commits = commits;
  }

  /** Records an approval and its `approval.created` event, in one transaction. */
  async create(a: GateApproval): Promise<GateApproval> {
    await this.#commits.write(this.#db, async (tx) => {
      await tx.insertInto('gate_approvals').values({ ...a, findings: JSON.stringify(a.findings) }).execute();
      await appendCommitted(tx, [{
        at: a.created_at, type: 'approval.created', rollout_id: null,
        payload: { id: a.id, gate: 'dependency', artifact: a.artifact, version: a.version, from_version: a.from_version, approver: a.approver, reason: a.reason, expires_at: a.expires_at, findings: a.findings },
      }]);
    });
    return a;
  }

  /** Every approval made for this version, newest first. */
  async forVersion(artifact: string, version: string): Promise<GateApproval[]> {
    const rows = await this.#db.selectFrom('gate_approvals').selectAll()
      .where('artifact', '=', artifact).where('version', '=', version).orderBy('created_at', 'desc').orderBy('id').execute();
    return rows.map(toApproval);
  }

  async list(filter: { artifact?: string; limit?: number } = {}): Promise<GateApproval[]> {
    let q = this.#db.selectFrom('gate_approvals').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(filter.limit ?? 100);
    if (filter.artifact !== undefined) q = q.where('artifact', '=', filter.artifact);
    return (await q.execute()).map(toApproval);
  }
}

function toApproval(r: GateApprovalRow): GateApproval {
  return {
    id: r.id, artifact: r.artifact, version: r.version, from_version: r.from_version,
    findings: JSON.parse(r.findings) as DependencyFinding[], digest: r.digest, approver: r.approver, reason: r.reason,
    created_at: Number(r.created_at), expires_at: Number(r.expires_at), used_by: r.used_by, used_at: r.used_at === null ? null : Number(r.used_at),
  };
}
