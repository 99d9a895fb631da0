import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DependencyEdge } from '../src/audit/index.ts';
import {
  checkDependencyChange, findingsDigest, isEffectivelyHard, MANIFEST_ERROR_CODES, MANIFEST_LIMITS, parseManifest, personKey, pickApproval, sameSide,
} from '../src/dependency-gate/index.ts';
import type { DependencyFinding, GateApproval, VersionManifest } from '../src/dependency-gate/index.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** `'b'` is a hard edge to b, `'~b'` a soft edge without a fallback, `'~b:cache'` a soft edge falling back to "cache". */
function manifest(...spec: string[]): VersionManifest {
  return {
    depends_on: spec.map((s): DependencyEdge => {
      if (!s.startsWith('~')) return { on: s, hard: true };
      const [on = '', fallback] = s.slice(1).split(':');
      return { on, hard: false, ...(fallback !== undefined ? { fallback } : {}) };
    }),
  };
}

function refused(text: string): { code: string; line?: number; col?: number; message: string; hint?: string }[] {
  const r = parseManifest(text, { file: 'manifest.yaml' });
  assert.equal(r.ok, false, 'expected the manifest to be refused');
  return r.ok ? [] : r.errors;
}

describe('the dependency gate (checkDependencyChange)', () => {
  it('refuses a new hard dependency, naming it and saying why', () => {
    const findings = checkDependencyChange(manifest('~session-store:cached sessions'), manifest('~session-store:cached sessions', 'bot-check'));
    assert.deepEqual(findings.map((f) => [f.dependency, f.kind, f.was]), [['bot-check', 'new-hard-dependency', null]]);
    assert.equal(findings[0]?.reason, 'adds a hard dependency on bot-check, which the current version does not depend on: whenever bot-check is down, this version is down too');
  });

  it('treats a version with no manifest, or no current version, as depending on nothing', () => {
    assert.deepEqual(checkDependencyChange(null, manifest('bot-check')).map((f) => f.kind), ['new-hard-dependency']);
    assert.deepEqual(checkDependencyChange(manifest(), manifest('bot-check')).map((f) => f.kind), ['new-hard-dependency']);
  });

  it('lets through a dependency that is already hard in the current version', () => {
    assert.deepEqual(checkDependencyChange(manifest('bot-check'), manifest('bot-check')), []);
    // A soft edge with no fallback was hard already: making it say so adds nothing.
    assert.deepEqual(checkDependencyChange(manifest('~bot-check'), manifest('bot-check')), []);
  });

  it('lets through soft dependencies that name a fallback', () => {
    assert.deepEqual(checkDependencyChange(null, manifest('~session-store:read-only cached sessions', '~geo-ip:unknown country')), []);
  });

  it('refuses a soft dependency without a fallback as a hard one in disguise', () => {
    const [f] = checkDependencyChange(null, manifest('~geo-ip'));
    assert.equal(f?.kind, 'soft-without-fallback');
    assert.match(f?.reason ?? '', /adds a soft dependency on geo-ip with no fallback: .* hard dependency in disguise/);
    const blank = checkDependencyChange(null, { depends_on: [{ on: 'geo-ip', hard: false, fallback: '  ' }] });
    assert.equal(blank[0]?.kind, 'soft-without-fallback', 'a blank fallback is no fallback');
  });

  it('refuses turning a soft dependency with a fallback into a hard one, or dropping its fallback, quoting the old fallback', () => {
    const before = manifest('~session-store:read-only cached sessions');
    const [hard] = checkDependencyChange(before, manifest('session-store'));
    assert.deepEqual([hard?.kind, hard?.was], ['new-hard-dependency', { hard: false, fallback: 'read-only cached sessions' }]);
    assert.match(hard?.reason ?? '', /makes its dependency on session-store hard: the current version falls back to "read-only cached sessions"/);
    const [dropped] = checkDependencyChange(before, manifest('~session-store'));
    assert.equal(dropped?.kind, 'soft-without-fallback');
    assert.match(dropped?.reason ?? '', /drops the fallback of its soft dependency on session-store/);
  });

  it('finds nothing when the target version declares nothing, or removes dependencies', () => {
    assert.deepEqual(checkDependencyChange(manifest('bot-check'), null), []);
    assert.deepEqual(checkDependencyChange(manifest('bot-check', '~geo-ip'), manifest()), []);
  });

  it('lists findings in the order the target manifest declares them', () => {
    const kinds = checkDependencyChange(null, manifest('~c', 'a', '~b:cache', 'd')).map((f) => `${f.dependency}:${f.kind}`);
    assert.deepEqual(kinds, ['c:soft-without-fallback', 'a:new-hard-dependency', 'd:new-hard-dependency']);
  });

  describe('properties', () => {
    const names = ['a', 'b', 'c', 'd'];
    const edge = fc.record({ on: fc.constantFrom(...names), hard: fc.boolean(), fallback: fc.option(fc.constantFrom('cache', '', 'stale'), { nil: undefined }) })
      .map((e): DependencyEdge => ({ on: e.on, hard: e.hard, ...(e.fallback !== undefined ? { fallback: e.fallback } : {}) }));
    const arbitraryManifest = fc.uniqueArray(edge, { selector: (e) => e.on, maxLength: 4 }).map((depends_on): VersionManifest => ({ depends_on }));

    it('a version compared with itself has no findings', () => {
      fc.assert(fc.property(arbitraryManifest, (m) => checkDependencyChange(m, m).length === 0));
    });

    it('every finding is an effectively hard dependency of the target that the current version does not have hard', () => {
      fc.assert(fc.property(fc.option(arbitraryManifest, { nil: null }), arbitraryManifest, (from, to) => {
        for (const f of checkDependencyChange(from, to)) {
          const target = to.depends_on.find((e) => e.on === f.dependency);
          assert.ok(target && isEffectivelyHard(target));
          assert.equal(f.kind, target.hard ? 'new-hard-dependency' : 'soft-without-fallback');
          const current = from?.depends_on.find((e) => e.on === f.dependency);
          assert.ok(current === undefined || !isEffectivelyHard(current));
          assert.ok(f.reason.includes(f.dependency));
        }
      }));
    });

    it('adding a soft dependency with a fallback never adds a finding', () => {
      fc.assert(fc.property(arbitraryManifest, arbitraryManifest, (from, to) => {
        const extra: DependencyEdge = { on: 'fallback-only', hard: false, fallback: 'serve stale' };
        assert.deepEqual(checkDependencyChange(from, { depends_on: [...to.depends_on, extra] }), checkDependencyChange(from, to));
      }));
    });
  });
});

describe('the version manifest (parseManifest)', () => {
  it('reads the examples, YAML and JSON alike', () => {
    const files = readdirSync(new URL('examples/manifests/', root)).filter((f) => /\.(ya?ml|json)$/.test(f));
    assert.ok(files.length >= 2);
    for (const f of files) {
      const r = parseManifest(read(`examples/manifests/${f}`), { file: f });
      assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => `${e.line}:${e.col} ${e.code} ${e.message}`).join('\n'));
      assert.deepEqual(r.warnings, []);
    }
    const yaml = parseManifest(read('examples/manifests/hard-dependency.yaml'));
    const json = parseManifest(read('examples/manifests/hard-dependency.json'));
    assert.ok(yaml.ok && json.ok);
    const strip = (m: VersionManifest) => m.depends_on.map(({ on, hard, fallback }) => ({ on, hard, fallback }));
    assert.deepEqual(strip(yaml.value), strip(json.value));
    assert.deepEqual(strip(yaml.value), [{ on: 'bot-check', hard: true, fallback: undefined }, { on: 'session-store', hard: false, fallback: 'read-only cached sessions' }]);
  });

  it('accepts depends_on: [] for a version that needs nothing', () => {
    const r = parseManifest('depends_on: []\n');
    assert.ok(r.ok);
    assert.deepEqual(r.value, { depends_on: [] });
  });

  it('points at each mistake with file, line, column and a hint', () => {
    const errors = refused([
      'depends_on:',
      '  - { on: bot-check, hard: yes }',
      '  - { on: bot-check, hard: true }',
      '  - { on: "geo ip", hard: false }',
      '  - { on: cache, hard: false, fallbak: "stale" }',
      '  - session-store',
    ].join('\n'));
    assert.deepEqual(errors.map((e) => [e.code, e.line]), [
      ['WRONG_TYPE', 2], ['DUPLICATE_DEPENDENCY', 3], ['BAD_NAME', 4], ['UNKNOWN_KEY', 5], ['WRONG_TYPE', 6],
    ]);
    for (const e of errors) assert.ok(e.col !== undefined && e.hint, `${e.code} has a column and a hint`);
    assert.match(errors[0]?.hint ?? '', /yes\/no are strings/);
    assert.match(errors[3]?.hint ?? '', /fallback/);
    assert.match(errors[4]?.hint ?? '', /on: session-store, hard: true/);
  });

  it('refuses an empty file, a list at the top, a missing depends_on and unknown keys', () => {
    assert.deepEqual(refused('').map((e) => e.code), ['EMPTY_DOCUMENT']);
    assert.deepEqual(refused('- bot-check\n').map((e) => e.code), ['WRONG_TYPE']);
    assert.deepEqual(refused('{}\n').map((e) => e.code), ['MISSING_KEY']);
    const typo = refused('dependson: []\n');
    assert.deepEqual(typo.map((e) => e.code).sort(), ['MISSING_KEY', 'UNKNOWN_KEY']);
    assert.match(typo.find((e) => e.code === 'UNKNOWN_KEY')?.hint ?? '', /depends_on/);
  });

  it('refuses broken YAML and JSON with a position', () => {
    const yaml = refused('depends_on:\n  - { on: bot-check, hard: true\n');
    assert.equal(yaml[0]?.code, 'YAML_SYNTAX');
    assert.ok(yaml[0]?.line);
    const json = refused('{ "depends_on": [ { "on": "bot-check", "hard": true }, ] ');
    assert.equal(json[0]?.code, 'YAML_SYNTAX');
  });

  it('keeps a manifest small enough for its header', () => {
    const many = `depends_on:\n${Array.from({ length: MANIFEST_LIMITS.dependencies + 1 }, (_, i) => `  - { on: s${i}, hard: false, fallback: cache }`).join('\n')}\n`;
    assert.deepEqual(refused(many).map((e) => e.code), ['TOO_MANY_DEPENDENCIES']);
    assert.deepEqual(refused(`depends_on: [ { on: ${'a'.repeat(65)}, hard: true } ]\n`).map((e) => e.code), ['BAD_NAME']);
    const long = refused(`depends_on: [ { on: cache, hard: false, fallback: "${'x'.repeat(201)}" } ]\n`);
    assert.deepEqual(long.map((e) => [e.code, e.line]), [['TOO_LONG', 1]]);
  });

  it('warns about a fallback on a hard edge, which is never used', () => {
    const r = parseManifest('depends_on:\n  - { on: bot-check, hard: true, fallback: "allow all" }\n', { file: 'm.yaml' });
    assert.ok(r.ok);
    assert.deepEqual(r.warnings.map((w) => [w.code, w.file, w.line]), [['FALLBACK_ON_HARD_EDGE', 'm.yaml', 2]]);
    assert.match(r.warnings[0]?.message ?? '', /this version → "bot-check" is hard/);
  });

  it('never throws: arbitrary text gives a manifest or errors with codes it documents', () => {
    const tokens = fc.array(fc.constantFrom('depends_on:', '\n', '  - ', '{ on: a, hard: true }', 'hard: ', 'on: ', 'fallback: x', '[', ']', '{', '}', ',', '&a ', '*a', 'yes', '"', ' '), { maxLength: 30 });
    fc.assert(fc.property(tokens, (parts) => {
      const r = parseManifest(parts.join(''));
      if (!r.ok) for (const e of r.errors) assert.ok((MANIFEST_ERROR_CODES as readonly string[]).includes(e.code), e.code);
    }));
  });
});

describe('pickApproval: four eyes over the findings approved', () => {
  const hard: DependencyFinding = { dependency: 'bot-check', kind: 'new-hard-dependency', was: null, reason: 'adds a hard dependency on bot-check' };
  const soft: DependencyFinding = { dependency: 'geo-ip', kind: 'soft-without-fallback', was: null, reason: 'adds a soft dependency without a fallback' };
  const approval = (over: Partial<GateApproval> = {}): GateApproval => ({
    id: 'a-1', artifact: 'features', version: 'v2', from_version: 'v1', findings: [hard], digest: findingsDigest([hard]),
    approver: 'alice', reason: 'reviewed', created_at: 0, expires_at: 1000, used_by: null, used_at: null, ...over,
  });

  it('takes someone else\'s unused, unexpired approval of these very findings', () => {
    const r = pickApproval([approval()], [hard], 'bob', 999);
    assert.equal(r.ok && r.approval.id, 'a-1');
  });

  it('compares names without case, so ALICE cannot approve for Alice', () => {
    const r = pickApproval([approval()], [hard], 'ALICE', 1);
    assert.equal(!r.ok && r.code, 'SELF_APPROVAL');
  });

  it('refuses an expired, a spent and a stale approval, saying which', () => {
    const why = (as: GateApproval[], findings = [hard]) => { const r = pickApproval(as, findings, 'bob', 1000); return r.ok ? 'ok' : `${r.code}: ${r.message}`; };
    assert.match(why([approval()]), /^NO_APPROVAL: the approval on record has expired/);
    assert.match(why([approval({ used_by: 'r-9', expires_at: 5000 })]), /^NO_APPROVAL: every approval on record was already used \(by r-9\)/);
    assert.match(why([approval({ expires_at: 5000 })], [hard, soft]), /^NO_APPROVAL: the approval on record was made against other findings/);
    assert.match(why([]), /^NO_APPROVAL: no approval is on record/);
  });

  it('prefers a usable approval by someone else over the caller\'s own', () => {
    const r = pickApproval([approval({ id: 'a-own', approver: 'bob', expires_at: 5000 }), approval({ id: 'a-2', expires_at: 5000 })], [hard], 'bob', 1);
    assert.equal(r.ok && r.approval.id, 'a-2');
  });

  it('digests findings independently of order and wording', () => {
    assert.equal(findingsDigest([hard, soft]), findingsDigest([{ ...soft, reason: 'other words' }, hard]));
    assert.notEqual(findingsDigest([hard]), findingsDigest([{ ...hard, was: { hard: false, fallback: 'cache' } }]));
  });
});

describe('four eyes across token lineage', () => {
  const hard: DependencyFinding = { dependency: 'bot-check', kind: 'new-hard-dependency', was: null, reason: 'adds a hard dependency on bot-check' };
  const approvalBy = (approver: string): GateApproval => ({
    id: `a-${approver}`, artifact: 'features', version: 'v2', from_version: 'v1', findings: [hard], digest: findingsDigest([hard]),
    approver, reason: 'reviewed', created_at: 0, expires_at: 1000, used_by: null, used_at: null,
  });
  // admin made alice and bob; alice made mallory.
  const lineage = new Map<string, string | null>([['admin', null], ['alice', 'admin'], ['bob', 'admin'], ['mallory', 'alice']]);

  it('compares names as people: case, spacing and width do not make another person', () => {
    assert.equal(personKey(' Ａｌｉｃｅ  Smith '), 'alice smith');
    assert.ok(sameSide('Admin ', 'admin'));
  });

  it('treats a token and every token it made, however far down, as one side', () => {
    assert.ok(sameSide('mallory', 'alice', lineage), 'alice made mallory');
    assert.ok(sameSide('mallory', 'admin', lineage), 'admin made alice, who made mallory');
    assert.ok(sameSide('admin', 'bob', lineage));
    assert.ok(!sameSide('alice', 'bob', lineage), 'siblings are two people');
    assert.ok(!sameSide('mallory', 'bob', lineage));
  });

  it('refuses an approval from the token that made the starter\'s, or one the starter made', () => {
    const self = pickApproval([approvalBy('mallory')], [hard], 'alice', 1, lineage);
    assert.equal(!self.ok && self.code, 'SELF_APPROVAL');
    assert.match(!self.ok ? self.message : '', /mallory, whose token and alice's were made one from the other/);
    const fine = pickApproval([approvalBy('alice')], [hard], 'bob', 1, lineage);
    assert.equal(fine.ok && fine.approval.approver, 'alice');
  });

  it('survives a cycle in the lineage (a hand-edited store) without looping', () => {
    const cyclic = new Map<string, string | null>([['a', 'b'], ['b', 'a']]);
    assert.ok(sameSide('a', 'b', cyclic));
    assert.ok(!sameSide('a', 'c', cyclic));
  });
});
