import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeSubjects, NOTHING, placeSignal, RELATED_WITHIN_MS, type Incident, type IncidentSubject } from '../src/index.ts';

const T = Date.UTC(2026, 10, 26, 11, 0, 0);
const about = (o: Partial<IncidentSubject>): IncidentSubject => mergeSubjects(NOTHING, o);
const incident = (id: string, o: Partial<Incident> = {}): Incident => ({
  id, title: id, severity: 'sev3', status: 'open', opened_by: 'manual', opened_at: T, resolved_at: null, rollout_id: null, about: NOTHING, last_signal_at: T, ...o,
});

describe('the grouping rule (placeSignal)', () => {
  it('gives a failed rollout its own incident, never one that holds another rollout', () => {
    const v2 = incident('inc-v2', { rollout_id: 'r-2', about: about({ artifacts: ['features'], modules: ['bot-management'] }) });
    const failed = { kind: 'rollout' as const, at: T + 60_000, rollout: 'r-3', about: about({ artifacts: ['features'], modules: ['bot-management'] }) };
    assert.equal(placeSignal(failed, [v2]).type, 'open');
    assert.deepEqual(placeSignal({ ...failed, rollout: 'r-2' }, [v2]), { type: 'join', incident: 'inc-v2', adopt: false, why: 'the incident of rollout r-2' });
  });

  it('lets a related incident with no rollout adopt a failed rollout', () => {
    const hand = incident('inc-hand', { about: about({ modules: ['bot-management'] }) });
    const unrelated = incident('inc-eu', { last_signal_at: T + 1000 });
    const p = placeSignal({ kind: 'rollout', at: T + 60_000, rollout: 'r-4', about: about({ artifacts: ['features'], modules: ['bot-management'] }) }, [unrelated, hand]);
    assert.deepEqual(p, { type: 'join', incident: 'inc-hand', adopt: true, why: 'names bot-management' });
  });

  it('joins only within the window of the incident\'s last signal, on either side', () => {
    const open = [incident('inc-1', { about: about({ modules: ['proxy'] }) })];
    const alert = (at: number) => placeSignal({ kind: 'alert', at, about: about({ modules: ['proxy'] }) }, open).type;
    assert.deepEqual([alert(T + RELATED_WITHIN_MS), alert(T - RELATED_WITHIN_MS), alert(T + RELATED_WITHIN_MS + 1), alert(T - RELATED_WITHIN_MS - 1)], ['join', 'join', 'open', 'open']);
  });

  it('relates alerts by name when their labels name nothing, and prefers the most recently active incident', () => {
    const older = incident('inc-old', { about: about({ alerts: ['HighErrorRate'] }), last_signal_at: T });
    const newer = incident('inc-new', { about: about({ alerts: ['HighErrorRate'] }), last_signal_at: T + 60_000 });
    const p = placeSignal({ kind: 'alert', at: T + 120_000, about: about({ alerts: ['HighErrorRate'] }) }, [older, newer]);
    assert.deepEqual(p, { type: 'join', incident: 'inc-new', adopt: false, why: 'alert HighErrorRate' });
    assert.equal(placeSignal({ kind: 'alert', at: T, about: about({ alerts: ['DiskFull'] }) }, [older]).type, 'open');
  });

  it('never opens an incident for a vendor status change or an external change', () => {
    for (const kind of ['vendor', 'change'] as const) {
      assert.equal(placeSignal({ kind, at: T, about: about({ dependencies: ['cdn'] }) }, []).type, 'none');
      assert.equal(placeSignal({ kind, at: T, about: about({ dependencies: ['cdn'] }) }, [incident('inc-1', { about: about({ dependencies: ['cdn'] }) })]).type, 'join');
    }
  });

  it('relates nothing to an incident that names nothing (a hand-opened one without modules, or one from before the rule)', () => {
    const { about: _none, ...legacy } = incident('inc-legacy');
    for (const open of [incident('inc-bare'), legacy]) {
      assert.equal(placeSignal({ kind: 'manual', at: T, about: about({ modules: ['proxy'] }) }, [open]).type, 'open');
    }
  });
});
