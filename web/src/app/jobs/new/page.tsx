'use client';

import { Suspense } from 'react';
import { NewJobView } from '@/views/new-job-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function NewJobPage() {
  return (
    <Suspense>
      <NewJobView />
    </Suspense>
  );
}
