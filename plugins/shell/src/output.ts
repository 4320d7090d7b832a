// A command's stdout and stderr as log lines while it runs, within a byte budget: past it, lines
// are counted and dropped (the try's log has its own line cap too), so a command printing
// gigabytes costs the memory of one line.
import { StringDecoder } from 'node:string_decoder';

/** Longest line logged as it is; longer ones are cut (and marked). */
export const MAX_LINE_CHARS = 8_192;

export type StreamName = 'stdout' | 'stderr';

export class OutputLines {
  #logged = 0;
  #droppedBytes = 0;
  #lastLine = '';
  #stdout: string[] = [];
  #stdoutBytes = 0;
  #stdoutOverflow = false;

  constructor(
    private readonly write: (line: string, stream: StreamName) => void,
    private readonly maxLogBytes: number,
    /** How much of stdout to keep whole (for `output: 'stdout' | 'json'`); 0 keeps none. */
    private readonly keepStdoutBytes: number,
  ) {}

  /** Feeds one stream's chunks; returns a function that flushes its unfinished last line. */
  follow(stream: NodeJS.ReadableStream, name: StreamName): () => void {
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const emit = (line: string) => this.#line(line.endsWith('\r') ? line.slice(0, -1) : line, name);
    stream.on('data', (chunk: Buffer) => {
      if (name === 'stdout') this.#keep(chunk);
      const text = partial + decoder.write(chunk);
      const lines = text.split('\n');
      partial = lines.pop()!;
      for (const line of lines) emit(line);
      // A line with no end in sight is logged in pieces rather than held whole.
      while (partial.length > MAX_LINE_CHARS) {
        emit(partial.slice(0, MAX_LINE_CHARS));
        partial = partial.slice(MAX_LINE_CHARS);
      }
    });
    return () => {
      const rest = partial + decoder.end();
      partial = '';
      if (rest !== '') emit(rest);
    };
  }

  /** The last non-empty line of stdout (Airflow's BashOperator pushes it as XCom). */
  get lastLine(): string {
    return this.#lastLine;
  }

  /** All of stdout, or null when it was longer than `keepStdoutBytes`. */
  get stdout(): string | null {
    return this.#stdoutOverflow ? null : Buffer.concat(this.#stdout.map((s) => Buffer.from(s, 'latin1'))).toString('utf8');
  }

  /** Bytes of output that went over the budget and were not logged. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  #keep(chunk: Buffer) {
    if (this.#stdoutOverflow || this.keepStdoutBytes === 0) return;
    this.#stdoutBytes += chunk.length;
    if (this.#stdoutBytes > this.keepStdoutBytes) {
      this.#stdoutOverflow = true;
      this.#stdout = [];
    } else {
      this.#stdout.push(chunk.toString('latin1'));
    }
  }

  #line(line: string, stream: StreamName) {
    if (stream === 'stdout' && line.trim() !== '') this.#lastLine = line.slice(0, MAX_LINE_CHARS);
    const bytes = Buffer.byteLength(line) + 1;
    if (this.#logged + bytes > this.maxLogBytes) {
      this.#droppedBytes += bytes;
      return;
    }
    this.#logged += bytes;
    this.write(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)} [cut]` : line, stream);
  }
}
