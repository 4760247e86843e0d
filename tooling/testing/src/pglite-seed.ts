/**
 * A new PGlite data directory, already made: tests that start the app or a CLI on a fresh DATA_DIR
 * copy a directory PGlite's initdb made once per machine and PGlite version, instead of running
 * initdb again in every process (4 to 5 s each on an idle core, 10 s and more on two shared ones;
 * opening a made directory takes under 1 s, copying it about 0.1 s). What a first start does
 * itself (initdb, then migrations) stays covered by the tests that do not seed: the quickstart's.
 *
 * The template holds no data of any test: initdb's catalogue only, no migration applied, no lock.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The template's directory: one per PGlite build (the resolved path of the package names its version). */
function templateDir(): string {
  const entry = realpathSync(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  return join(tmpdir(), `hf-pglite-template-${createHash('sha256').update(entry).digest('hex').slice(0, 16)}`);
}

let made: Promise<string> | undefined;

/** The template, made on first use: race-free between processes (built aside, then renamed into place). */
export function pgliteTemplate(): Promise<string> {
  return (made ??= (async () => {
    const dir = templateDir();
    if (existsSync(join(dir, 'PG_VERSION')) && existsSync(`${dir}.tar`)) return dir;
    const aside = mkdtempSync(`${dir}-building-`);
    try {
      const { PGlite } = await import('@electric-sql/pglite');
      const db = await PGlite.create(join(aside, 'data'));
      const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
      await db.close();
      // The same directory as a dump, for databases in memory (pgliteDump); in place before the directory is.
      writeFileSync(join(aside, 'dump.tar'), dump);
      renameSync(join(aside, 'dump.tar'), `${dir}.tar`);
      try {
        renameSync(join(aside, 'data'), dir);
      } catch (error) {
        // Another process put its copy there first: the same bytes.
        if (!existsSync(join(dir, 'PG_VERSION'))) throw error;
      }
    } finally {
      rmSync(aside, { recursive: true, force: true });
    }
    return dir;
  })());
}

/**
 * Makes `dataDir` (the directory the app keeps PGlite in: `<DATA_DIR>/pglite`) a new, empty PGlite
 * database, unless it already holds one. Owner-only, as createDatabase makes it.
 */
export async function seedPglite(dataDir: string): Promise<void> {
  if (existsSync(dataDir) && readdirSync(dataDir).length) return;
  const template = await pgliteTemplate();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  cpSync(template, dataDir, { recursive: true });
}

/**
 * The template as PGlite's dump (a tarball): `createDatabase({ loadDataDir })` opens it in memory in about a second
 * instead of initdb's four.
 */
export async function pgliteDump(): Promise<Blob> {
  return new Blob([readFileSync(`${await pgliteTemplate()}.tar`)]);
}
