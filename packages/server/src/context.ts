import type { KeyObject } from 'node:crypto';
import type { Controller, Clock } from './controller/controller.ts';
import type { DesiredHub } from './desired/hub.ts';
import type { IncidentService } from './incidents/service.ts';
import type { Store } from './store/types.ts';
import type { PrometheusClient } from './signals/index.ts';
import type { ServerMetrics } from './telemetry/metrics.ts';

/** What every route plugin is handed: the store, the desired-state hub, the controller and the clock. */
export interface AppContext {
  readonly store: Store;
  readonly hub: DesiredHub;
  readonly controller: Controller;
  readonly clock: Clock;
  /** Incidents: the recorder over the event log, alert ingestion, triage. */
  readonly incidents: IncidentService;
  /** The control plane's own metrics, served at /metrics. */
  readonly metrics: ServerMetrics;
  /** Largest artifact version accepted on push, in bytes. */
  readonly maxArtifactBytes: number;
  /** Longest long-poll an agent may ask for. */
  readonly maxWaitMs: number;
  /** Aborted when the server begins to stop: a long-poll ends at once and reads nothing more, so none outlives the store. */
  readonly closing?: AbortSignal;
  /** The artifact signing key: every version pushed without a signature is signed with it. */
  readonly signer?: KeyObject;
  /** The public key a pushed signature must verify against (the signer's public half, or one given). */
  readonly verifier?: KeyObject;
  /**
   * Per artifact: the validator command run at push. From the server's own configuration
   * (serve --validator NAME=COMMAND), never from a declaration: a command sent over the API
   * would let one admin token run a shell on the control plane.
   */
  readonly validators: Readonly<Record<string, string>>;
  /**
   * The break-glass key's public half (never its private half: that stays off the control plane).
   * With it, an `applied` or `checked` break-glass entry a node reports is stored only if the
   * envelope it carries verifies and says the same (core verifyReport); without it, every entry is
   * stored marked `verified: false`.
   */
  readonly breakglassVerifier?: KeyObject;
  /**
   * How nodes join the fleet: `approval` (default: the fleet token registers a node as pending;
   * a join token or an admin admits it) or `open` (every registration is admitted: demos, labs).
   */
  readonly enrolment: 'approval' | 'open';
  /** The installation's Prometheus: apply asks it whether each gate's query parses. */
  readonly prometheus?: PrometheusClient;
}
