import type { AssetConditionSpec } from './assets.js';
import type { Duration, TaskPolicy, WebhookOptions } from './interfaces.js';

/**
 * The contract between a DAG bundle and the platform: what `Dag.toStructure()` emits
 * when a bundle is loaded at deploy time. Plain JSON, versioned by `format`. The server
 * validates it and fills in defaults before storing it with the DagVersion.
 */
export interface RawDagStructure {
  format: 1;
  id: string;
  description: string | null;
  schedule: string | null;
  tags: string[];
  defaultArgs: TaskPolicy;
  /** Absent in bundles built before it existed (read as false). */
  failRunOnAnyFailure?: boolean;
  /** The params' JSON Schema (`DagOptions.params`), or null. Absent in older bundles. */
  params?: unknown;
  /** DagOptions.maxActiveTasks; absent: no limit. */
  maxActiveTasks?: number;
  /** `DagOptions.retention`; absent: the platform's policy. */
  retention?: { days: number };
  /** `DagOptions.pausedOnCreation`; absent: false. */
  pausedOnCreation?: boolean;
  /** The run callbacks the DAG has. */
  callbacks?: Array<'onSuccess' | 'onFailure'>;
  /** DagOptions.timezone (absent: UTC). */
  timezone?: string;
  /** DagOptions.startDate / endDate as ISO 8601 text (absent: none). */
  startDate?: string;
  endDate?: string;
  /** DagOptions.catchup (absent: false). */
  catchup?: boolean;
  /** DagOptions.maxActiveRuns (absent: 16). */
  maxActiveRuns?: number;
  /** An asset schedule (`schedule` is then null). Absent: none. */
  assetSchedule?: AssetConditionSpec;
  /** Signature checks of the DAG's webhook. Absent: none. */
  webhook?: WebhookOptions;
  tasks: RawTaskStructure[];
}

export interface RawTaskStructure {
  /** Node id within the DAG (a task called twice gets `id__1` for its second node). */
  id: string;
  upstreamIds: string[];
  /** Positional arguments: an upstream XCom, or a literal JSON value. */
  args: ArgSpec[];
  policy: TaskPolicy;
  /**
   * What the platform does with the task's outcome (absent: a plain task). `branch`: the
   * returned task ids are followed, the other direct downstream tasks skipped;
   * `short_circuit`: a falsy return skips what follows; `latest_only`: no user code, skips
   * what follows unless the run is the latest scheduled one.
   */
  kind?: TaskKind;
  /** Full id of the innermost task group it was declared in, if any. */
  groupId?: string;
  /** The callbacks it has (they stay in the bundle). */
  callbacks?: Array<'onSuccess' | 'onFailure' | 'onRetry' | 'onSkip'>;
  /**
   * Present for a mapped task (`task.map()`): what it maps over. Each instance receives one
   * item as its first argument; `args` are the remaining ones.
   */
  map?: MapSpec;
  /** URIs of the assets the task updates. Absent: none. */
  outlets?: string[];
}

/**
 * What a mapped task maps over: one list (`zip: false`), or lists zipped into tuples.
 * A list is an upstream's output (an array, or a mapped task's list of outputs) or a literal array.
 */
export interface MapSpec {
  sources: Array<{ xcom: { taskId: string; key: string } } | { value: unknown[] }>;
  zip: boolean;
}

export type TaskKind =
  | { type: 'branch' }
  | { type: 'short_circuit'; respectTriggerRules: boolean }
  | { type: 'latest_only' }
  | { type: 'sensor'; mode: 'poke' | 'reschedule'; interval: Duration; timeout: Duration; softFail: boolean; exponentialBackoff: boolean };

export type ArgSpec = { xcom: { taskId: string; key: string } } | { value: unknown };
