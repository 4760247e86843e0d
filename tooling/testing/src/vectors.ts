import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireServices } from './services.js';

/**
 * A public test vector from `shared/vectors` beside the repository (or HF_VECTORS_DIR). They are
 * read there, never copied in. Missing: undefined (the test skips), or an error under
 * REQUIRE_SERVICES=1, where CI has them.
 */
export function vectorsFile(relative: string): string | undefined {
  const dir = process.env.HF_VECTORS_DIR ?? fileURLToPath(new URL('../../../../shared/vectors', import.meta.url));
  const file = join(dir, relative);
  if (existsSync(file)) return file;
  if (requireServices) throw new Error(`test vectors not found: ${file} (set HF_VECTORS_DIR)`);
  return undefined;
}
