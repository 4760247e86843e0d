/**
 * One way to bound a call (issue 19 item 7; the quota store, the audit writer and db's ping each
 * raced their own): `work` settles as it would, unless `ms` pass first, when the result rejects
 * with `onTimeout()`. The timer is cleared either way, so nothing keeps the process alive.
 * The work itself is not cancelled: a caller that needs that passes an AbortSignal to it.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
