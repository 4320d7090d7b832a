// A GraphQL-over-SSE client as a browser or curl would be: Node's fetch POSTs the operation
// with `Accept: text/event-stream` and reads the response body as it streams.

/** One `next` event's GraphQL result. */
export interface SseResult<T = any> {
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export interface SseSubscription<T = any> {
  status: number;
  /** Every result received so far. */
  results: SseResult<T>[];
  /** Resolves with the next result not yet returned by next(), or null when the stream completed. */
  next(timeoutMs?: number): Promise<SseResult<T> | null>;
  /** Waits for a result (not yet returned by next()) that satisfies `test`, skipping the others. */
  until(test: (result: SseResult<T>) => boolean, timeoutMs?: number): Promise<SseResult<T>>;
  /** The stream sent `event: complete`. */
  completed: Promise<void>;
  close(): void;
}

export async function subscribe<T = any>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<SseSubscription<T>> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  const results: SseResult<T>[] = [];
  let read = 0;
  let done = false;
  let wake: (() => void) | undefined;
  let complete!: () => void;
  const completed = new Promise<void>((resolve) => (complete = resolve));
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    // An error answered before any stream (a refused request): one JSON result.
    results.push((await response.json()) as SseResult<T>);
    done = true;
    complete();
  } else {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trimStart())
              .join('\n');
            if (event === 'next') results.push(JSON.parse(data) as SseResult<T>);
            if (event === 'complete') done = true;
            notify();
          }
        }
      } catch {
        // aborted by close()
      }
      done = true;
      complete();
      notify();
    })();
  }
  const next = async (timeoutMs = 15_000): Promise<SseResult<T> | null> => {
    const deadline = Date.now() + timeoutMs;
    while (read >= results.length) {
      if (done) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms (received ${JSON.stringify(results)})`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, left);
      });
    }
    return results[read++]!;
  };
  return {
    status: response.status,
    results,
    next,
    async until(test, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await next(Math.max(1, deadline - Date.now()));
        if (result === null) throw new Error(`the stream completed before the awaited event (received ${JSON.stringify(results)})`);
        if (test(result)) return result;
      }
    },
    completed,
    close: () => abort.abort(),
  };
}
