import type { NotifyOptions } from '../src/index.js';

/** The options every test app of this package shares: a sender, the public address, an unsubscribe secret, no dispatch loop. */
export const TEST_OPTIONS: Pick<NotifyOptions, 'from' | 'publicUrl' | 'unsubscribeSecrets' | 'dispatch'> = {
  from: 'HarakaFlow <no-reply@harakaflow.test>',
  publicUrl: 'https://api.harakaflow.test',
  unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
  dispatch: false,
};
