import { Init1732440000000 } from './1732440000000-init.js';
import { Engine1732500000000 } from './1732500000000-engine.js';

/** Every migration, in order. Run at start (or by `baton migrate`), never `synchronize`. */
export const MIGRATIONS = [Init1732440000000, Engine1732500000000];
