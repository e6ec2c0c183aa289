import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import '@xyflow/react/dist/style.css';
import './globals.css';
import { Providers } from './providers';

export const metadata: Metadata = {
  title: 'Baton',
  description: 'Baton: jobs, runs and agents',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
