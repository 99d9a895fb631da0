import { readFileSync } from 'node:fs';
import { parseScenario, simulate } from '@failsmall/sim';
const f = process.argv[2] ?? '';
const r = parseScenario(readFileSync(f, 'utf8'), { file: f });
if (!r.ok) throw new Error('bad');
for (let seed = 1; seed <= 20; seed++) {
  const rep = simulate(r.value, { seed, regimes: ['staged', 'staged-safe-loader'] });
  console.log(seed, Object.entries(rep.regimes).map(([k, v]) => `${k}:${v.rollouts.map((x) => x.final_state + (x.reason && x.final_state !== 'completed' ? '(' + x.reason.slice(0, 150) + ')' : '')).join(',')}`).join(' '));
}
