import http from 'node:http';
import { formatAdminAddress, type DrillReadiness, type InventoryNode } from '@failsmall/core';

/** What became of the command on one node. */
export interface NodeOutcome {
  readonly node: string;
  readonly address: string;
  /** confirmed: the agent carried it out; refused: it answered no; unreachable / timeout: no answer. */
  readonly outcome: 'confirmed' | 'refused' | 'unreachable' | 'timeout';
  readonly status?: number;
  readonly code?: string;
  readonly message: string;
  readonly result?: readonly { artifact: string; serving: string | null; state: string }[];
  /** A drill's answer: whether lkg and kill-switch would work, per artifact. */
  readonly drill?: readonly DrillReadiness[];
  /** The node's clock (as the command arrived) minus ours at the middle of the round trip (ms), when it answered. */
  readonly skew_ms?: number;
  readonly ms: number;
}

export interface FanoutOptions {
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Called as each node finishes, in completion order. */
  readonly onDone?: (o: NodeOutcome, done: number, total: number) => void;
}

/**
 * Sends one request per node to its agent's admin endpoint, at most `concurrency` at a time.
 * No control plane, no shared client state: each node is a separate connection with its own
 * timeout, so a dead node costs one timeout, not the run.
 */
export async function fanOut(nodes: readonly InventoryNode[], request: (n: InventoryNode) => { method: string; path: string; body?: string }, o: FanoutOptions): Promise<NodeOutcome[]> {
  const results = new Array<NodeOutcome>(nodes.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < nodes.length) {
      const i = next++;
      const n = nodes[i] as InventoryNode;
      const r = await send(n, request(n), o.timeoutMs);
      results[i] = r;
      done++;
      o.onDone?.(r, done, nodes.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, nodes.length)) }, worker));
  return results;
}

function send(n: InventoryNode, r: { method: string; path: string; body?: string }, timeoutMs: number): Promise<NodeOutcome> {
  const started = Date.now();
  const address = formatAdminAddress(n.admin);
  const finish = (o: Omit<NodeOutcome, 'node' | 'address' | 'ms'>): NodeOutcome => ({ node: n.id, address, ...o, ms: Date.now() - started });
  return new Promise((resolve) => {
    const target = n.admin.kind === 'unix' ? { socketPath: n.admin.path } : { host: n.admin.host, port: n.admin.port };
    const req = http.request({ ...target, method: r.method, path: r.path, agent: false, headers: { 'content-type': 'application/json', ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => { size += c.length; if (size <= 4 * 1024 * 1024) chunks.push(c); });
      res.on('end', () => {
        clearTimeout(timer);
        let body: { error?: { code?: string; message?: string }; message?: string; result?: NodeOutcome['result'] } & Record<string, unknown> = {};
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body; } catch { /* not JSON: reported below */ }
        const status = res.statusCode ?? 0;
        // The node stamps its answer with its clock as the command arrived: against the middle of the round trip, its skew.
        const nodeNow = typeof body.now === 'string' ? Date.parse(body.now) : Number.NaN;
        const skew = Number.isNaN(nodeNow) ? {} : { skew_ms: nodeNow - (started + (Date.now() - started) / 2) };
        if (status >= 200 && status < 300) {
          const drill = Array.isArray(body.drill) ? { drill: body.drill as DrillReadiness[] } : {};
          resolve(finish({ outcome: 'confirmed', status, message: typeof body.message === 'string' ? body.message : 'ok', ...(body.result ? { result: body.result } : {}), ...drill, ...skew, ...(r.method === 'GET' ? { detail: body } : {}) } as NodeOutcome));
        } else {
          resolve(finish({ outcome: 'refused', status, code: body.error?.code ?? `HTTP_${status}`, message: body.error?.message ?? `HTTP ${status}`, ...(body.result ? { result: body.result } : {}), ...skew }));
        }
      });
      res.on('error', (err) => { clearTimeout(timer); resolve(finish({ outcome: 'unreachable', message: err.message })); });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(finish({ outcome: 'timeout', message: `no answer within ${timeoutMs} ms` }));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(finish({ outcome: 'unreachable', code: err.code ?? 'ERROR', message: err.code === 'ECONNREFUSED' ? 'connection refused (is the agent running, with --breakglass-public-key?)' : err.message }));
    });
    if (r.body) req.write(r.body);
    req.end();
  });
}
