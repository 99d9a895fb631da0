import { Ajv, type ValidateFunction } from 'ajv';
import type { ArtifactValidation } from '../policy/types.ts';
import { checkLimits, viewContent, type ContentView } from '../validation/index.ts';

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
  const refusals = refusalsOf(content, validation, view);
  return view?.json && refusals.length === 0 ? { refusals, json: view.json } : { refusals };
}

function refusalsOf(content: Uint8Array, validation: ArtifactValidation, view: ContentView | undefined): LoadRefusal[] {
  const refusals: LoadRefusal[] = checkLimits(content, validation, view).map((p) => ({ code: p.code, message: p.message }));
  if (refusals.length > 0 || !validation.json_schema || !view) return refusals;
  if (!view.json) {
    return [{ code: 'NOT_JSON', message: `not JSON, but the artifact declares a json_schema${view.jsonError ? `: ${view.jsonError}` : ''}` }];
  }
  const validate = schemaValidator(validation.json_schema);
  if ('error' in validate) return [{ code: 'SCHEMA', message: validate.error }];
  if (!validate(view.json.value)) {
    const e = validate.errors?.[0];
    return [{ code: 'SCHEMA', message: `fails its JSON Schema: ${e ? `${e.instancePath || '/'} ${e.message ?? ''}`.trim() : 'invalid'}` }];
  }
  return [];
}
