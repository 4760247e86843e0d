// Child process: builds one variant, listens on an ephemeral port, reports it to the parent.
import { variants } from './variants.js';

const name = process.argv[2];
const variant = variants.find((v) => v.name === name);
if (!variant) throw new Error(`unknown variant ${name}`);
const { app, headers = {}, close } = await variant.setup();
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
if (!address || typeof address === 'string') throw new Error('no address');
process.send!({ port: address.port, headers });
process.on('disconnect', () => {
  void app.close().then(() => close?.()).finally(() => process.exit(0));
});
