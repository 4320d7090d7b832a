// Every GraphQL document the dashboard sends, typed by hand next to its text (schema.graphql
// at the repository root is the reference).
import { gql } from '@urql/core';
import type { RunState, TaskState } from './states';

type Page<T> = { edges: Array<{ node: T }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

export type Role = 'viewer' | 'user' | 'op' | 'admin';

export const ME = gql<{ me: { actor: string; name: string | null; role: Role | null } }>`
  query Me {
    me {
      actor
      name
      role
    }
  }
`;

export interface RunMark {
  id: string;
  runId: string;
  state: RunState;
  logicalDate: string | null;
  startedAt: string | null;
  endedAt: string | null;
}

export interface DagSummary {
  id: string;
  description: string | null;
  paused: boolean;
  schedule: string | null;
  nextRunAt: string | null;
  tags: string[];
  owners: string[] | null;
  importError: { fileName: string; message: string } | null;
  runs: Page<RunMark>;
}

const RUN_MARK = `id runId state logicalDate startedAt endedAt`;

/** DAGs a page at a time (`after`), filtered on the server: the list shows the first pages and fetches more on request. */
export const DAG_PAGE_SIZE = 100;

export const DAGS = gql<
  { dags: Page<DagSummary>; importErrors: Page<{ fileName: string; message: string; createdAt: string }>; dagTags: string[] },
  { first: number; after?: string | null; search?: string | null; tags?: string[] | null; paused?: boolean | null }
>`
  query Dags($first: Int!, $after: String, $search: String, $tags: [String!], $paused: Boolean) {
    dags(first: $first, after: $after, search: $search, tags: $tags, paused: $paused) {
      edges {
        node {
          id
          description
          paused
          schedule
          nextRunAt
          tags
          owners
          importError { fileName message }
          runs(first: 10) { edges { node { ${RUN_MARK} } } pageInfo { hasNextPage endCursor } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
    importErrors(first: 100) {
      edges { node { fileName message createdAt } }
      pageInfo { hasNextPage endCursor }
    }
    dagTags
  }
`;

export const DAGS_CHANGED = gql<{ dagsChanged: { resync: boolean | null; importErrorsChanged: boolean | null; dags: Array<{ id: string; paused: boolean; nextRunAt: string | null }> | null } }>`
  subscription DagsChanged {
    dagsChanged {
      resync
      importErrorsChanged
      dags { id paused nextRunAt }
    }
  }
`;

export const SET_PAUSED = gql<{ setDagPaused: { id: string; paused: boolean } }, { dagId: string; paused: boolean }>`
  mutation SetPaused($dagId: String!, $paused: Boolean!) {
    setDagPaused(input: { dagId: $dagId, paused: $paused }) { id paused }
  }
`;

export interface TaskInfo {
  id: string;
  groupId: string | null;
  mapped: boolean;
  kind: string;
  upstreamIds: string[];
  downstreamIds: string[];
  triggerRule: string;
}

export interface DagDetail {
  id: string;
  description: string | null;
  paused: boolean;
  schedule: string | null;
  nextRunAt: string | null;
  tags: string[];
  fileName: string | null;
  paramsSchema: unknown;
  importError: { fileName: string; message: string } | null;
  tasks: TaskInfo[] | null;
  edges: Array<{ upstreamId: string; downstreamId: string }> | null;
  groups: Array<{ id: string; parentId: string | null; taskIds: string[] }> | null;
}

export const DAG = gql<{ dag: DagDetail | null }, { id: string }>`
  query Dag($id: ID!) {
    dag(id: $id) {
      id
      description
      paused
      schedule
      nextRunAt
      tags
      fileName
      paramsSchema
      importError { fileName message }
      tasks { id groupId mapped kind upstreamIds downstreamIds triggerRule }
      edges { upstreamId downstreamId }
      groups { id parentId taskIds }
    }
  }
`;

export const DAG_SOURCE = gql<{ dag: { id: string; source: string | null } | null; dagRun?: { id: string; dagVersion: { versionNumber: number; sourceCode: string | null } | null } | null }, { id: string; runId: string; withRun: boolean }>`
  query DagSource($id: ID!, $runId: ID!, $withRun: Boolean!) {
    dag(id: $id) { id source }
    dagRun(id: $runId) @include(if: $withRun) { id dagVersion { versionNumber sourceCode } }
  }
`;

export interface GridCell {
  dagRunId: string;
  state: TaskState | null;
  instances: number;
  counts: Array<{ state: TaskState; count: number }>;
}

export interface GridRow {
  task: TaskInfo;
  inLatestVersion: boolean;
  cells: GridCell[];
}

export const DAG_GRID = gql<{ dagGrid: { dagId: string; runs: RunMark[]; rows: Page<GridRow> } | null }, { dagId: string; runs: number; after: string | null }>`
  query DagGrid($dagId: ID!, $runs: Int!, $after: String) {
    dagGrid(dagId: $dagId, runs: $runs) {
      dagId
      runs { ${RUN_MARK} }
      rows(first: 1000, after: $after) {
        edges {
          node {
            inLatestVersion
            task { id groupId mapped kind upstreamIds downstreamIds triggerRule }
            cells { dagRunId state instances counts { state count } }
          }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;

export interface MappedSlice {
  instances: Array<{ dagRunId: string; mapIndex: number; state: TaskState }>;
  items: Array<{ mapIndex: number; label: string | null }>;
}

/**
 * A block of a mapped task's instances across the grid's runs: what its unfolded rows in view
 * draw. Plain text, sent with `postQuery` rather than through the cache: written into the
 * cached grid, each block would make graphcache hand the whole grid out anew.
 */
export const MAPPED_SLICE = `
  query MappedSlice($dagId: ID!, $runs: Int!, $taskId: String!, $from: Int!, $count: Int!) {
    dagGrid(dagId: $dagId, runs: $runs) {
      mappedInstances(taskId: $taskId, fromMapIndex: $from, count: $count) {
        instances { dagRunId mapIndex state }
        items { mapIndex label }
      }
    }
  }
`;
export type MappedSliceData = { dagGrid: { mappedInstances: MappedSlice } | null };

export interface RunDetail extends RunMark {
  dagId: string;
  runType: string;
  conf: unknown;
  params: unknown;
  queuedAt: string | null;
  durationMs: number | null;
  dataIntervalStart: string | null;
  dataIntervalEnd: string | null;
}

const RUN_DETAIL = `${RUN_MARK} dagId runType conf params queuedAt durationMs dataIntervalStart dataIntervalEnd`;

export const DAG_RUNS = gql<{ dagRuns: Page<RunDetail> }, { dagId: string; states: RunState[] | null; after: string | null }>`
  query DagRuns($dagId: String!, $states: [DagRunState!], $after: String) {
    dagRuns(dagId: $dagId, states: $states, first: 50, after: $after) {
      edges { node { ${RUN_DETAIL} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export interface TaskInstanceRow {
  id: string;
  taskId: string;
  mapIndex: number;
  state: TaskState;
  tryNumber: number;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
}

const TI_ROW = `id taskId mapIndex state tryNumber startedAt endedAt durationMs`;

export const DAG_RUN = gql<{ dagRun: RunDetail | null }, { id: string }>`
  query DagRun($id: ID!) {
    dagRun(id: $id) { ${RUN_DETAIL} }
  }
`;

export const RUN_TASK_INSTANCES = gql<
  { dagRun: { id: string; taskInstances: Page<TaskInstanceRow> } | null },
  { id: string; first: number; after: string | null; states: TaskState[] | null; taskId: string | null }
>`
  query RunTaskInstances($id: ID!, $first: Int!, $after: String, $states: [TaskInstanceState!], $taskId: String) {
    dagRun(id: $id) {
      id
      taskInstances(first: $first, after: $after, states: $states, taskId: $taskId) {
        edges { node { ${TI_ROW} } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;

export const DAG_RUN_UPDATED = gql<{ dagRunUpdated: { resync: boolean | null; dagRun: RunDetail | null; taskInstances: TaskInstanceRow[] | null } }, { id: string }>`
  subscription DagRunUpdated($id: ID!) {
    dagRunUpdated(id: $id) {
      resync
      dagRun { ${RUN_DETAIL} }
      taskInstances { ${TI_ROW} }
    }
  }
`;

/** A DAG's runs as they are created or change state: the grid and the runs list re-read on each event. */
export const DAG_RUNS_CHANGED = gql<{ dagRunsChanged: { resync: boolean | null; dagRuns: RunDetail[] | null } }, { dagId: string }>`
  subscription DagRunsChanged($dagId: ID!) {
    dagRunsChanged(dagId: $dagId) {
      resync
      dagRuns { ${RUN_DETAIL} }
    }
  }
`;

export interface TryInfo {
  id: string;
  tryNumber: number;
  state: TaskState;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  errorName: string | null;
  errorMessage: string | null;
  error: unknown;
  workerId: string | null;
}

export interface TaskInstanceDetail extends TaskInstanceRow {
  maxTries: number;
  queuedAt: string | null;
  nextTryAt: string | null;
  mapItem: unknown;
  returnValue: unknown;
  xcoms: Array<{ key: string; value: unknown; sizeBytes: number; createdAt: string }> | null;
  tries: TryInfo[] | null;
}

export const TASK_INSTANCE = gql<
  { dagRun: { id: string; dagId: string; runId: string; state: RunState; taskInstance: TaskInstanceDetail | null } | null },
  { runId: string; taskId: string; mapIndex: number }
>`
  query TaskInstance($runId: ID!, $taskId: String!, $mapIndex: Int!) {
    dagRun(id: $runId) {
      id
      dagId
      runId
      state
      taskInstance(taskId: $taskId, mapIndex: $mapIndex) {
        ${TI_ROW}
        maxTries
        queuedAt
        nextTryAt
        mapItem
        returnValue
        xcoms { key value sizeBytes createdAt }
        tries { id tryNumber state startedAt endedAt durationMs errorName errorMessage error workerId }
      }
    }
  }
`;

export interface LogLine {
  seq: number;
  level: string;
  loggedAt: string;
  message: string;
}

export const TRY_LOG_TAIL = gql<
  { dagRun: { id: string; taskInstance: { id: string; tries: Array<{ id: string; logs: Page<LogLine> & { pageInfo: { hasPreviousPage: boolean; startCursor: string | null } } }> | null } | null } | null },
  { runId: string; taskId: string; mapIndex: number; last: number }
>`
  query TryLogTail($runId: ID!, $taskId: String!, $mapIndex: Int!, $last: Int!) {
    dagRun(id: $runId) {
      id
      taskInstance(taskId: $taskId, mapIndex: $mapIndex) {
        id
        tries {
          id
          logs(last: $last) {
            edges { node { seq level loggedAt message } }
            pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
          }
        }
      }
    }
  }
`;

/** The lines of one try before `before` (a cursor of its lines): the log view's "load earlier". */
export const TRY_LOG_EARLIER = gql<
  { dagRun: { id: string; taskInstance: { id: string; tries: Array<{ id: string; logs: Page<LogLine> & { pageInfo: { hasPreviousPage: boolean; startCursor: string | null } } }> | null } | null } | null },
  { runId: string; taskId: string; mapIndex: number; tryNumber: number; last: number; before: string }
>`
  query TryLogEarlier($runId: ID!, $taskId: String!, $mapIndex: Int!, $tryNumber: Int!, $last: Int!, $before: String!) {
    dagRun(id: $runId) {
      id
      taskInstance(taskId: $taskId, mapIndex: $mapIndex) {
        id
        tries(tryNumber: $tryNumber) {
          id
          logs(last: $last, before: $before) {
            edges { node { seq level loggedAt message } }
            pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
          }
        }
      }
    }
  }
`;

export const TASK_LOG_LINES = gql<{ taskLogLines: { resync: boolean | null; tryEnded: boolean | null; lines: LogLine[] | null; try: { id: string; state: TaskState } | null } }, { taskInstanceId: string; afterSeq: number }>`
  subscription TaskLogLines($taskInstanceId: ID!, $afterSeq: Int!) {
    taskLogLines(taskInstanceId: $taskInstanceId, afterSeq: $afterSeq) {
      resync
      tryEnded
      lines { seq level loggedAt message }
      try { id state }
    }
  }
`;

const RUN_ACTION_RESULT = `changed dagRun { ${RUN_DETAIL} }`;

export const TRIGGER = gql<{ triggerDagRun: { dagRun: RunDetail } }, { dagId: string; conf: unknown }>`
  mutation Trigger($dagId: String!, $conf: JSON) {
    triggerDagRun(input: { dagId: $dagId, conf: $conf }) { dagRun { ${RUN_DETAIL} } }
  }
`;

export const CLEAR = gql<
  { clearTaskInstances: { changed: number } },
  { dagRunId: string; taskIds: string[]; mapIndexes: number[] | null; downstream: boolean; upstream: boolean; onlyFailed: boolean }
>`
  mutation Clear($dagRunId: ID!, $taskIds: [String!]!, $mapIndexes: [Int!], $downstream: Boolean, $upstream: Boolean, $onlyFailed: Boolean) {
    clearTaskInstances(input: { dagRunId: $dagRunId, taskIds: $taskIds, mapIndexes: $mapIndexes, downstream: $downstream, upstream: $upstream, onlyFailed: $onlyFailed }) { ${RUN_ACTION_RESULT} }
  }
`;

export const MARK_TASKS = gql<
  { markTaskInstances: { changed: number } },
  { dagRunId: string; taskIds: string[]; mapIndexes: number[] | null; state: 'success' | 'failed'; downstream: boolean; upstream: boolean }
>`
  mutation MarkTasks($dagRunId: ID!, $taskIds: [String!]!, $mapIndexes: [Int!], $state: MarkState!, $downstream: Boolean, $upstream: Boolean) {
    markTaskInstances(input: { dagRunId: $dagRunId, taskIds: $taskIds, mapIndexes: $mapIndexes, state: $state, downstream: $downstream, upstream: $upstream }) { ${RUN_ACTION_RESULT} }
  }
`;

export const MARK_RUN = gql<{ markDagRun: { changed: number } }, { id: string; state: 'success' | 'failed' }>`
  mutation MarkRun($id: ID!, $state: MarkState!) {
    markDagRun(input: { id: $id, state: $state }) { ${RUN_ACTION_RESULT} }
  }
`;

export const CANCEL_RUN = gql<{ cancelDagRun: { changed: number } }, { id: string }>`
  mutation CancelRun($id: ID!) {
    cancelDagRun(input: { id: $id }) { ${RUN_ACTION_RESULT} }
  }
`;

export const WORKERS = gql<{ workers: Page<{ id: string; hostname: string; pid: number; alive: boolean; concurrency: number; startedAt: string; stoppedAt: string | null; lastHeartbeatAt: string; runningTryIds: string[] }> }>`
  query Workers {
    workers(first: 200, includeStopped: true) {
      edges { node { id hostname pid alive concurrency startedAt stoppedAt lastHeartbeatAt runningTryIds } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const VARIABLES = gql<{ variables: Page<{ key: string; value: string | null; isSecret: boolean; description: string | null; updatedAt: string }> }>`
  query Variables {
    variables(first: 1000) {
      edges { node { key value isSecret description updatedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const SET_VARIABLE = gql<{ setVariable: { variable: { key: string } } }, { key: string; value: string; isSecret: boolean; description: string | null }>`
  mutation SetVariable($key: String!, $value: String!, $isSecret: Boolean, $description: String) {
    setVariable(input: { key: $key, value: $value, isSecret: $isSecret, description: $description }) { variable { key value isSecret description updatedAt } }
  }
`;

export const DELETE_VARIABLE = gql<{ deleteVariable: { key: string } }, { key: string }>`
  mutation DeleteVariable($key: String!) { deleteVariable(input: { key: $key }) { key } }
`;

export interface ConnectionInfo {
  id: string;
  type: string;
  host: string | null;
  port: number | null;
  login: string | null;
  schema: string | null;
  hasPassword: boolean;
  description: string | null;
  updatedAt: string;
}

export const CONNECTIONS = gql<{ connections: Page<ConnectionInfo> }>`
  query Connections {
    connections(first: 1000) {
      edges { node { id type host port login schema hasPassword description updatedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const UPSERT_CONNECTION = gql<
  { upsertConnection: { created: boolean } },
  { id: string; type: string; host: string | null; port: number | null; login: string | null; password: string | null; schema: string | null; description: string | null }
>`
  mutation UpsertConnection($id: String!, $type: String!, $host: String, $port: Int, $login: String, $password: String, $schema: String, $description: String) {
    upsertConnection(input: { id: $id, type: $type, host: $host, port: $port, login: $login, password: $password, schema: $schema, description: $description }) {
      created
      connection { id type host port login schema hasPassword description updatedAt }
    }
  }
`;

export const DELETE_CONNECTION = gql<{ deleteConnection: { id: string } }, { id: string }>`
  mutation DeleteConnection($id: String!) { deleteConnection(input: { id: $id }) { id } }
`;

export const AUDIT_LOG = gql<
  { auditLog: Page<{ id: string; at: string; actor: string; actorName: string | null; action: string; target: string | null; dagId: string | null; outcome: string; clientAddress: string | null; details: unknown }> },
  { after: string | null; dagId: string | null; action: string | null }
>`
  query AuditLog($after: String, $dagId: String, $action: String) {
    auditLog(first: 100, after: $after, dagId: $dagId, action: $action) {
      edges { node { id at actor actorName action target dagId outcome clientAddress details } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
