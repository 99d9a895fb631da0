import type { YAMLMap } from 'yaml';
import { didYouMean, valueNode, type FieldReader, type NumberBounds, type SourceEntry, type YamlSource } from '@failsmall/core';
import type { DependencyDecl } from './types.ts';

/**
 * What a triage scenario declared before its events (its duration, modules, dependencies, vendors), with the
 * reader and the source every part of the parser reports through. Events and effects may only
 * name what is declared; each lookup reports UNKNOWN_* with a did-you-mean and returns undefined.
 */
export class Declared {
  readonly src: YamlSource;
  readonly f: FieldReader;
  duration_ms: number | undefined;
  modules: readonly string[] = [];
  dependencies: readonly DependencyDecl[] = [];
  vendors: readonly string[] = [];

  constructor(src: YamlSource, f: FieldReader) {
    this.src = src;
    this.f = f;
  }

  module(e: SourceEntry): string | undefined {
    const m = this.f.scalarText(e);
    if (m === undefined) return undefined;
    if (this.modules.includes(m)) return m;
    this.src.error('UNKNOWN_MODULE', `module "${m}" is not declared under modules:`, valueNode(e), e.path, didYouMean(m, this.modules, 'modules'));
    return undefined;
  }

  moduleList(e: SourceEntry): string[] | undefined {
    const list = this.f.strings(e, 'e.g. [ api, billing ]');
    if (!list) return undefined;
    const unknown = list.filter((m) => !this.modules.includes(m));
    for (const m of unknown) {
      this.src.error('UNKNOWN_MODULE', `module "${m}" is not declared under modules:`, valueNode(e), e.path, didYouMean(m, this.modules, 'modules'));
    }
    return unknown.length > 0 ? undefined : list;
  }

  /** A declared dependency: ours only (`vendor` false), a vendor's only (true), or either (null). */
  dependency(e: SourceEntry, vendor: boolean | null): string | undefined {
    const name = this.f.scalarText(e);
    if (name === undefined) return undefined;
    const allowed = this.dependencies.filter((d) => vendor === null || (d.vendor !== null) === vendor).map((d) => d.name);
    if (allowed.includes(name)) return name;
    const isVendor = this.dependencies.find((d) => d.name === name)?.vendor;
    const hint = isVendor !== undefined && isVendor !== null ? `${name} is ${isVendor}'s API: use a vendor_outage event for it` : didYouMean(name, allowed, 'dependencies');
    this.src.error('UNKNOWN_DEPENDENCY', `dependency "${name}" is not declared under dependencies:${vendor === false ? ' as one of ours' : ''}`, valueNode(e), e.path, hint);
    return undefined;
  }

  /** A list of declared dependencies, ours or vendors'. */
  dependencyList(e: SourceEntry): string[] | undefined {
    const list = this.f.strings(e, 'e.g. [ orders-db ]');
    if (!list) return undefined;
    const names = this.dependencies.map((d) => d.name);
    const unknown = list.filter((n) => !names.includes(n));
    for (const n of unknown) this.src.error('UNKNOWN_DEPENDENCY', `dependency "${n}" is not declared under dependencies:`, valueNode(e), e.path, didYouMean(n, names, 'dependencies'));
    return unknown.length > 0 ? undefined : list;
  }

  /** A vendor named by a dependency's vendor: (APIs) or under vendors: (status pages). */
  vendor(e: SourceEntry, apiOrPage: boolean): string | undefined {
    const name = this.f.scalarText(e);
    if (name === undefined) return undefined;
    const apis = this.dependencies.flatMap((d) => (d.vendor !== null ? [d.vendor] : []));
    const allowed = apiOrPage ? [...new Set([...apis, ...this.vendors])] : this.vendors;
    if (allowed.includes(name)) return name;
    this.src.error('UNKNOWN_VENDOR', `vendor "${name}" is not declared${apiOrPage ? ' (by a dependency\'s vendor: or under vendors:)' : ' under vendors:'}`, valueNode(e), e.path, didYouMean(name, allowed, 'vendors'));
    return undefined;
  }

  /** `at:`, a time after the scenario start and before its end. */
  at(entries: readonly SourceEntry[], owner: YAMLMap, path: string): number | undefined {
    const atE = this.f.require(entries, 'at', owner, path, 'when it starts, after the scenario start: e.g. at: 5m (or at: 0s)');
    const at = atE ? this.f.duration(atE, { zeroOk: true }) : undefined;
    if (at !== undefined && this.duration_ms !== undefined && at >= this.duration_ms && atE) {
      this.src.error('BAD_VALUE', `at ${at} ms is not before the end of the scenario (${this.duration_ms} ms)`, atE.value, atE.path, 'move it earlier or make the scenario longer');
    }
    return at;
  }

  /** `until:`, after `at` (null when absent: until the end). */
  until(entries: readonly SourceEntry[], at: number | undefined): number | null | undefined {
    const untilE = entries.find((x) => x.key === 'until');
    const until = untilE ? this.f.duration(untilE) : null;
    if (until !== null && until !== undefined && at !== undefined && until <= at && untilE) this.src.error('BAD_VALUE', 'until is not after at', untilE.value, untilE.path, 'until counts from the scenario start, like at');
    return until;
  }

  /** A number within `min`..`max`, with a hint when it is outside them (FieldReader's range error has none). */
  number(e: SourceEntry, o: NumberBounds & { readonly min: number; readonly max: number }, hint: string): number | undefined {
    const n = this.f.number(e, o.integer === true ? { integer: true } : {});
    if (n === undefined) return undefined;
    const low = o.exclusiveMin === true ? n <= o.min : n < o.min;
    if (!low && n <= o.max) return n;
    this.src.error('BAD_VALUE', `${e.key} must be ${o.exclusiveMin === true ? 'greater than' : 'at least'} ${o.min} and at most ${o.max}, got ${n}`, valueNode(e), e.path, hint);
    return undefined;
  }

  /** The optional entry `key` read by `read`, or `dflt` when it is absent. */
  optional<T>(entries: readonly SourceEntry[], key: string, read: (e: SourceEntry) => T | undefined, dflt: T): T | undefined {
    const e = entries.find((x) => x.key === key);
    return e ? read(e) : dflt;
  }
}
