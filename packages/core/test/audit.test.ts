import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AUDIT_ERROR_CODES, AUDIT_WARNING_CODES, auditDependencies, closedWalk, MAX_LISTED, parseEstate, renderAuditDot, renderAuditMermaid, renderAuditTable,
  reviewFailClosed, securityGoals, stronglyConnected,
} from '../src/audit/index.ts';
import type { AuditReport, BreakglassTool, DependencyEdge, DependencyGraph, Estate, GraphService } from '../src/audit/index.ts';
import type { ModuleDecl } from '../src/policy/index.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/**
 * A graph from a compact notation: `'b'` is a hard edge to b, `'~b'` a soft edge without
 * a fallback, `'~b:cache'` a soft edge whose fallback is "cache".
 */
function edges(spec: readonly string[]): DependencyEdge[] {
  return spec.map((s) => {
    if (!s.startsWith('~')) return { on: s, hard: true };
    const [on = '', fallback] = s.slice(1).split(':');
    return { on, hard: false, ...(fallback !== undefined ? { fallback } : {}) };
  });
}

function graph(services: Record<string, readonly string[]>, tools: Record<string, { deps?: readonly string[]; recovers: readonly string[]; fate?: Record<string, string> }> = {}, fates: Record<string, Record<string, string>> = {}): DependencyGraph {
  return {
    services: Object.entries(services).map(([name, deps]): GraphService => ({ name, depends_on: edges(deps), fate: fates[name] ?? {} })),
    breakglass: Object.entries(tools).map(([name, t]): BreakglassTool => ({ name, depends_on: edges(t.deps ?? []), fate: t.fate ?? {}, recovers: t.recovers })),
  };
}

function estateOf(path: string): Estate {
  const r = parseEstate(read(path), { file: path });
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
  return r.value;
}

function parseErrors(text: string, opts: { modules?: readonly ModuleDecl[] } = {}): { code: string; line?: number; col?: number; message: string; hint?: string }[] {
  const r = parseEstate(text, { file: 'estate.yaml', ...opts });
  assert.equal(r.ok, false, 'expected the file to be refused');
  return r.ok ? [] : r.errors;
}

/** True when every step of `path` is an edge of `g`. */
function isWalk(g: DependencyGraph, path: readonly string[]): boolean {
  const nodes = [...g.services, ...g.breakglass];
  for (let i = 0; i + 1 < path.length; i++) {
    const from = nodes.find((n) => n.name === path[i]);
    if (!from?.depends_on.some((d) => d.on === path[i + 1])) return false;
  }
  return true;
}

describe('dependency cycles (strongly connected components)', () => {
  it('reports a service that depends on itself as a cycle of one', () => {
    const r = auditDependencies(graph({ a: ['a'], b: ['a'] }));
    assert.deepEqual(r.cycles, [['a', 'a']]);
  });

  it('reports no cycle for a service that depends on nothing in a loop', () => {
    const r = auditDependencies(graph({ a: ['b'], b: ['c'], c: [] }));
    assert.deepEqual(r.cycles, []);
  });

  it('reports two disjoint cycles separately, each with its own closed path', () => {
    const r = auditDependencies(graph({ a: ['b'], b: ['a'], c: ['d'], d: ['e'], e: ['c'], f: ['a', 'c'] }));
    assert.deepEqual(r.cycles, [['a', 'b', 'a'], ['c', 'd', 'e', 'c']]);
  });

  it('reports nested loops as one cycle whose path visits every member', () => {
    const g = graph({ a: ['b'], b: ['c', 'd'], c: ['a'], d: ['b'] });
    const r = auditDependencies(g);
    assert.equal(r.cycles.length, 1);
    const [path = []] = r.cycles;
    assert.deepEqual(r.cycle_details[0]?.members, ['a', 'b', 'c', 'd']);
    assert.equal(path[0], path[path.length - 1]);
    assert.deepEqual([...new Set(path)].sort(), ['a', 'b', 'c', 'd']);
    assert.ok(isWalk(g, path), `not a walk: ${path.join(' → ')}`);
  });

  it('says whether a cycle can be broken by a soft edge with a fallback', () => {
    assert.equal(auditDependencies(graph({ a: ['b'], b: ['~a:cache'] })).cycle_details[0]?.all_hard, false);
    assert.equal(auditDependencies(graph({ a: ['b'], b: ['~a'] })).cycle_details[0]?.all_hard, true);
  });

  it('handles a dependency chain 100 000 long without exhausting the stack', () => {
    const n = 100_000;
    const components = stronglyConnected(n, (v) => (v + 1 < n ? [v + 1] : [0]));
    assert.equal(components.length, 1);
    assert.equal(closedWalk(components[0] ?? [], (v) => (v + 1 < n ? [v + 1] : [0])).length, n + 1);
  });
});

describe('break-glass tools that depend on what they recover', () => {
  it('follows transitive hard dependencies and reports the path', () => {
    const r = auditDependencies(graph({ login: ['bot'], bot: ['proxy'], proxy: [] }, { console: { deps: ['login'], recovers: ['proxy', 'bot'] } }));
    assert.deepEqual(r.breakglass_violations, [
      { tool: 'console', recovers: 'proxy', path: ['console', 'login', 'bot', 'proxy'], assumed_hard: [] },
      { tool: 'console', recovers: 'bot', path: ['console', 'login', 'bot'], assumed_hard: [] },
    ]);
  });

  it('does not follow a soft edge that names its fallback', () => {
    const r = auditDependencies(graph({ login: ['~bot:cached bot scores'], bot: ['proxy'], proxy: [] }, { console: { deps: ['login'], recovers: ['proxy'] } }));
    assert.deepEqual(r.breakglass_violations, []);
  });

  it('counts a soft edge without a fallback as hard, and says so', () => {
    const r = auditDependencies(graph({ login: ['~bot'], bot: ['proxy'], proxy: [] }, { console: { deps: ['login'], recovers: ['proxy'] } }));
    assert.deepEqual(r.breakglass_violations, [{ tool: 'console', recovers: 'proxy', path: ['console', 'login', 'bot', 'proxy'], assumed_hard: [['login', 'bot']] }]);
  });

  it('prefers a path of declared hard edges to a shorter one through a soft edge without a fallback', () => {
    const r = auditDependencies(graph({ x: ['proxy'], proxy: [] }, { console: { deps: ['~proxy', 'x'], recovers: ['proxy'] } }));
    assert.deepEqual(r.breakglass_violations[0]?.path, ['console', 'x', 'proxy']);
    assert.deepEqual(r.breakglass_violations[0]?.assumed_hard, []);
  });

  it('passes a tool whose dependencies never reach what it recovers', () => {
    const r = auditDependencies(graph({ proxy: ['db'], db: [] }, { oob: { recovers: ['proxy'] } }));
    assert.deepEqual(r.breakglass_violations, []);
    assert.equal(r.clean, true);
  });
});

describe('shared fate between a break-glass tool and what it recovers', () => {
  it('reports a label with the same key and value on the tool itself', () => {
    const r = auditDependencies(graph({ proxy: [] }, { status: { recovers: ['proxy'], fate: { dns: 'dns-main', region: 'us' } } }, { proxy: { dns: 'dns-main', region: 'eu' } }));
    assert.deepEqual(r.shared_fate, [{ tool: 'status', service: 'proxy', label: 'dns=dns-main', via: ['status'] }]);
  });

  it('does not match the same value under a different label', () => {
    const r = auditDependencies(graph({ proxy: [] }, { status: { recovers: ['proxy'], fate: { region: 'main' } } }, { proxy: { dns: 'main' } }));
    assert.deepEqual(r.shared_fate, []);
  });

  it('includes labels carried by the tool\'s transitive hard dependencies, with the path to the carrier', () => {
    const g = graph({ proxy: [], vault: ['sso'], sso: [] }, { console: { deps: ['vault'], recovers: ['proxy'] } }, { proxy: { identity: 'okta' }, sso: { identity: 'okta' } });
    assert.deepEqual(auditDependencies(g).shared_fate, [{ tool: 'console', service: 'proxy', label: 'identity=okta', via: ['console', 'vault', 'sso'] }]);
  });

  it('does not include labels behind a soft edge with a fallback', () => {
    const g = graph({ proxy: [], vault: ['~sso:local accounts'], sso: [] }, { console: { deps: ['vault'], recovers: ['proxy'] } }, { proxy: { identity: 'okta' }, sso: { identity: 'okta' } });
    assert.deepEqual(auditDependencies(g).shared_fate, []);
  });

  it('does not walk into what the tool recovers (that is a break-glass violation)', () => {
    const g = graph({ proxy: ['dns'], dns: [] }, { console: { deps: ['proxy'], recovers: ['proxy'] } }, { proxy: { region: 'eu' }, dns: { region: 'eu' } });
    const r = auditDependencies(g);
    assert.deepEqual(r.shared_fate, []);
    assert.equal(r.breakglass_violations.length, 1);
  });
});

describe('fail-closed review', () => {
  it('names the security goals a reason mentions', () => {
    assert.deepEqual(securityGoals('a WAF that fails open lets attacks through'), ['abuse']);
    assert.deepEqual(securityGoals('Blocks requests it cannot AUTHENTICATE'), ['authentication']);
    assert.deepEqual(securityGoals('protects payment integrity'), ['integrity', 'payment']);
    assert.deepEqual(securityGoals('it has always failed closed'), []);
    assert.deepEqual(securityGoals('the author prefers it'), []);
    assert.deepEqual(securityGoals('anti-fraud; refuses unauthorised calls'), ['authorization', 'fraud']);
  });

  it('reviews only fail-closed modules and flags a missing or non-security reason', () => {
    const modules: ModuleDecl[] = [
      { name: 'waf', on_load_failure: 'fail-closed', reason: 'stops injection attacks' },
      { name: 'flags', on_load_failure: 'fail-closed', reason: 'keeps behaviour predictable' },
      { name: 'geo', on_load_failure: 'fail-closed' },
      { name: 'blank', on_load_failure: 'fail-closed', reason: '   ' },
      { name: 'bots', on_load_failure: 'serve-stale' },
    ];
    assert.deepEqual(reviewFailClosed(modules).map((r) => [r.module, r.verdict, r.flagged]), [
      ['waf', 'protects-security-goal', false],
      ['flags', 'no-security-goal', true],
      ['geo', 'no-reason', true],
      ['blank', 'no-reason', true],
    ]);
    const r = auditDependencies(graph({}), modules);
    assert.equal(r.findings, 3);
    assert.equal(r.fail_closed_review.length, 4);
  });

  it('keeps an estate clean when every fail-closed module protects a security goal', () => {
    const r = auditDependencies(graph({ a: [] }), [{ name: 'auth', on_load_failure: 'fail-closed', reason: 'refuses unauthenticated requests' }]);
    assert.equal(r.clean, true);
  });
});

describe('missing fallbacks', () => {
  it('reports every soft edge without a fallback, including an empty one, and no other edge', () => {
    const g = graph({ a: ['b', '~c', '~d:cache'], b: [], c: [], d: [] }, { t: { deps: ['~c'], recovers: ['a'] } });
    const withEmpty: DependencyGraph = { ...g, services: [...g.services, { name: 'e', depends_on: [{ on: 'a', hard: false, fallback: ' ' }], fate: {} }] };
    assert.deepEqual(auditDependencies(withEmpty).missing_fallbacks, [{ service: 'a', on: 'c' }, { service: 'e', on: 'a' }, { service: 't', on: 'c' }]);
  });

  it('points at the edge in the file', () => {
    const text = 'services:\n  a:\n    depends_on:\n      - { on: b, hard: false }\n  b: {}\n';
    const r = parseEstate(text, { file: 'g.yaml' });
    assert.ok(r.ok);
    assert.deepEqual(auditDependencies(r.value.graph).missing_fallbacks, [{ service: 'a', on: 'b', line: 4, col: 9 }]);
  });
});

describe('very large reports', () => {
  it('lists at most MAX_LISTED findings of a kind, counts the rest, and still counts them all as findings', () => {
    const n = MAX_LISTED + 20;
    const services: Record<string, string[]> = {};
    for (let i = 0; i < n; i++) services[`s${i}`] = i + 1 < n ? [`s${i + 1}`] : [];
    const g = graph(services, { t: { deps: ['s0'], recovers: Object.keys(services).slice(1) } });
    const r = auditDependencies(g);
    assert.equal(r.breakglass_violations.length, MAX_LISTED);
    assert.equal(r.omitted.breakglass_violations, n - 1 - MAX_LISTED);
    assert.equal(r.findings, n - 1);
    assert.match(renderAuditTable(r), new RegExp(`\\(${n - 1}\\)[\\s\\S]*… and ${n - 1 - MAX_LISTED} more, not listed`));
  });
});

describe('examples/estate.yaml (the 18 November shape)', () => {
  const estate = estateOf('examples/estate.yaml');
  const report = auditDependencies(estate.graph, estate.modules);

  it('finds the cycle: login behind a bot check that runs on the proxy whose config comes through login', () => {
    assert.deepEqual(report.cycles, [['proxy', 'config-pipeline', 'dashboard-login', 'bot-check', 'proxy']]);
  });

  it('finds the admin console and the manual push reaching the proxy through hard dependencies', () => {
    assert.deepEqual(report.breakglass_violations.map((v) => [v.tool, v.recovers, v.path.join(' → ')]), [
      ['admin-console', 'proxy', 'admin-console → dashboard-login → bot-check → proxy'],
      ['admin-console', 'bot-check', 'admin-console → dashboard-login → bot-check'],
      ['manual-push', 'proxy', 'manual-push → config-pipeline → dashboard-login → bot-check → proxy'],
    ]);
  });

  it('finds the status page on the proxy\'s DNS, and every other shared label', () => {
    assert.deepEqual(report.shared_fate.map((f) => `${f.tool}/${f.service}/${f.label}/${f.via.join('>')}`), [
      'admin-console/proxy/dns=dns-main/admin-console',
      'admin-console/proxy/region=global/admin-console>dashboard-login',
      'admin-console/bot-check/region=global/admin-console>dashboard-login',
      'status-page/proxy/dns=dns-main/status-page',
      'manual-push/proxy/pipeline=config-push/manual-push>config-pipeline',
      'manual-push/proxy/dns=dns-main/manual-push>config-pipeline>dashboard-login',
      'manual-push/proxy/region=global/manual-push>config-pipeline>dashboard-login',
      'manual-push/proxy/network=edge/manual-push>config-pipeline>dashboard-login>bot-check',
    ]);
  });

  it('flags the fail-closed modules without a security reason, and passes the WAF', () => {
    assert.deepEqual(report.fail_closed_review.map((r) => [r.module, r.verdict]), [
      ['waf-rules', 'protects-security-goal'], ['feature-flags', 'no-security-goal'], ['geo-routing', 'no-reason'],
    ]);
  });

  it('finds the control plane\'s soft edge to metrics that names no fallback', () => {
    assert.deepEqual(report.missing_fallbacks, [{ service: 'control-plane', on: 'metrics', line: 36, col: 9 }]);
  });

  it('counts 15 findings, and the break-glass tool that shares nothing passes', () => {
    assert.equal(report.findings, 15);
    assert.equal(report.clean, false);
    const text = JSON.stringify(report);
    assert.ok(!text.includes('"tool":"failsmall-breakglass"'));
  });
});

describe('examples/estate-clean.yaml', () => {
  it('passes with no findings', () => {
    const estate = estateOf('examples/estate-clean.yaml');
    const r = auditDependencies(estate.graph, estate.modules);
    assert.equal(r.clean, true, renderAuditTable(r));
    assert.equal(r.findings, 0);
    assert.equal(r.fail_closed_review.length, 1);
  });
});

describe('parseEstate refuses bad graph files with file:line:col, a code and a hint', () => {
  it('suggests the closest key for an unknown one', () => {
    const [e] = parseErrors('services:\n  a:\n    depnds_on: []\n');
    assert.deepEqual([e?.code, e?.line, e?.col, e?.hint], ['UNKNOWN_KEY', 3, 5, 'did you mean "depends_on"?']);
  });

  it('suggests the closest top-level key', () => {
    const [e] = parseErrors('services: { a: {} }\nbreakglas: {}\n');
    assert.deepEqual([e?.code, e?.line, e?.hint], ['UNKNOWN_KEY', 2, 'did you mean "breakglass"?']);
  });

  it('refuses a hard: that is not a boolean', () => {
    const [e] = parseErrors('services:\n  a: { depends_on: [ { on: b, hard: yes } ] }\n  b: {}\n');
    assert.deepEqual([e?.code, e?.line, e?.col], ['WRONG_TYPE', 2, 37]);
    assert.match(e?.hint ?? '', /true or false/);
  });

  it('refuses a dependency written as a bare name, and shows how to write it', () => {
    const [e] = parseErrors('services:\n  a: { depends_on: [ b ] }\n  b: {}\n');
    assert.equal(e?.code, 'WRONG_TYPE');
    assert.match(e?.hint ?? '', /on: b, hard: true/);
  });

  it('refuses a dependency on an undeclared service, with did-you-mean', () => {
    const [e] = parseErrors('services:\n  dashboard-login: { depends_on: [ { on: bot-chek, hard: true } ] }\n  bot-check: {}\n');
    assert.deepEqual([e?.code, e?.line, e?.col], ['UNKNOWN_SERVICE', 2, 42]);
    assert.match(e?.hint ?? '', /did you mean "bot-check"/);
  });

  it('refuses recovers: naming nothing known', () => {
    const [e] = parseErrors('services:\n  proxy: {}\nbreakglass:\n  console: { recovers: [ proxi ] }\n');
    assert.deepEqual([e?.code, e?.line, e?.col], ['UNKNOWN_SERVICE', 4, 26]);
    assert.match(e?.hint ?? '', /did you mean "proxy"/);
  });

  it('refuses duplicate keys, a name used twice, a duplicate edge, a tool that recovers itself and a tool without recovers', () => {
    assert.deepEqual(parseErrors('services:\n  a: {}\n  a: {}\n').map((e) => [e.code, e.line]), [['DUPLICATE_KEY', 3]]);
    assert.deepEqual(parseErrors('services:\n  a: {}\nbreakglass:\n  a: { recovers: [] }\n').map((e) => [e.code, e.line]), [['DUPLICATE_NAME', 4]]);
    assert.deepEqual(parseErrors('services:\n  a: { depends_on: [ { on: b, hard: true }, { on: b, hard: false } ] }\n  b: {}\n').map((e) => e.code), ['DUPLICATE_DEPENDENCY']);
    assert.deepEqual(parseErrors('services:\n  a: {}\nbreakglass:\n  t: { recovers: [ t ] }\n').map((e) => e.code), ['RECOVERS_ITSELF']);
    assert.deepEqual(parseErrors('services:\n  a: {}\nbreakglass:\n  t: { depends_on: [] }\n').map((e) => e.code), ['MISSING_KEY']);
  });

  it('refuses an edge without on: or hard:', () => {
    assert.deepEqual(parseErrors('services:\n  a: { depends_on: [ { on: b } ] }\n  b: {}\n').map((e) => [e.code, e.line, e.col]), [['MISSING_KEY', 2, 22]]);
  });

  it('refuses an alias bomb before walking it', () => {
    const lines = ['services:', '  a: &a { fate: { dns: x } }'];
    let prev = 'a';
    for (const name of ['b', 'c', 'd', 'e', 'f']) {
      lines.push(`  ${name}: &${name} [${Array.from({ length: 10 }, () => `*${prev}`).join(', ')}]`);
      prev = name;
    }
    const errors = parseErrors(`${lines.join('\n')}\n`);
    assert.deepEqual(errors.map((e) => e.code), ['ALIAS_BOMB']);
    assert.ok(errors[0]?.line !== undefined);
  });

  it('refuses an undefined alias, an empty file, a non-mapping and a file over 1 MiB', () => {
    assert.deepEqual(parseErrors('services:\n  a: *nope\n').map((e) => e.code), ['ALIAS_UNDEFINED']);
    assert.deepEqual(parseErrors('').map((e) => [e.code, e.line, e.col]), [['EMPTY_DOCUMENT', 1, 1]]);
    assert.deepEqual(parseErrors('- a\n').map((e) => e.code), ['WRONG_TYPE']);
    assert.deepEqual(parseErrors(`services: {}\n#${'x'.repeat(1024 * 1024)}\n`).map((e) => e.code), ['FILE_TOO_LARGE']);
  });

  it('reads modules like a declarations file, but leaves a missing fail-closed reason to the audit', () => {
    const r = parseEstate('modules:\n  geo: { on_load_failure: fail-closed }\n  bots: { on_load_failure: serve-stale }\n');
    assert.ok(r.ok);
    assert.deepEqual(r.value.modules, [{ name: 'geo', on_load_failure: 'fail-closed' }, { name: 'bots', on_load_failure: 'serve-stale' }]);
    const [e] = parseErrors('modules:\n  geo: { on_load_failure: fail-closd }\n');
    assert.deepEqual([e?.code, e?.hint?.startsWith('did you mean "fail-closed"?')], ['BAD_ENUM', true]);
  });

  it('adds modules from a declarations file, and refuses one declared in both', () => {
    const known: ModuleDecl[] = [{ name: 'proxy', on_load_failure: 'fail-closed', reason: 'authentication' }];
    const r = parseEstate('services: { a: {} }\n', { modules: known });
    assert.ok(r.ok);
    assert.deepEqual(r.value.modules, known);
    assert.deepEqual(parseErrors('modules:\n  proxy: { on_load_failure: serve-stale }\n', { modules: known }).map((e) => [e.code, e.line]), [['DUPLICATE_NAME', 2]]);
  });

  it('warns about a fallback on a hard edge, a misspelt fate label and a tool that recovers nothing', () => {
    const r = parseEstate('services:\n  a: { depends_on: [ { on: b, hard: true, fallback: cache } ], fate: { dsn: x } }\n  b: {}\nbreakglass:\n  t: { recovers: [] }\n', { file: 'g.yaml' });
    assert.ok(r.ok);
    assert.deepEqual(r.warnings.map((w) => [w.code, w.line]), [['FALLBACK_ON_HARD_EDGE', 2], ['UNUSUAL_FATE_LABEL', 2], ['NOTHING_RECOVERED', 5]]);
    assert.match(r.warnings[1]?.hint ?? '', /did you mean "dns"/);
  });

  it('accepts forward references, x- keys, anchors and merge keys', () => {
    const r = parseEstate([
      'x-common: &edge { fate: { region: eu } }',
      'services:',
      '  a: { <<: *edge, depends_on: [ { on: b, hard: true } ] }',
      '  b: *edge',
      '',
    ].join('\n'));
    assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
    assert.deepEqual(r.value.graph.services.map((s) => [s.name, s.fate]), [['a', { region: 'eu' }], ['b', { region: 'eu' }]]);
  });
});

describe('parseEstate and auditDependencies on arbitrary input', () => {
  const known = new Set<string>([...AUDIT_ERROR_CODES, ...AUDIT_WARNING_CODES]);

  it('never throws on YAML-shaped token soup, and returns only documented codes with positions', () => {
    const tokens = fc.array(fc.constantFrom(
      'services:', 'breakglass:', 'modules:', 'depends_on:', 'fate:', 'recovers:', '\n', '  ', '    ', '- ', '{', '}', '[', ']', ', ', ': ',
      'on: a', 'on: b', 'hard: true', 'hard: false', 'fallback: x', 'a:', 'b:', 'dns: d', '&x ', '*x', '<<: ', '"', '#', 'on_load_failure: fail-closed',
    ), { maxLength: 60 }).map((t) => t.join(''));
    fc.assert(fc.property(tokens, (text) => {
      const r = parseEstate(text, { file: 'f.yaml' });
      if (r.ok) {
        auditDependencies(r.value.graph, r.value.modules);
        return;
      }
      for (const e of r.errors) {
        assert.ok(known.has(e.code), `undocumented code ${e.code}`);
        if (e.code !== 'FILE_TOO_LARGE' && e.code !== 'INTERNAL_ERROR') assert.ok(e.line !== undefined && e.col !== undefined, `${e.code} has no position`);
      }
    }), { numRuns: 1000 });
  });

  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const arbitraryEdge = fc.record({ on: fc.constantFrom(...names), hard: fc.boolean(), fallback: fc.option(fc.constantFrom('cache', '', 'stale'), { nil: undefined }) })
    .map((e): DependencyEdge => ({ on: e.on, hard: e.hard, ...(e.fallback !== undefined ? { fallback: e.fallback } : {}) }));
  const arbitraryFate = fc.dictionary(fc.constantFrom('dns', 'region'), fc.constantFrom('x', 'y'), { maxKeys: 2 });
  const arbitraryGraph = fc.record({
    services: fc.uniqueArray(fc.record({ name: fc.constantFrom(...names), depends_on: fc.array(arbitraryEdge, { maxLength: 4 }), fate: arbitraryFate }), { selector: (s) => s.name, maxLength: 5 }),
    tools: fc.array(fc.record({ depends_on: fc.array(arbitraryEdge, { maxLength: 3 }), fate: arbitraryFate, recovers: fc.array(fc.constantFrom(...names), { maxLength: 3 }) }), { maxLength: 2 }),
  }).map(({ services, tools }): DependencyGraph => ({
    services,
    breakglass: tools.map((t, i) => ({ ...t, name: `t${i}` })),
  }));

  it('never throws on random graphs, and every reported cycle is a real closed walk', () => {
    fc.assert(fc.property(arbitraryGraph, (g) => {
      const r = auditDependencies(g);
      assert.equal(r.cycles.length, r.cycle_details.length);
      for (const [i, path] of r.cycles.entries()) {
        assert.ok(path.length >= 2);
        assert.equal(path[0], path[path.length - 1], 'first == last');
        assert.ok(isWalk(g, path), `not a walk: ${path.join(' → ')}`);
        assert.deepEqual([...new Set(path)].sort(), [...(r.cycle_details[i]?.members ?? [])].sort(), 'the path visits every member');
      }
      for (const v of r.breakglass_violations) {
        assert.equal(v.path[0], v.tool);
        assert.equal(v.path[v.path.length - 1], v.recovers);
        assert.ok(isWalk(g, v.path));
      }
      renderAuditTable(r);
      renderAuditMermaid(g, r);
      renderAuditDot(g, r);
    }), { numRuns: 500 });
  });

  it('finds exactly the groups of mutually reachable services (checked against brute force)', () => {
    fc.assert(fc.property(arbitraryGraph, (g) => {
      const nodes = [...g.services, ...g.breakglass];
      const reach = new Map(nodes.map((n) => [n.name, new Set<string>()]));
      for (const n of nodes) {
        const stack = n.depends_on.map((d) => d.on);
        const seen = reach.get(n.name) ?? new Set<string>();
        while (stack.length > 0) {
          const v = stack.pop() ?? '';
          if (seen.has(v) || !reach.has(v)) continue;
          seen.add(v);
          stack.push(...(nodes.find((x) => x.name === v)?.depends_on.map((d) => d.on) ?? []));
        }
      }
      const inCycle = nodes.filter((n) => reach.get(n.name)?.has(n.name)).map((n) => n.name).sort();
      const reported = auditDependencies(g).cycle_details.flatMap((c) => c.members).sort();
      assert.deepEqual(reported, inCycle);
    }), { numRuns: 500 });
  });
});

describe('diagrams highlight the findings', () => {
  const estate = estateOf('examples/estate.yaml');
  const report: AuditReport = auditDependencies(estate.graph, estate.modules);

  it('colours every edge of the cycle and of the break-glass paths red in Mermaid', () => {
    const mermaid = renderAuditMermaid(estate.graph, report);
    const lines = mermaid.split('\n');
    const edgeLines = lines.filter((l) => /^\s+n\d+ (-->|-\.->|==>)/.test(l));
    const id = (name: string): string => {
      const m = lines.map((l) => new RegExp(`^\\s+(n\\d+)(\\["|\\{\\{")${name}"`).exec(l)).find((x) => x);
      return m?.[1] ?? '?';
    };
    const indexOf = (from: string, to: string): number => edgeLines.findIndex((l) => l.trim().startsWith(`${id(from)} `) && l.trim().endsWith(` ${id(to)}`) && !l.includes('recovers'));
    const red = /linkStyle ([\d,]+) stroke:#d62728/.exec(mermaid)?.[1]?.split(',').map(Number) ?? [];
    const orange = /linkStyle ([\d,]+) stroke:#ff7f0e/.exec(mermaid)?.[1]?.split(',').map(Number) ?? [];
    for (const [from, to] of [['proxy', 'config-pipeline'], ['config-pipeline', 'dashboard-login'], ['dashboard-login', 'bot-check'], ['bot-check', 'proxy'], ['admin-console', 'dashboard-login'], ['manual-push', 'config-pipeline']] as const) {
      assert.ok(red.includes(indexOf(from, to)), `${from} → ${to} is not red`);
    }
    assert.ok(orange.includes(indexOf('control-plane', 'metrics')), 'the missing fallback is not orange');
    assert.ok(!red.includes(indexOf('dashboard-login', 'session-store')) && !orange.includes(indexOf('dashboard-login', 'session-store')), 'a healthy soft edge is highlighted');
    assert.match(mermaid, /^flowchart LR/);
    assert.match(mermaid, /==>\|"recovers; shares dns=dns-main"\| /);
  });

  it('colours the same edges in Graphviz', () => {
    const dot = renderAuditDot(estate.graph, report);
    assert.match(dot, /^digraph estate \{/);
    assert.match(dot, /"bot-check" -> "proxy" \[color="#d62728"/);
    assert.match(dot, /"control-plane" -> "metrics" \[style=dashed, label="no fallback", color="#ff7f0e"/);
    assert.match(dot, /"dashboard-login" -> "session-store" \[style=dashed, label="fallback"\];/);
    assert.match(dot, /"failsmall-breakglass" \[shape=hexagon, style=filled, fillcolor="#eef3ff"\];/);
  });
});
