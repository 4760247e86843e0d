/**
 * The spill directory's files, as the writer uses them: written whole then renamed (a crash never
 * leaves half a line), counted against a byte cap, read back, removed once replayed, or moved to
 * `rejected/`. The format and its MAC are spill.ts; what is trusted on replay is the writer's
 * (writer.ts) and the chain's (chain.ts). Any replica of the same user may share the directory:
 * a file another replica took first is `gone`, never an error.
 */
import type { SigningKey } from '@harakaflow/core';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSpill, encodeSpill, prepareSpillDirectory, SPILL_SUFFIX, type SpillFile } from './spill.js';

export class SpillFiles {
  readonly #dir: string;
  readonly #keys: readonly SigningKey[];
  readonly maxBytes: number;
  #ready: Promise<string> | null = null;
  #written = 0;
  /** Bytes of files waiting in the directory (measured when it is first used, then kept). */
  bytes = 0;

  constructor(dir: string, keys: readonly SigningKey[], maxBytes = 1024 * 1024 * 1024) {
    this.#dir = dir;
    this.#keys = keys;
    this.maxBytes = maxBytes;
  }

  /**
   * The writer's subdirectory, created and checked once (spill.ts); what waits there already counts against the cap.
   */
  directory(): Promise<string> {
    this.#ready ??= prepareSpillDirectory(this.#dir).then(async (d) => {
      for (const f of await this.#names(d.path))
        this.bytes += (await stat(join(d.path, f)).catch(() => ({ size: 0 }))).size;
      return d.path;
    });
    this.#ready.catch(() => (this.#ready = null));
    return this.#ready;
  }

  async #names(dir: string): Promise<string[]> {
    return (await readdir(dir)).filter((f) => f.endsWith(SPILL_SUFFIX)).sort();
  }

  /** Every spill file waiting, in name (time) order. */
  async list(): Promise<string[]> {
    return this.#names(await this.directory());
  }

  /**
   * Writes one file, or answers `full` (nothing written) when it would pass the cap, unless
   * `force` (the writer's close: what is chained must not be lost). Throws what the file system throws.
   */
  async write(file: SpillFile, force = false): Promise<{ name: string } | 'full'> {
    const dir = await this.directory();
    const text = encodeSpill(file, this.#keys);
    const bytes = Buffer.byteLength(text);
    if (!force && this.bytes + bytes > this.maxBytes) return 'full';
    const name = `audit-${String(Date.now()).padStart(14, '0')}-${String(this.#written++).padStart(8, '0')}-${process.pid}-${randomBytes(4).toString('hex')}${SPILL_SUFFIX}`;
    const temporary = join(dir, `${name}.tmp`);
    await writeFile(temporary, text, { mode: 0o600, flush: true });
    await rename(temporary, join(dir, name));
    this.bytes += bytes;
    return { name };
  }

  /**
   * A file's decoded content, `gone` if another replica took it, or why it cannot be trusted. Throws other read errors.
   */
  async read(name: string): Promise<{ file: SpillFile; size: number } | 'gone' | { reject: string }> {
    const path = join(await this.directory(), name);
    let text: string;
    try {
      if (!(await stat(path)).isFile()) return { reject: 'not a regular file' };
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return 'gone';
      throw error;
    }
    const file = decodeSpill(text, this.#keys);
    return 'error' in file ? { reject: file.error } : { file, size: Buffer.byteLength(text) };
  }

  /** Removes a replayed file. */
  async remove(name: string, size: number): Promise<void> {
    await rm(join(await this.directory(), name), { force: true });
    this.bytes = Math.max(0, this.bytes - size);
  }

  /** Moves a file to `rejected/` (removes it if it cannot be moved); false when another replica dealt with it first. */
  async reject(name: string): Promise<boolean> {
    const dir = await this.directory();
    this.bytes = Math.max(0, this.bytes - (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size);
    try {
      await mkdir(join(dir, 'rejected'), { recursive: true, mode: 0o700 });
      await rename(join(dir, name), join(dir, 'rejected', name));
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return false;
      await rm(join(dir, name), { force: true }).catch(() => undefined);
    }
    return true;
  }

  /**
   * Removes files last written before `cutoff` (server-log retention): a file is written once, so
   * every event in it is older than its modification time. How many events went.
   */
  async purgeBefore(cutoff: Date): Promise<number> {
    const dir = await this.directory();
    let removed = 0;
    for (const name of await this.#names(dir)) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      if (!info || info.mtimeMs >= cutoff.getTime()) continue;
      const text = await readFile(path, 'utf8').catch(() => '');
      await rm(path, { force: true });
      this.bytes = Math.max(0, this.bytes - info.size);
      const file = decodeSpill(text, this.#keys);
      removed += 'items' in file ? file.items.filter((i) => !('close' in i)).length : 0;
    }
    return removed;
  }
}
