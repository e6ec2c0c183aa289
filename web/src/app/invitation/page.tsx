'use client';

import { Suspense } from 'react';
import { InvitationView } from '@/views/invitation-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function Page() {
  return (
    <Suspense>
      <InvitationView />
    </Suspense>
  );
}
