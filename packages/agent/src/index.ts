export { Agent, type AgentOptions, type AgentLog } from './agent.ts';
export { FileLoader, type Loader, type LoadRequest, type LoadResult } from './loader.ts';
export { ModuleMeter } from './counters.ts';
export { Backoff } from './backoff.ts';
export { writeAtomic } from './files.ts';
