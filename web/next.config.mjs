// A static export (web/out) that the Updraft server serves on the same origin as /graphql
// (server/src/api/dashboard.ts). Routes carry ids in the query string (/dag?id=...), so every
// page is one exported HTML file whatever DAGs exist.
/** @type {import('next').NextConfig} */
const nextConfig = {
  output: 'export',
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  typescript: { tsconfigPath: './tsconfig.json' },
};
export default nextConfig;
