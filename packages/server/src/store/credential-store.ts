import type { Kysely } from 'kysely';
import { appendCommitted, Commits } from './commits.ts';
import type { StoreSchema } from './schema.ts';

/**
 * Per-node credentials: the sha256 of the token a node's agent was given when it first
 * registered, bound to its node id. The fleet token enrols a node once; from then on only
 * that node's own token (or an admin) speaks for it. Releasing a binding (a rebuilt node) lets
 * the next registration enrol again.
 */
export class NodeCredentialStore {
  readonly #db: Kysely<StoreSchema>;
  readonly #commits: Commits;
  readonly #byHash = new Map<string, string>();
  /** Bumped by each release: a lookup that straddled one does not cache what it read. */
  #releases = 0;

  /** `commits`: the Store's, so these events reach its commit listeners too. */
  constructor(db: Kysely<StoreSchema>, commits = new Commits()) {
    this.#db = db;
    this.#commits = commits;
  }

  /**
   * Binds a credential to a node, with a `node.enrolled` event (who enrolled which id, and when,
   * is on the record); false when the node already has one (the first enrolment wins).
   */
  async bind(nodeId: string, hash: string, at: number): Promise<boolean> {
    return this.#commits.write(this.#db, async (tx) => {
      const r = await tx.insertInto('node_credentials').values({ node_id: nodeId, hash, created_at: at })
        .onConflict((oc) => oc.column('node_id').doNothing()).executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
      await appendCommitted(tx, [{ at, type: 'node.enrolled', rollout_id: null, payload: { node: nodeId } }]);
      return true;
    });
  }

  /**
   * The node a credential belongs to. Every agent call asks (each long-poll, each metrics push),
   * so answers are kept in memory; `release` drops them, so a released credential stops working
   * at once. (One control-plane process owns the store: a release by another would not be seen.)
   */
  async nodeOf(hash: string): Promise<string | undefined> {
    const known = this.#byHash.get(hash);
    if (known !== undefined) return known;
    const releases = this.#releases;
    const row = await this.#db.selectFrom('node_credentials').select('node_id').where('hash', '=', hash).executeTakeFirst();
    if (row && releases === this.#releases) this.#byHash.set(hash, row.node_id);
    return row?.node_id;
  }

  /** The sha256 bound to a node, if it enrolled. */
  async hashOf(nodeId: string): Promise<string | undefined> {
    const row = await this.#db.selectFrom('node_credentials').select('hash').where('node_id', '=', nodeId).executeTakeFirst();
    return row?.hash;
  }

  async boundNodes(): Promise<Set<string>> {
    return new Set((await this.#db.selectFrom('node_credentials').select('node_id').execute()).map((r) => r.node_id));
  }

  /** Forgets a node's credential, with a `node.credential_released` event; false when it had none. */
  async release(nodeId: string, actor: string, at: number): Promise<boolean> {
    this.#releases++;
    const released = await this.#commits.write(this.#db, async (tx) => {
      const r = await tx.deleteFrom('node_credentials').where('node_id', '=', nodeId).executeTakeFirst();
      if (Number(r.numDeletedRows) !== 1) return false;
      await appendCommitted(tx, [{ at, type: 'node.credential_released', rollout_id: null, payload: { node: nodeId, actor } }]);
      return true;
    });
    // After the commit, and lookups in flight meanwhile do not cache (#releases): the old answer cannot come back.
    this.#releases++;
    for (const [hash, node] of this.#byHash) if (node === nodeId) this.#byHash.delete(hash);
    return released;
  }
}
