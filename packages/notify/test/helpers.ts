/** The options every test app of this package shares: a sender, the public address, an unsubscribe secret. */
export const TEST_OPTIONS = {
  from: 'HarakaFlow <no-reply@harakaflow.test>',
  publicUrl: 'https://api.harakaflow.test',
  unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
  dispatch: false,
} as const;
