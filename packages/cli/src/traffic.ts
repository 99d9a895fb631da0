import { hash53 } from '@failsmall/core';
import type { Agent } from '@failsmall/agent';


/**
 * Synthetic request traffic for demos: each interval, every module of the node records
 * `rps × interval` requests with a small error rate and a log-normal latency. Seeded per
 * node, so a demo run is repeatable. (The simulator's traffic model replaces this later.)
 */
export function syntheticTraffic(o: { rps: number; intervalMs: number; errorRate: number; modules: readonly string[]; seed: string; latencyMedianMs?: number }): (agent: Agent) => void {
  let state = hash53(o.seed) % 4294967296;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const median = o.latencyMedianMs ?? 20;
  return (agent) => {
    const n = Math.round((o.rps * o.intervalMs) / 1000);
    for (const m of o.modules) {
      const meter = agent.meter(m);
      for (let i = 0; i < n; i++) {
        const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
        meter.request(random() >= o.errorRate, median * Math.exp(0.4 * z));
      }
    }
  };
}
