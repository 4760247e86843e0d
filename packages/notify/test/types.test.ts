// The public types, as a user imports them: the plugin's options and its decoration. `tsc --noEmit`
// checks the assertions (the package's tsconfig includes test/); vitest runs the file too.
import type { FastifyInstance } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import notify, {
  harakaflowNotify,
  NOTIFY_ERROR_CODES,
  type EnqueueInput,
  type Notifier,
  type NotifyErrorCode,
  type NotifyOptions,
  type Transport,
} from '@harakaflow/notify';

describe('types', () => {
  it('the options: required, optional and a wrong type rejected', () => {
    expectTypeOf<NotifyOptions['from']>().toEqualTypeOf<string>();
    expectTypeOf<NotifyOptions['publicUrl']>().toEqualTypeOf<string>();
    expectTypeOf<NotifyOptions['unsubscribeSecrets']>().toEqualTypeOf<string[]>();
    expectTypeOf<NotifyOptions['smtpUrl']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<NotifyOptions['transport']>().toEqualTypeOf<Transport | undefined>();
    expectTypeOf<Pick<NotifyOptions, 'replyTo'>>().toEqualTypeOf<{ replyTo?: string | undefined }>();
    // @ts-expect-error unsubscribeSecrets is a list of secrets
    const wrong: Pick<NotifyOptions, 'unsubscribeSecrets'> = { unsubscribeSecrets: 'one' };
    expectTypeOf(wrong).toEqualTypeOf<Pick<NotifyOptions, 'unsubscribeSecrets'>>();
    expectTypeOf(harakaflowNotify).toEqualTypeOf(notify);
  });

  it('the decoration: fastify.notify', () => {
    expectTypeOf<FastifyInstance['notify']>().toEqualTypeOf<Notifier>();
    expectTypeOf<FastifyInstance['notify']['enqueue']>().toEqualTypeOf<
      (input: EnqueueInput) => Promise<string | null>
    >();
    expectTypeOf<FastifyInstance['notify']['dispatch']>().toEqualTypeOf<(limit?: number) => Promise<number>>();
    expectTypeOf<FastifyInstance['notify']['setPreference']>().toEqualTypeOf<
      (accountId: string, kind: string, enabled: boolean) => Promise<void>
    >();
  });

  it('the error codes', () => {
    expectTypeOf(NOTIFY_ERROR_CODES[0]).toMatchTypeOf<NotifyErrorCode>();
    expectTypeOf<'HF_NOTIFY_NOTICE_TOO_LATE'>().toMatchTypeOf<NotifyErrorCode>();
    expectTypeOf<'HF_NOTIFY_NOPE'>().not.toMatchTypeOf<NotifyErrorCode>();
  });
});
