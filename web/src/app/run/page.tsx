'use client';

import { Suspense } from 'react';
import { RunView } from '@/views/run-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function RunPage() {
  return (
    <Suspense>
      <RunView />
    </Suspense>
  );
}
