import { isMap, isSeq } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import { describeNode, didYouMean, type FieldReader, type SourceEntry, type YamlSource } from '@failsmall/core';
import type { BadNodes, Bursts, Fault, LabelCondition, StagedHuman } from './types.ts';

const BAD_NODES_KEYS = ['share', 'error_rate'] as const;
const BURSTS_KEYS = ['every', 'length', 'error_rate', 'share', 'where'] as const;
const FAULT_KEYS = ['type', 'from', 'until', 'share', 'where'] as const;
export const FAULT_TYPES = ['metrics_outage', 'silent_agents', 'lost_load_reports'] as const;
const HUMAN_KEYS = ['approve_after', 'resume_after', 'rollback_after'] as const;
const FAULT_HINT = '- { type: metrics_outage, from: 10m, until: 20m }';

/**
 * The conditions around a change that real fleets have and generated ones lack: uneven nodes,
 * correlated noise, a control plane that loses sight of part of the fleet, and a person in the
 * loop. Each is optional; a scenario without them runs exactly as before.
 */
export class ConditionsReader {
  readonly #src: YamlSource;
  readonly #f: FieldReader;
  readonly #where: (e: SourceEntry) => LabelCondition[] | undefined;

  constructor(src: YamlSource, f: FieldReader, where: (e: SourceEntry) => LabelCondition[] | undefined) {
    this.#src = src;
    this.#f = f;
    this.#where = where;
  }

  /** A mapping section: its entries, with unknown keys reported. */
  #section(e: SourceEntry, keys: readonly string[], what: string, hint: string): { map: YAMLMap; entries: SourceEntry[] } | undefined {
    const map = this.#f.map(e, hint);
    if (!map) return undefined;
    const entries = this.#src.entries(map, e.path);
    this.#src.checkKeys(entries, keys, what);
    return { map, entries };
  }

  /** `traffic.bad_nodes: { share: 0.005, error_rate: 0.05 }` */
  badNodes(e: SourceEntry): BadNodes | undefined {
    const read = this.#section(e, BAD_NODES_KEYS, 'bad_nodes', 'e.g. bad_nodes: { share: 0.005, error_rate: 0.05 }');
    if (!read) return undefined;
    const { map, entries } = read;
    const sE = this.#f.require(entries, 'share', map, e.path, 'e.g. share: 0.005 (0.5% of the nodes)');
    const rE = this.#f.require(entries, 'error_rate', map, e.path, 'e.g. error_rate: 0.05');
    const share = sE ? this.#f.ratio(sE) : undefined;
    const rate = rE ? this.#f.number(rE, { min: 0, max: 1 }) : undefined;
    return share === undefined || rate === undefined ? undefined : { share, error_rate: rate };
  }

  /** `traffic.bursts: { every: 20m, length: 2m, error_rate: 0.01, share: 0.3, where: { region: eu } }` */
  bursts(e: SourceEntry): Bursts | undefined {
    const read = this.#section(e, BURSTS_KEYS, 'bursts', 'e.g. bursts: { every: 20m, length: 2m, error_rate: 0.01, share: 0.3 }');
    if (!read) return undefined;
    const { map, entries } = read;
    const everyE = this.#f.require(entries, 'every', map, e.path, 'e.g. every: 20m (on average)');
    const lengthE = this.#f.require(entries, 'length', map, e.path, 'e.g. length: 2m');
    const rateE = this.#f.require(entries, 'error_rate', map, e.path, 'e.g. error_rate: 0.01');
    const every = everyE ? this.#f.duration(everyE) : undefined;
    const length = lengthE ? this.#f.duration(lengthE) : undefined;
    const rate = rateE ? this.#f.number(rateE, { min: 0, exclusiveMin: true, max: 1 }) : undefined;
    const shareE = entries.find((x) => x.key === 'share');
    const share = shareE ? this.#f.ratio(shareE, { exclusiveMin: true }) : 1;
    const whereE = entries.find((x) => x.key === 'where');
    const where = whereE ? this.#where(whereE) : [];
    if (every === undefined || length === undefined || rate === undefined || share === undefined || where === undefined) return undefined;
    return { every_ms: every, length_ms: length, error_rate: rate, share, where };
  }

  /** `faults: [ { type: silent_agents, share: 0.02, from: 5m, until: 25m }, … ]` */
  faults(e: SourceEntry, duration: number | undefined): Fault[] | undefined {
    if (e.value === null) return [];
    if (!isSeq(e.value)) {
      this.#src.error('WRONG_TYPE', `faults must be a list, got ${describeNode(e.value)}`, e.value, e.path, FAULT_HINT);
      return undefined;
    }
    const out: Fault[] = [];
    let ok = true;
    e.value.items.forEach((item, i) => {
      const path = `${e.path}[${i}]`;
      const node = this.#src.deref(item as Node);
      const f = isMap(node) ? this.#fault({ key: String(i), keyNode: node, value: node, path }, duration) : undefined;
      if (!isMap(node)) this.#src.error('WRONG_TYPE', `fault ${i + 1} must be a mapping with type:, got ${describeNode(node)}`, node ?? e.value, path, FAULT_HINT);
      if (f) out.push(f); else ok = false;
    });
    return ok ? out : undefined;
  }

  #fault(e: SourceEntry, duration: number | undefined): Fault | undefined {
    const read = this.#section(e, FAULT_KEYS, 'a fault', FAULT_HINT);
    if (!read) return undefined;
    const { map, entries } = read;
    const typeE = this.#f.require(entries, 'type', map, e.path, `one of ${FAULT_TYPES.join(', ')}`);
    const typeText = typeE ? this.#f.scalarText(typeE) : undefined;
    const type = FAULT_TYPES.find((t) => t === typeText);
    if (typeE && typeText !== undefined && type === undefined) {
      this.#src.error('BAD_ENUM', `fault type must be ${FAULT_TYPES.join(', ')}, got "${typeText}"`, typeE.value, typeE.path, didYouMean(typeText, FAULT_TYPES, 'fault types'));
    }
    const fromE = entries.find((x) => x.key === 'from');
    const from = fromE ? this.#f.duration(fromE, { zeroOk: true }) : 0;
    const untilE = entries.find((x) => x.key === 'until');
    const until = untilE ? this.#f.duration(untilE) : duration;
    const shareE = entries.find((x) => x.key === 'share');
    const share = shareE ? this.#f.ratio(shareE, { exclusiveMin: true }) : 1;
    const whereE = entries.find((x) => x.key === 'where');
    const where = whereE ? this.#where(whereE) : [];
    if (from !== undefined && until !== undefined && until <= from) {
      this.#src.error('BAD_VALUE', 'the fault ends before it starts', untilE?.value ?? fromE?.value ?? map, untilE?.path ?? e.path, 'until: must be later than from: (both count from the start of the scenario)');
      return undefined;
    }
    if (type === undefined || from === undefined || until === undefined || share === undefined || where === undefined) return undefined;
    return { type, from_ms: from, until_ms: until, share, where };
  }

  /** `human: { approve_after: 10m, resume_after: 15m, rollback_after: 45m }` */
  human(e: SourceEntry): StagedHuman | undefined {
    const read = this.#section(e, HUMAN_KEYS, 'human', 'e.g. human: { approve_after: 10m, rollback_after: 45m }');
    if (!read) return undefined;
    const { map, entries } = read;
    const aE = entries.find((x) => x.key === 'approve_after');
    const resE = entries.find((x) => x.key === 'resume_after');
    const rE = entries.find((x) => x.key === 'rollback_after');
    if (!aE && !resE && !rE) {
      this.#src.error('MISSING_KEY', 'human: needs at least one of approve_after:, resume_after: and rollback_after:', map, e.path, 'e.g. human: { approve_after: 10m, rollback_after: 45m }');
      return undefined;
    }
    const approve = aE ? this.#f.duration(aE, { zeroOk: true }) : null;
    const resume = resE ? this.#f.duration(resE, { zeroOk: true }) : null;
    const rollback = rE ? this.#f.duration(rE, { zeroOk: true }) : null;
    return approve === undefined || resume === undefined || rollback === undefined ? undefined : { approve_after_ms: approve, resume_after_ms: resume, rollback_after_ms: rollback };
  }
}
