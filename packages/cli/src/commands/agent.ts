import { Agent } from '@failsmall/agent';
import { pino } from 'pino';
import { EXIT } from '../exit-codes.ts';
import { parseLabels } from './common.ts';
import { syntheticTraffic } from '../traffic.ts';

export interface AgentCliOpts {
  server?: string;
  token?: string;
  nodeId: string;
  labels?: string;
  modules?: string;
  dir?: string;
  reload?: string[];
  pollWait?: string;
  metricsInterval?: string;
  syntheticTraffic?: string;
  syntheticErrorRate?: string;
}

/** `failsmall agent --server URL --node-id ID --labels k=v,...`: runs until SIGINT/SIGTERM. */
export async function agent(o: AgentCliOpts): Promise<number> {
  const token = o.token ?? process.env.FAILSMALL_TOKEN;
  if (!token) {
    process.stderr.write('error: the agent needs a token [UNAUTHENTICATED]\n  hint: failsmall token create --name fleet --role agent, then pass --token or set FAILSMALL_TOKEN\n');
    return EXIT.USAGE;
  }
  const reload: Record<string, string> = {};
  for (const r of o.reload ?? []) {
    const eq = r.indexOf('=');
    if (eq <= 0) { process.stderr.write(`error: bad --reload "${r}": use MODULE=COMMAND [USAGE]\n`); return EXIT.USAGE; }
    reload[r.slice(0, eq)] = r.slice(eq + 1);
  }
  const log = pino({ level: 'info', base: { node: o.nodeId } }, pino.destination(2));
  const modules = o.modules ? o.modules.split(',').map((m) => m.trim()).filter(Boolean) : [];
  const rps = o.syntheticTraffic ? Number(o.syntheticTraffic) : 0;
  const metricsIntervalMs = o.metricsInterval ? Number(o.metricsInterval) : 5000;
  const a = new Agent({
    server: o.server ?? process.env.FAILSMALL_SERVER ?? 'http://127.0.0.1:7070',
    nodeId: o.nodeId, labels: parseLabels(o.labels), modules, token, reload,
    dir: o.dir ?? `.failsmall/agent-${o.nodeId}`,
    pollWaitMs: o.pollWait ? Number(o.pollWait) : 30_000,
    metricsIntervalMs,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
    ...(rps > 0 ? { onInterval: syntheticTraffic({ rps, intervalMs: metricsIntervalMs, errorRate: Number(o.syntheticErrorRate ?? '0.001'), modules: modules.length ? modules : ['default'], seed: o.nodeId }) } : {}),
  });
  await a.start();
  log.info(`agent ${o.nodeId} started; serving from ${o.dir ?? `.failsmall/agent-${o.nodeId}`}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await a.stop();
  return EXIT.OK;
}
