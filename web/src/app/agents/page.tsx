'use client';

import { Suspense } from 'react';
import { AgentsView } from '@/views/agents-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function AgentsPage() {
  return (
    <Suspense>
      <AgentsView />
    </Suspense>
  );
}
