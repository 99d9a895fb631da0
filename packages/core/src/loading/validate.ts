import { Ajv, type ValidateFunction } from 'ajv';
import type { ArtifactValidation, VersionCheck } from '../policy/types.ts';
import { plural } from '../text/plural.ts';
import { checkLimits, countEntries, viewContent, type ContentView } from '../validation/index.ts';

/** Why a version was refused, by whom it can be checked, and a sentence for the report. */
export interface LoadRefusal {
  readonly code: 'MAX_BYTES' | 'MAX_ENTRIES' | 'NOT_JSON' | 'SCHEMA' | 'SHA256' | 'SIGNATURE' | 'COMMAND' | 'APPLY';
  readonly message: string;
}

// Created on the first schema: agents whose artifacts declare none never pay for it.
let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction | { error: string }>();

/** Compiles a JSON Schema once per distinct schema: loaders validate every version against it. */
function schemaValidator(schema: Record<string, unknown>): ValidateFunction | { error: string } {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    try {
      ajv ??= new Ajv({ allErrors: false, strict: false });
      v = ajv.compile(schema);
    } catch (err) {
      v = { error: `the artifact's json_schema does not compile: ${err instanceof Error ? err.message : String(err)}` };
    }
    compiled.set(key, v);
  }
  return v;
}

/**
 * The pure part of validation, shared by the server (on push), every agent (before apply)
 * and the simulator: declared limits, then the JSON Schema. A generated file is user input.
 * (A custom validator command needs a process; the agent and the server run it.)
 *
 * Examples
 *   validateContent(Buffer.from('[1,2,3]'), { max_entries: 2 })
 *   // [{ code: 'MAX_ENTRIES', message: '3 entries > max_entries 2' }]
 */
export function validateContent(content: Uint8Array, validation: ArtifactValidation): LoadRefusal[] {
  return validateContentView(content, validation).refusals;
}

/**
 * The same, also returning the parsed JSON when validation parsed it, so that an in-process
 * module can take the value instead of parsing the same megabyte again.
 */
export function validateContentView(content: Uint8Array, validation: ArtifactValidation): { refusals: LoadRefusal[]; json?: { value: unknown } } {
  // One read, one JSON.parse, shared by the entry count and the schema: a 1 MB file must validate in milliseconds.
  const view = validation.max_entries !== undefined || validation.json_schema ? viewContent(content) : undefined;
  const { refusals } = checksOf(content, validation, view);
  return view?.json && refusals.length === 0 ? { refusals, json: view.json } : { refusals };
}

/**
 * Every check a control plane records for a version at push: the entries counted (whatever the
 * limits), and each declared check with its outcome, passed ones included, so the Artifacts page
 * and `failsmall artifact versions` can say what a version was checked against, not only what
 * it failed. The refusals are validateContent's, from the same run.
 *
 * Examples
 *   checkContent(Buffer.from('[1,2,3]'), { max_entries: 5 })
 *   // { entries: 3, checks: [{ check: 'max_entries', outcome: 'passed', message: '3 entries ≤ max_entries 5' }], refusals: [] }
 */
export function checkContent(content: Uint8Array, validation: ArtifactValidation): { entries: number; checks: VersionCheck[]; refusals: LoadRefusal[] } {
  const view = viewContent(content);
  return { entries: countEntries(view), ...checksOf(content, validation, view) };
}

/** The declared checks in order: limits, then the schema (skipped when a limit failed: no point parsing a file already refused). */
function checksOf(content: Uint8Array, validation: ArtifactValidation, view: ContentView | undefined): { checks: VersionCheck[]; refusals: LoadRefusal[] } {
  const problems = checkLimits(content, validation, view);
  const refusals: LoadRefusal[] = problems.map((p) => ({ code: p.code, message: p.message }));
  const checks: VersionCheck[] = [];
  if (validation.max_bytes !== undefined) {
    const p = problems.find((x) => x.code === 'MAX_BYTES');
    checks.push(p ? { check: 'max_bytes', outcome: 'failed', message: p.message } : { check: 'max_bytes', outcome: 'passed', message: `${plural(content.byteLength, 'byte', 'bytes')} ≤ max_bytes ${validation.max_bytes}` });
  }
  if (validation.max_entries !== undefined) {
    const p = problems.find((x) => x.code === 'MAX_ENTRIES');
    checks.push(p ? { check: 'max_entries', outcome: 'failed', message: p.message } : { check: 'max_entries', outcome: 'passed', message: `${plural(countEntries(view ?? content), 'entry', 'entries')} ≤ max_entries ${validation.max_entries}` });
  }
  if (!validation.json_schema || !view) return { checks, refusals };
  if (refusals.length > 0) {
    checks.push({ check: 'json_schema', outcome: 'skipped', message: `not run: ${refusals.map((r) => r.code.toLowerCase()).join(' and ')} failed first` });
    return { checks, refusals };
  }
  const schema = schemaRefusal(validation.json_schema, view);
  checks.push(schema ? { check: 'json_schema', outcome: 'failed', message: schema.message } : { check: 'json_schema', outcome: 'passed', message: 'matches its JSON Schema' });
  return { checks, refusals: schema ? [schema] : [] };
}

function schemaRefusal(schema: Record<string, unknown>, view: ContentView): LoadRefusal | undefined {
  if (!view.json) {
    return { code: 'NOT_JSON', message: `not JSON, but the artifact declares a json_schema${view.jsonError ? `: ${view.jsonError}` : ''}` };
  }
  const validate = schemaValidator(schema);
  if ('error' in validate) return { code: 'SCHEMA', message: validate.error };
  if (!validate(view.json.value)) {
    const e = validate.errors?.[0];
    return { code: 'SCHEMA', message: `fails its JSON Schema: ${e ? `${e.instancePath || '/'} ${e.message ?? ''}`.trim() : 'invalid'}` };
  }
  return undefined;
}
