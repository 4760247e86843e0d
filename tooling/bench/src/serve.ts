// Child process: builds one variant, listens on an ephemeral port, reports it to the parent.
import { mainThreadCpuMicros } from './cpu.js';
import { variants } from './variants.js';

const name = process.argv[2];
const variant = variants.find((v) => v.name === name);
if (!variant) throw new Error(`unknown variant ${name}`);
const { app, headers = {}, path = '/v1/ping', close, quiesce } = await variant.setup();
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('no address');
process.send!({ port: address.port, headers, path });
// The parent asks for this process's CPU time around every run: requests per CPU-second is the
// server's capacity, whether or not the load generator managed to saturate it.
process.on('message', (message) => {
  if (message === 'cpu') {
    // process.cpuUsage() is getrusage(RUSAGE_SELF): the whole process, every thread (the main
    // thread, libuv's pool, V8's GC and compiler threads, any worker_threads). Work a plugin moves
    // to a worker thread is therefore still counted, not hidden (issue 29 item 1). The main
    // thread's share is reported beside it, where /proc lets us read it (null elsewhere).
    const { user, system } = process.cpuUsage();
    // atMicros: CLOCK_MONOTONIC, the clock of --cpu-prof's timestamps (profile.ts keeps the samples between two
    // readings).
    process.send!({
      cpuMicros: user + system,
      mainThreadCpuMicros: mainThreadCpuMicros(),
      atMicros: Number(process.hrtime.bigint() / 1000n),
    });
  }
  // After each of its runs: background work (an audit backlog) finished before anyone else is measured.
  if (message === 'quiesce') {
    void (quiesce?.() ?? Promise.resolve()).catch(() => undefined).then(() => process.send!({ quiesced: true }));
  }
});
process.on('disconnect', () => {
  void app
    .close()
    .then(() => close?.())
    .finally(() => process.exit(0));
});
