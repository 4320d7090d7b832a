type Undo = () => Promise<void> | void;

/**
 * Undo steps for everything the bench starts, run in reverse order, each at most once:
 * early by the code that started it, or at the end, after a failure, or on SIGINT/SIGTERM.
 */
export class Cleanup {
  readonly #steps: Array<{ what: string; undo: Undo }> = [];
  #running: Promise<void> | undefined;

  /** Registers `undo`; the returned function runs it now (once) instead of at the end. */
  defer(what: string, undo: Undo): () => Promise<void> {
    const step = { what, undo };
    this.#steps.push(step);
    return async () => {
      const i = this.#steps.indexOf(step);
      if (i < 0) return;
      this.#steps.splice(i, 1);
      await undo();
    };
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
        try {
          await step.undo();
        } catch (e) {
          console.error(`cleanup: could not ${step.what}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    })();
    return this.#running;
  }
}

/**
 * Runs a bench entry point with a Cleanup that always runs: after success, after a
 * failure (exit code 1), and on SIGINT/SIGTERM.
 */
export async function runWithCleanup(main: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n[bench] ${signal}: cleaning up`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }
  try {
    await main(cleanup);
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}
