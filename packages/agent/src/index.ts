export { Agent, type AgentOptions, type AgentLog } from './agent.ts';
export { loadArtifact, type LoadArtifactOptions, type ArtifactHandle } from './sdk.ts';
export { SafeLoader, fileSha256, type Loader, type LoadRequest, type LoadResult, type SafeLoaderOptions, type ApplyCallback } from './loader.ts';
export { LastKnownGood, type LastKnownGoodCopy, type LkgRead } from './lkg.ts';
export { AgentMetrics } from './metrics.ts';
export { ModuleMeter } from './counters.ts';
export { writeAtomic } from './files.ts';
export { SourceTracker, clientPrefix, dependencyCounter, SOURCE_COUNTERS, type SourceTrackerOptions } from './sources.ts';
export { Scraper, parseExposition, fetchExposition, type ScrapeTarget, type ReportedScrapeProblem, type ScraperOptions } from './scrape.ts';
