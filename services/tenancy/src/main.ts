import { runService } from '@baton/runtime';
import { BootstrapService } from './bootstrap/bootstrap.service.js';
import { TenancyModule } from './tenancy.module.js';

// The tenancy service as its own process. It owns the first start: the
// `default` tenant and the admin key from BATON_BOOTSTRAP_TOKEN.
void runService('tenancy', [TenancyModule], async ({ app }) => {
  await app.get(BootstrapService).run();
});
