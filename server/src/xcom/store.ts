import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where XCom values above the inline threshold are kept (an object store), by key. The
 * default is a folder under the Updraft home (`LocalXComStore`); a plugin can provide an
 * S3-compatible one by implementing this interface and passing it to the worker
 * (`WorkerOptions.xcomStore`) and to whatever sweeps deleted blobs (`sweepDeletedBlobs`).
 *
 * Keys are relative paths of safe characters (`[A-Za-z0-9._/-]`, no `..`), unique per
 * value: a store never has to handle two writers of one key. Every worker and every
 * process that sweeps must see the same store.
 */
export interface XComStore {
  /** Stores `data` under `key`, whole or not at all (a reader never sees half a value). */
  put(key: string, data: string | Buffer): Promise<void>;
  /** The data stored under `key`; throws `XComBlobMissing` when there is none. */
  get(key: string): Promise<Buffer>;
  /** Deletes these keys; a key already gone is not an error. */
  delete(keys: string[]): Promise<void>;
  /** Where a key lives, for messages (a file path, a URL). */
  describe(key: string): string;
}

/** A blob the store does not have (deleted by hand, a store that lost it, a wrong folder). */
export class XComBlobMissing extends Error {
  override name = 'XComBlobMissing';
}

/** The default store: files under a folder (`<home>/xcom`), written to a temporary name and renamed into place. */
export class LocalXComStore implements XComStore {
  constructor(readonly folder: string) {}

  async put(key: string, data: string | Buffer): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${randomUUID()}.partial`;
    try {
      await fs.writeFile(temporary, data);
      await fs.rename(temporary, file);
    } catch (e) {
      await fs.rm(temporary, { force: true });
      throw e;
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new XComBlobMissing(`no file ${this.file(key)}`);
      throw e;
    }
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => fs.rm(this.file(key), { force: true })));
  }

  describe(key: string): string {
    return this.file(key);
  }

  private file(key: string): string {
    if (!/^[A-Za-z0-9._/-]+$/.test(key) || key.split('/').includes('..') || key.startsWith('/')) throw new TypeError(`not an XCom blob key: ${JSON.stringify(key)}`);
    return path.join(this.folder, key);
  }
}
