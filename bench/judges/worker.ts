/** A worker thread of bench/judges.ts: runs the tasks it is sent, one at a time. */
import { parentPort } from 'node:worker_threads';
import { runTask, type Task } from './run.ts';

if (!parentPort) throw new Error('bench/judges/worker.ts runs as a worker thread');
const port = parentPort;
port.on('message', (t: Task) => {
  try {
    port.postMessage({ ok: true, result: runTask(t) });
  } catch (e) {
    port.postMessage({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
});
