'use client';

import { Suspense } from 'react';
import { HomeView } from '@/views/home-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function HomePage() {
  return (
    <Suspense>
      <HomeView />
    </Suspense>
  );
}
