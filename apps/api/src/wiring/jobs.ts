import type { FastifyInstance } from 'fastify';

/**
 * Runs `tick` every `intervalMs` while the app is up (the timer unref'd, cleared at close), and
 * once at startup too with `atStartup`. `tick` handles its own errors: a job logs what failed and
 * runs again at the next interval.
 */
export function everyInterval(
  app: FastifyInstance,
  intervalMs: number,
  tick: () => Promise<void>,
  o: { atStartup: boolean },
): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    if (o.atStartup) await tick();
    timer = setInterval(() => void tick(), intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}
