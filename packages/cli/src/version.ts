import { readFileSync } from 'node:fs';

// scripts/build.mjs writes the version into the bundle; run from source, it is not defined.
declare const FAILSMALL_VERSION: string | undefined;

/** The package's version, for `failsmall --version`. */
export function cliVersion(): string {
  if (typeof FAILSMALL_VERSION === 'string') return FAILSMALL_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
