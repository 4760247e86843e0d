// The types a user of @harakaflow/credential-vault meets: the plugin's options, `fastify.vault`, the error codes.
import type { Database } from '@harakaflow/db';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { describe, expect, expectTypeOf, it } from 'vitest';
import harakaflowVault, {
  DecryptFailed,
  VaultError,
  type KeyProvider,
  type RecordPlace,
  type VaultErrorCode,
  type VaultOptions,
  type VaultStore,
} from '@harakaflow/credential-vault';

describe('types', () => {
  it('the plugin and its options', () => {
    expectTypeOf(harakaflowVault).toExtend<FastifyPluginAsync<VaultOptions>>();
    expectTypeOf<VaultOptions['db']>().toEqualTypeOf<Database>();
    expectTypeOf<VaultOptions['keys']>().toEqualTypeOf<KeyProvider | string>();
    expectTypeOf<{ db: Database; keys: string }>().toExtend<VaultOptions>();
    // @ts-expect-error keys are required
    expectTypeOf<{ db: Database }>().toExtend<VaultOptions>();
    // @ts-expect-error keys are a key list or a KeyProvider
    expectTypeOf<{ db: Database; keys: number }>().toExtend<VaultOptions>();
  });

  it('the decoration', () => {
    expectTypeOf<FastifyInstance['vault']>().toEqualTypeOf<VaultStore>();
    expectTypeOf<FastifyInstance['vault']['get']>().toEqualTypeOf<
      (place: RecordPlace) => Promise<{ value: Buffer; updatedAt: Date } | null>
    >();
    expectTypeOf<FastifyInstance['vault']['put']>().toEqualTypeOf<
      (place: RecordPlace, value: Uint8Array) => Promise<{ updatedAt: Date }>
    >();
  });

  it('the errors', () => {
    expectTypeOf(new DecryptFailed()).toExtend<VaultError>();
    expect(new DecryptFailed()).toBeInstanceOf(VaultError);
    expectTypeOf<'HF_VAULT_DECRYPT_FAILED'>().toExtend<VaultErrorCode>();
    // @ts-expect-error not a code of the vault
    expectTypeOf<'HF_VAULT_NOPE'>().toExtend<VaultErrorCode>();
  });
});
