// Worker entry: Node 20 resolves a worker's entry before --import hooks apply, so register tsx here.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
