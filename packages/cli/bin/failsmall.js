#!/usr/bin/env node
// The failsmall command. Sources are TypeScript, run through tsx's loader so that a fresh
// clone needs no build step (see docs/operations.md).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
