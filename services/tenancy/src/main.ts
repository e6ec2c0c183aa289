import { runService } from '@baton/runtime';
import { BootstrapService } from './bootstrap/bootstrap.service.js';
import { TenancyModule } from './tenancy.module.js';

// The tenancy service as its own process. It owns the first start: the
// `default` tenant, the admin key from BATON_BOOTSTRAP_TOKEN and the first
// platform admin user from BATON_ADMIN_EMAIL / BATON_ADMIN_PASSWORD.
void runService('tenancy', [TenancyModule], async ({ app }) => {
  await app.get(BootstrapService).run();
});
