export { startServer, type RunningServer, type ServeOptions } from './serve.ts';
export { buildApp } from './app.ts';
export { Controller, systemClock, type Clock } from './controller/controller.ts';
export { DesiredHub, type DesiredState, type DesiredArtifact } from './desired/hub.ts';
export { hashToken, newToken } from './http/auth.ts';
export { openStore, parseStoreUrl } from './store/index.ts';
export type * from './store/types.ts';
export { parseNotifyTargets, type NotifyTarget } from './notify/index.ts';
