import { runService } from '@baton/runtime';
import { CatalogModule } from './catalog.module.js';

// The catalog service as its own process (production topology; see docs/deployment.md).
void runService('catalog', [CatalogModule]);
