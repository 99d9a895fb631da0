/**
 * The control plane for bench/propagation.ts, run as its own process (as a user would run
 * `failsmall serve`): the real `startServer` on 127.0.0.1, port 0, SQLite in the given dir.
 * It tells its parent its URL and admin token over IPC, and on request reports its own CPU
 * time and event-loop delay, so that the benchmark can say how busy the server was.
 *
 *   node --import tsx bench/propagation-server.ts DIR     (started by bench/propagation.ts)
 */
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startServer } from '../packages/server/src/serve.ts';

const dir = process.argv[2];
if (!dir || !process.send) {
  process.stderr.write('usage: started by bench/propagation.ts with a directory and an IPC channel\n');
  process.exit(2);
}

const server = await startServer({ store: `sqlite:${join(dir, 'failsmall.db')}`, host: '127.0.0.1', port: 0, maxWaitMs: 60_000 });
let delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
let cpu = process.cpuUsage();
let elu = performance.eventLoopUtilization();

process.send({ type: 'ready', url: server.url, adminToken: server.adminToken });

process.on('message', (m: { type: string }) => {
  if (m.type === 'stats-reset') {
    delay.disable();
    delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    cpu = process.cpuUsage();
    elu = performance.eventLoopUtilization();
    process.send?.({ type: 'stats-reset' });
  } else if (m.type === 'stats') {
    const c = process.cpuUsage(cpu);
    const u = performance.eventLoopUtilization(elu);
    process.send?.({
      type: 'stats',
      cpu_ms: Math.round((c.user + c.system) / 1000),
      event_loop_utilization: Math.round(u.utilization * 1000) / 1000,
      event_loop_max_stall_ms: Math.round(delay.max / 1e4) / 100,
    });
  } else if (m.type === 'stop') {
    void server.close().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => { void server.close().finally(() => process.exit(0)); });
