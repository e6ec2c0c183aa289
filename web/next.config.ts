import type { NextConfig } from 'next';
import { PHASE_DEVELOPMENT_SERVER } from 'next/constants';

// `next build` writes a static export (out/) that `baton standalone` serves at `/`.
// `next dev` proxies /api to a running platform instead (BATON_API_URL, default :8080),
// so the portal talks to the API on its own origin in both cases.
const common: NextConfig = {
  reactStrictMode: true,
  // Every page is a folder with an index.html (jobs/index.html), which any static server maps to /jobs/.
  trailingSlash: true,
  poweredByHeader: false,
  images: { unoptimized: true },
};

// eslint-disable-next-line import-x/no-default-export -- Next.js reads the default export
export default function nextConfig(phase: string): NextConfig {
  if (phase !== PHASE_DEVELOPMENT_SERVER) return { ...common, output: 'export' };
  const api = process.env.BATON_API_URL ?? 'http://127.0.0.1:8080';
  return {
    ...common,
    // The API's paths have no trailing slash; do not redirect them before the proxy sees them.
    skipTrailingSlashRedirect: true,
    rewrites: async () => [{ source: '/api/:path*', destination: `${api}/api/:path*` }],
  };
}
