export { Agent, type AgentOptions, type AgentLog } from './agent.ts';
export { loadArtifact, type LoadArtifactOptions, type ArtifactHandle } from './sdk.ts';
export { SafeLoader, fileSha256, type Loader, type LoadRequest, type LoadResult, type SafeLoaderOptions, type ApplyCallback } from './loader.ts';
export { LastKnownGood, type LastKnownGoodCopy, type LkgRead } from './lkg.ts';
export { AgentMetrics } from './metrics.ts';
export { ModuleMeter } from './counters.ts';
export { Backoff } from './backoff.ts';
export { runCommand, type CommandResult } from './command.ts';
export { writeAtomic } from './files.ts';
