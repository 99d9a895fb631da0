/**
 * A private PostgreSQL 15 cluster for the tests that must stop, crash or replicate the database
 * (the shared one on 5432 serves every other test file running at the same time): `initdb` in a
 * temporary folder, run as the `postgres` user (the server refuses root), trust auth on loopback,
 * and a streaming replica made the way an operator makes one, with `pg_basebackup -R`.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './procs.ts';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export class PgCluster {
  readonly dir: string;
  readonly port: number;
  readonly #data: string;
  readonly #log: string;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    this.#data = join(dir, 'data');
    this.#log = join(dir, 'postgres.log');
  }

  /** A new primary on a free port, started. */
  static async primary(): Promise<PgCluster> {
    const c = await PgCluster.#prepare();
    await c.#as(`${BIN}/initdb`, ['-D', c.#data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await c.start();
    return c;
  }

  /** A hot standby of `primary`, streaming from it (pg_basebackup -R writes standby.signal and the conninfo). */
  static async standbyOf(primary: PgCluster): Promise<PgCluster> {
    const c = await PgCluster.#prepare();
    await c.#as(`${BIN}/pg_basebackup`, ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', c.#data, '-R', '-X', 'stream', '--no-sync']);
    await c.start();
    return c;
  }

  static async #prepare(): Promise<PgCluster> {
    if (!existsSync(`${BIN}/initdb`)) throw new Error(`PostgreSQL 15's server binaries are needed in ${BIN} (Debian: apt-get install -y postgresql-15)`);
    const dir = mkdtempSync(join(tmpdir(), 'failsmall-pg-'));
    const c = new PgCluster(dir, await freePort());
    if (userInfo().uid === 0) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
    return c;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await this.#as(`${BIN}/pg_ctl`, ['-D', this.#data, '-l', this.#log, '-o', opts, '-w', '-t', '60', 'start']);
  }

  /** `immediate` is a crash (no checkpoint, every connection cut); `fast` a clean stop. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#as(`${BIN}/pg_ctl`, ['-D', this.#data, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  async sql(query: string, database = 'postgres'): Promise<string> {
    return (await run('psql', ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', database, '-c', query])).stdout.trim();
  }

  log(): string {
    try { return readFileSync(this.#log, 'utf8'); } catch { return ''; }
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #as(bin: string, args: readonly string[]): Promise<void> {
    const [cmd, argv] = userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, [...args]];
    try {
      await run(cmd, argv, { cwd: this.dir });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${bin.split('/').pop()} ${args.join(' ')} failed: ${e.stderr ?? e.message}\n${this.log().slice(-2000)}`);
    }
  }
}
