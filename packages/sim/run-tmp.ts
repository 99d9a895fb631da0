import { readFileSync } from 'node:fs';
import { parseScenario, simulate, formatReport } from '@failsmall/sim';
const f = process.argv[2] ?? '';
const r = parseScenario(readFileSync(f, 'utf8'), { file: f });
if (!r.ok) { console.log(r.errors); process.exit(1); }
const t0 = performance.now();
const rep = simulate(r.value, { ...(process.argv[3] ? { nodes: Number(process.argv[3]) } : {}), ...(process.argv[4] ? { seed: Number(process.argv[4]) } : {}) });
console.log(formatReport(rep));
console.log(`wall ${(performance.now() - t0).toFixed(0)} ms`);
if (process.env.JSON) console.log(JSON.stringify(rep, null, 1));
