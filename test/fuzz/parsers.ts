/**
 * Fuzz targets for every parser of untrusted text: declarations (policy), simulator
 * scenarios, estates (audit graph), break-glass inventories, version manifests, triage
 * scenarios, scrape mappings, break-glass envelopes and signed commands, the small value
 * parsers (durations, scopes, selectors, admin addresses) and the agent's Prometheus text.
 *
 * What must hold for every input: the parser returns (never throws) within the time bound,
 * and its answer is typed: `{ ok: true, value, warnings }`, or `{ ok: false, errors }` where
 * each error has a non-empty UPPER_SNAKE `code`, a message, and the file, line and column it
 * is about. `INTERNAL_ERROR` is a caught crash and counts as a failure. Codes missing from a
 * parser's documented list are reported as notes. Valid examples, re-rendered as block YAML,
 * flow YAML or JSON, must still parse.
 */
import { generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  AUDIT_ERROR_CODES, AUDIT_WARNING_CODES, BREAKGLASS_ACTIONS, INVENTORY_ERROR_CODES, SCRAPE_MAPPING_ERROR_CODES, breakglassMessage, checkEnvelope, decodeCommand, MANIFEST_ERROR_CODES, MANIFEST_WARNING_CODES,
  parseAdminAddress, parseDeclarations, parseDuration, parseEnvelope, parseEstate, parseInventory, parseManifest, parseScope, parseScrapeMapping,
  parseSeriesSelector, POLICY_ERROR_CODES, POLICY_WARNING_CODES, signCommand,
  type BreakglassCommand, type BreakglassEnvelope, type Declarations, type Result,
} from '@failsmall/core';
import { parseScenario, parseTriageScenario, SCENARIO_ERROR_CODES, TRIAGE_SCENARIO_ERROR_CODES } from '@failsmall/sim';
import { parseExposition } from '../../packages/agent/src/scrape.ts';
import { parseSelector } from '../../packages/core/src/policy/scope.ts';
import { fail, type FuzzTarget } from './harness.ts';
import { documentArb, mutatedDocument, mutatedValue, mutateText, render, textMutationArb, treeOf, YAML_TOKENS, type Json, type Rendering } from './mutate.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const dir = (path: string): string[] => readdirSync(new URL(path, root)).sort().map((f) => `${path}/${f}`);

/** The file name every fuzzed document is parsed under: each error must come back with it, and a line and column. */
export const FUZZ_FILE = 'fuzz.yaml';
/** Errors about the file as a whole, which have no position. */
const POSITIONLESS = new Set(['FILE_TOO_LARGE']);
const CODE = /^[A-Z][A-Z0-9_]*$/;

type Parse = (text: string, opts: { file?: string }) => Result<unknown>;

export interface ParserSpec {
  readonly name: string;
  readonly parse: Parse;
  /** Example files that must parse (paths from the repository root). */
  readonly valid: readonly string[];
  /** Other seeds: invalid examples worth mutating. */
  readonly extraSeeds?: readonly string[];
  readonly errorCodes?: readonly string[];
  readonly warningCodes?: readonly string[];
}

/** ```yaml blocks of docs/*.md, dedented: the ones a parser accepts become seeds for it. */
function docBlocks(): string[] {
  const out: string[] = [];
  for (const f of dir('docs').filter((p) => p.endsWith('.md'))) {
    for (const m of read(f).matchAll(/^( *)```ya?ml\n([\s\S]*?)^ *```/gm)) {
      const indent = (m[1] ?? '').length;
      out.push((m[2] ?? '').split('\n').map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n'));
    }
  }
  return out;
}

const knownFromExample = (): Partial<Declarations> => {
  const r = parseDeclarations(read('examples/failsmall.yaml'));
  return r.ok ? r.value : {};
};

export const PARSERS: readonly ParserSpec[] = [
  {
    name: 'policy', parse: (t, o) => parseDeclarations(t, o),
    valid: ['examples/failsmall.yaml', 'examples/demo.yaml', 'examples/scrape.yaml'], extraSeeds: ['examples/seed-policy.yaml'],
    errorCodes: POLICY_ERROR_CODES, warningCodes: POLICY_WARNING_CODES,
  },
  {
    // The same parser with references resolved against declarations already stored (the server's apply).
    name: 'policy-with-known', parse: (t, o) => parseDeclarations(t, { ...o, known: knownFromExample() }),
    valid: ['examples/failsmall.yaml'], extraSeeds: ['examples/seed-policy.yaml'], errorCodes: POLICY_ERROR_CODES, warningCodes: POLICY_WARNING_CODES,
  },
  {
    name: 'scenario', parse: parseScenario, valid: dir('examples/scenarios'),
    errorCodes: [...SCENARIO_ERROR_CODES, ...POLICY_ERROR_CODES], warningCodes: POLICY_WARNING_CODES,
  },
  { name: 'estate', parse: parseEstate, valid: ['examples/estate.yaml', 'examples/estate-clean.yaml'], errorCodes: AUDIT_ERROR_CODES, warningCodes: AUDIT_WARNING_CODES },
  { name: 'inventory', parse: parseInventory, valid: ['examples/inventory.yaml'], errorCodes: INVENTORY_ERROR_CODES },
  { name: 'manifest', parse: parseManifest, valid: dir('examples/manifests'), errorCodes: MANIFEST_ERROR_CODES, warningCodes: MANIFEST_WARNING_CODES },
  { name: 'triage-scenario', parse: parseTriageScenario, valid: dir('examples/triage').filter((f) => f.endsWith('.yaml')), errorCodes: TRIAGE_SCENARIO_ERROR_CODES },
  { name: 'scrape-mapping', parse: parseScrapeMapping, valid: ['examples/scrape-app/scrape-map.yaml'], errorCodes: SCRAPE_MAPPING_ERROR_CODES },
];

/** Checks one parser answer; records codes outside the documented lists in `undocumented`. */
export function checkResult(r: unknown, spec: Pick<ParserSpec, 'errorCodes' | 'warningCodes'>, undocumented: Set<string>, file: string | undefined = FUZZ_FILE): void {
  if (r === null || typeof r !== 'object') fail(`the parser returned ${String(r)}, not a result`);
  const res = r as { ok?: unknown; value?: unknown; errors?: unknown; warnings?: unknown };
  if (typeof res.ok !== 'boolean') fail('the result has no boolean ok');
  if (!Array.isArray(res.warnings)) fail('the result has no warnings list');
  for (const w of res.warnings as unknown[]) {
    const code = (w as { code?: unknown })?.code;
    if (typeof code !== 'string' || !CODE.test(code)) fail(`a warning has no code: ${JSON.stringify(w)}`);
    if (spec.warningCodes && !spec.warningCodes.includes(code)) undocumented.add(`warning ${code}`);
  }
  if (res.ok) {
    if (!('value' in res) || res.value === undefined) fail('ok: true without a value');
    return;
  }
  if (!Array.isArray(res.errors) || res.errors.length === 0) fail('ok: false without errors');
  for (const e of res.errors as unknown[]) {
    const err = e as { code?: unknown; message?: unknown; file?: unknown; line?: unknown; col?: unknown };
    if (typeof err.code !== 'string' || !CODE.test(err.code)) fail(`an error has no code: ${JSON.stringify(e)}`);
    if (err.code === 'INTERNAL_ERROR') fail(`the parser crashed (caught as INTERNAL_ERROR): ${String(err.message)}`);
    if (typeof err.message !== 'string' || err.message.length === 0) fail(`error ${err.code} has no message`);
    if (spec.errorCodes && !spec.errorCodes.includes(err.code)) undocumented.add(err.code);
    if (file !== undefined) {
      if (err.file !== file) fail(`error ${err.code} names file ${JSON.stringify(err.file)}, not ${file}: ${err.message}`);
      if (!POSITIONLESS.has(err.code) && !(Number.isInteger(err.line) && (err.line as number) >= 1 && Number.isInteger(err.col) && (err.col as number) >= 1)) {
        fail(`error ${err.code} has no line and column (line ${String(err.line)}, col ${String(err.col)}): ${err.message}`);
      }
    }
  }
}

const showText = (t: string): string => JSON.stringify(t);
const bytes = (t: string): number => Buffer.byteLength(t, 'utf8');

/** Counts outcomes (accepted, or the first error code), to show what the cases reached. */
class Tally {
  readonly #n = new Map<string, number>();
  add(outcome: string): void { this.#n.set(outcome, (this.#n.get(outcome) ?? 0) + 1); }
  note(): string {
    const total = [...this.#n.values()].reduce((a, b) => a + b, 0) || 1;
    const top = [...this.#n.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
    return `outcomes: ${top.map(([k, v]) => `${k} ${((100 * v) / total).toFixed(0)}%`).join(', ')}${this.#n.size > 6 ? `, ${this.#n.size - 6} more` : ''}`;
  }
}

function notesOf(undocumented: Set<string>, tally?: Tally): () => string[] {
  return () => [
    ...(tally ? [tally.note()] : []),
    ...(undocumented.size > 0 ? [`codes not in the parser's documented list: ${[...undocumented].sort().join(', ')}`] : []),
  ];
}

/** Pathological documents every YAML parser is given first, each run. */
const HOSTILE: readonly string[] = [
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  `${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}`,
  Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}- `).join('\n'),
  `a: "${'x'.repeat(1024 * 1024)}"`,
  `${'a: 1\n'.repeat(50_000)}`,
  ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((n, i) => `${n}: &${n} [${new Array(10).fill(`*${i === 0 ? 'a' : 'abcdefgh'[i - 1]}`).join(',')}]`)].join('\n'),
  '*undefined_alias',
  '\ufeff', '', '---\n---\n---\n', '%YAML 1.1\n---\n', '!!binary AAAA', '? [a]\n: b', '<<: {a: 1}', '\u0000',
];

export interface ParserFuzzOptions {
  /** The longest repeated-token input generated (default 400,000 characters; npm test uses less). */
  readonly maxRepeat?: number;
}

export function parserTarget(spec: ParserSpec, o: ParserFuzzOptions = {}): FuzzTarget<string> {
  const seeds = [...spec.valid, ...(spec.extraSeeds ?? [])].map(read);
  const fromDocs = docBlocks().filter((b) => { try { return spec.parse(b, {}).ok; } catch { return false; } });
  const undocumented = new Set<string>();
  const tally = new Tally();
  return {
    name: `parse:${spec.name}`,
    arbitrary: documentArb([...seeds, ...fromDocs], o),
    examples: HOSTILE,
    check(text) {
      const r = spec.parse(text, { file: FUZZ_FILE });
      tally.add(r.ok ? 'accepted' : r.errors[0]?.code ?? '?');
      checkResult(r, spec, undocumented);
    },
    show: showText,
    size: bytes,
    notes: notesOf(undocumented, tally),
  };
}

/** (b) Valid examples, re-rendered (block YAML, flow YAML, JSON), with an unknown top-level comment or blank lines: still valid. */
export function validTarget(spec: ParserSpec): FuzzTarget<{ file: string; how: Rendering | 'as-is'; pad: string }> {
  const files = spec.valid;
  const trees = new Map(files.map((f) => [f, treeOf(read(f))]));
  return {
    name: `valid:${spec.name}`,
    arbitrary: fc.record({
      file: fc.constantFrom(...files),
      how: fc.constantFrom('as-is' as const, 'block' as const, 'flow' as const, 'json' as const),
      pad: fc.constantFrom('', '\n', '\n\n# a comment\n', '\r\n'),
    }),
    check({ file, how, pad }) {
      const text = how === 'as-is' ? read(file) : render(trees.get(file) ?? null, how);
      const r = spec.parse(pad === '\r\n' ? text.replace(/\n/g, '\r\n') : `${pad}${text}${pad}`, { file: FUZZ_FILE });
      if (!r.ok) fail(`${file} rendered ${how} no longer parses: ${r.errors.slice(0, 3).map((e) => `${e.code} ${e.line}:${e.col} ${e.message}`).join('; ')}`);
    },
  };
}

// ---- break-glass -------------------------------------------------------------------------

const REFUSALS = new Set(['MALFORMED', 'TOO_LARGE', 'BAD_SIGNATURE', 'EXPIRED', 'NOT_YET_VALID', 'LIFETIME_TOO_LONG', 'WRONG_NODE', 'REPLAYED_NONCE']);

function checkRefusal(r: { ok: boolean; refusal?: { code?: unknown; message?: unknown; hint?: unknown } }): void {
  if (r.ok) return;
  const f = r.refusal;
  if (!f || typeof f.code !== 'string' || !REFUSALS.has(f.code)) fail(`a refusal without a known code: ${JSON.stringify(f)}`);
  if (typeof f.message !== 'string' || f.message.length === 0) fail(`refusal ${f.code} has no message`);
  if (typeof f.hint !== 'string' || f.hint.length === 0) fail(`refusal ${f.code} has no hint`);
}

const NOW = Date.parse('2026-11-26T10:00:00Z');
const NODE = 'edge-1';
const SEEN_NONCE = 'seen-nonce-0000000000';

function commandSeeds(): BreakglassCommand[] {
  const base = { v: 1 as const, nodes: [NODE, 'edge-2'], operator: 'alice', reason: 'bad feature file, rolling back by hand', issued_at: '2026-11-26T09:59:00Z', expires_at: '2026-11-26T10:29:00Z' };
  return [
    { ...base, action: 'pin', target: 'features', version: 'v41', nonce: 'n0nce-aaaaaaaaaaaaaaaa' },
    { ...base, action: 'pin', target: 'features', version: 'v42', content: 'aGVsbG8=', sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', artifact_signature: 'c2ln', nonce: 'n0nce-bbbbbbbbbbbbbbbb' },
    { ...base, action: 'lkg', target: 'features', nonce: 'n0nce-cccccccccccccccc' },
    { ...base, action: 'kill-switch', target: 'bot-management', nonce: SEEN_NONCE },
    { ...base, action: 'unpin', target: 'features', nonce: 'n0nce-dddddddddddddddd', nodes: [NODE] },
    { ...base, action: 'drill', target: 'bot-management', nonce: 'n0nce-eeeeeeeeeeeeeeee' },
    // Well formed, but each refused by one of the later checks: expired, not yet valid, too long-lived, for another node.
    { ...base, action: 'lkg', target: 'features', nonce: 'n0nce-ffffffffffffffff', issued_at: '2026-11-26T08:00:00Z', expires_at: '2026-11-26T09:00:00Z' },
    { ...base, action: 'lkg', target: 'features', nonce: 'n0nce-gggggggggggggggg', issued_at: '2026-11-26T11:00:00Z', expires_at: '2026-11-26T11:30:00Z' },
    { ...base, action: 'lkg', target: 'features', nonce: 'n0nce-hhhhhhhhhhhhhhhh', issued_at: '2026-11-26T09:00:00Z', expires_at: '2026-11-28T09:00:00Z' },
    { ...base, action: 'lkg', target: 'features', nonce: 'n0nce-iiiiiiiiiiiiiiii', nodes: ['edge-9'] },
  ];
}

export function envelopeTarget(): FuzzTarget<string> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const envelopes = commandSeeds().map((c) => JSON.stringify(signCommand(privateKey, c)));
  const tally = new Tally();
  return {
    name: 'parse:breakglass-envelope',
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: mutatedDocument(envelopes, { renderings: ['json'], tokens: ['"', '{', '}', ',', ':', '=', '==', '+', '/', '\\u0000', '\\', ' ', 'null'] }) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
      { weight: 1, arbitrary: fc.record({ payload: fc.base64String({ maxLength: 200 }), signature: fc.oneof(fc.base64String({ maxLength: 120 }), fc.string()) }).map((v) => JSON.stringify(v)) },
    ),
    examples: [`{"payload":"${'A'.repeat(17 * 1024 * 1024)}","signature":""}`, `${'['.repeat(50_000)}${']'.repeat(50_000)}`, '{"payload":"=","signature":"="}', '{"__proto__":{"payload":"QQ=="},"signature":""}'],
    check(text) {
      const r = parseEnvelope(text);
      tally.add(r.ok ? 'accepted' : r.refusal.code);
      checkRefusal(r);
      if (r.ok && (typeof r.value.payload !== 'string' || typeof r.value.signature !== 'string')) fail('an accepted envelope without string payload and signature');
    },
    show: showText,
    size: bytes,
    notes: () => [tally.note()],
  };
}

type Signing = 'valid' | 'other-key' | 'flipped' | 'garbage' | 'empty';

/**
 * Commands changed field by field, then signed with the node's break-glass key (so they get
 * past the signature and reach every later check), or with another key or a damaged signature
 * (which must always be refused). What comes back is a command or a typed refusal, and an
 * accepted command is for this node, current, and carries a fresh nonce.
 */
export function commandTarget(): FuzzTarget<{ payload: string; signing: Signing }> {
  const mine = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const seeds = commandSeeds() as unknown as Json[];
  const payloads = fc.oneof(
    { weight: 6, arbitrary: mutatedValue(seeds).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.constantFrom(...seeds.map((v) => JSON.stringify(v))) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...seeds.map((s) => JSON.stringify(s))), fc.array(textMutationArb(['"', '{', '}', ',', ':', '\\', '\\u0000', '\ud800', 'x', '1', ' ']), { minLength: 1, maxLength: 3 })).map(([t, m]) => mutateText(t, m)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  );
  const sign = (payload: Buffer, s: Signing): string => {
    const cmd = { payload: payload.toString('base64'), signature: '' };
    if (s === 'empty') return JSON.stringify(cmd);
    if (s === 'garbage') return JSON.stringify({ ...cmd, signature: Buffer.alloc(64, 7).toString('base64') });
    const env: BreakglassEnvelope = signRaw(s === 'other-key' ? other.privateKey : mine.privateKey, payload);
    if (s === 'flipped') {
      const sig = Buffer.from(env.signature, 'base64');
      sig[5] = (sig[5] ?? 0) ^ 1;
      return JSON.stringify({ payload: env.payload, signature: sig.toString('base64') });
    }
    return JSON.stringify(env);
  };
  const tally = new Tally();
  return {
    name: 'check:breakglass-command',
    arbitrary: fc.record({ payload: payloads, signing: fc.constantFrom<Signing>('valid', 'valid', 'valid', 'valid', 'other-key', 'flipped', 'garbage', 'empty') }),
    check({ payload, signing }) {
      const bytes = Buffer.from(payload, 'utf8');
      checkRefusal(decodeCommand(bytes));
      const parsed = parseEnvelope(sign(bytes, signing));
      checkRefusal(parsed);
      if (!parsed.ok) return;
      const r = checkEnvelope(parsed.value, { publicKey: mine.publicKey, nodeId: NODE, now: NOW, seen: (n) => n === SEEN_NONCE });
      tally.add(r.ok ? 'accepted' : r.refusal.code);
      checkRefusal(r);
      if (!r.ok) return;
      if (signing !== 'valid') fail(`a command signed "${signing}" was accepted`);
      const c = r.value;
      if (!c.nodes.includes(NODE)) fail('an accepted command is not for this node');
      if (!(Date.parse(c.expires_at) > NOW)) fail(`an accepted command expired at ${c.expires_at}`);
      if (c.nonce === SEEN_NONCE) fail('an accepted command replays a seen nonce');
      if (!(BREAKGLASS_ACTIONS as readonly string[]).includes(c.action)) fail(`an accepted command has action ${String(c.action)}`);
    },
    show: ({ payload, signing }) => `${signing} ${JSON.stringify(payload)}`,
    notes: () => [tally.note()],
  };
}

/** ed25519 over the break-glass domain and the exact payload bytes: what signCommand does, for bytes that need not be a command. */
function signRaw(privateKey: KeyObject, payload: Buffer): BreakglassEnvelope {
  return { payload: payload.toString('base64'), signature: edSign(null, breakglassMessage(payload), privateKey).toString('base64') };
}

// ---- value parsers and the agent's Prometheus text ---------------------------------------

const VALUE_STRINGS = ['10% nodes', '1 nodes', 'all', '100% nodes where tier=free', '5 nodes where a=b,c!=d', 'a=b', 'a!=b,c=d', '60s', '1h', '250ms', '2m30s',
  'http_requests_total', 'http_requests_total{code=~"5.."}', 'x{a="b",c!="d"}', '127.0.0.1:7071', '[::1]:7071', 'unix:/run/failsmall/admin.sock'];

export function valueParsersTarget(): FuzzTarget<string> {
  return {
    name: 'parse:values',
    arbitrary: fc.oneof(
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...VALUE_STRINGS), fc.array(textMutationArb([...YAML_TOKENS, '%', '=', '!=', '=~', '!~', '{', '}', '"', ',', 'where', 'nodes', 's', 'ms', 'h', 'd', '.', '9', '0', '-', ':']), { maxLength: 3 })).map(([t, m]) => mutateText(t, m)) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    ),
    examples: ['9'.repeat(400) + 's', '1'.repeat(400) + '% nodes', `x{${'a="b",'.repeat(5000)}}`, `${'a=b,'.repeat(20_000)}a=b`, ' '.repeat(100_000) + 'where'],
    check(text) {
      for (const [what, r] of [['duration', parseDuration(text)], ['scope', parseScope(text)], ['selector', parseSelector(text)], ['series selector', parseSeriesSelector(text)]] as const) {
        if (typeof r.ok !== 'boolean') fail(`${what}: no boolean ok`);
        if (!r.ok && (typeof (r as { message?: unknown }).message !== 'string' || (r as { message: string }).message.length === 0)) fail(`${what}: a refusal without a message`);
      }
      const d = parseDuration(text);
      if (d.ok && !(Number.isFinite(d.ms) && d.ms >= 0)) fail(`duration ${JSON.stringify(text)} parsed to ${d.ms} ms`);
      const s = parseScope(text);
      if (s.ok && s.scope.type === 'percent' && !(s.scope.percent > 0 && s.scope.percent <= 100)) fail(`scope ${JSON.stringify(text)} parsed to ${s.scope.percent}%`);
      if (s.ok && s.scope.type === 'count' && !(Number.isFinite(s.scope.count) && s.scope.count >= 0)) fail(`scope ${JSON.stringify(text)} parsed to ${s.scope.count} nodes`);
      const a = parseAdminAddress(text);
      if (a && a.kind === 'tcp' && !(a.port >= 1 && a.port <= 65535)) fail(`admin address port ${a.port}`);
    },
    show: showText,
    size: bytes,
  };
}

const EXPOSITION = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/",code="200"} 1027
http_requests_total{method="GET",route="/",code="502"} 3
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE up gauge
up 1
`;

export function expositionTarget(): FuzzTarget<string> {
  const tokens = ['{', '}', '"', '=', ',', ' ', '\n', '#', '# TYPE ', '# HELP ', 'counter', 'histogram', 'summary', 'NaN', '+Inf', '-Inf', '1e999', '_bucket', '_sum', '_count', 'le=', '\\', '\\"', '\u0000', 'x', '9'];
  return {
    name: 'parse:prometheus-text',
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: fc.array(textMutationArb(tokens), { minLength: 1, maxLength: 4 }).map((m) => mutateText(EXPOSITION, m)) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...tokens, 'http_requests_total', 'a', '1', '0.5'), { maxLength: 60 }).map((p) => p.join('')) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    ),
    examples: [`${'x 1\n'.repeat(100_000)}`, `x{${'a="b",'.repeat(10_000)}} 1`],
    check(text) {
      const r = parseExposition(text);
      if (typeof r.ok !== 'boolean') fail('no boolean ok');
      if (!r.ok && (typeof r.problem?.reason !== 'string' || typeof r.problem.message !== 'string')) fail(`a problem without reason and message: ${JSON.stringify(r)}`);
    },
    show: showText,
    size: bytes,
  };
}

/** Every parser target, in a stable order. */
export function parserTargets(o: ParserFuzzOptions = {}): FuzzTarget<any>[] {
  return [
    ...PARSERS.map((p) => parserTarget(p, o)),
    ...PARSERS.filter((p) => p.name !== 'policy-with-known').map(validTarget),
    envelopeTarget(), commandTarget(), valueParsersTarget(), expositionTarget(),
  ];
}
