// How the Updraft server serves the dashboard's static export: only files inside it, with
// their content types, a strict CSP that admits the page's own inline scripts by hash, pages
// by route, the export's 404 page, and a clear answer when nothing was built.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardHandler } from '../../server/src/api/dashboard.js';
import { TEST_SCRATCH } from '../support/paths.js';

const INLINE = 'self.__next_f.push([1,"x"])';
const sha = (text: string) => createHash('sha256').update(text).digest('base64');

/** A raw request (no URL normalization by the client: `..` reaches the server as sent). */
function get(port: number, rawPath: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serving the dashboard', () => {
  const root = path.join(TEST_SCRATCH, 'dashboard-serve');
  const out = path.join(root, 'out');
  let server: Server;
  let empty: Server;
  let port: number;
  let emptyPort: number;

  beforeAll(async () => {
    await fs.mkdir(path.join(out, '_next', 'static', 'chunks'), { recursive: true });
    await fs.mkdir(path.join(out, 'dag'), { recursive: true });
    await fs.writeFile(path.join(out, 'index.html'), `<!DOCTYPE html><html><head><script src="/_next/static/chunks/a.js"></script></head><body><script>${INLINE}</script></body></html>`);
    await fs.writeFile(path.join(out, 'dag.html'), '<html><body>dag page</body></html>');
    await fs.writeFile(path.join(out, '404.html'), '<html><body>no such page</body></html>');
    await fs.writeFile(path.join(out, '_next', 'static', 'chunks', 'a.js'), 'console.log(1)');
    await fs.writeFile(path.join(out, '_next', 'static', 'chunks', 'b.css'), 'body{}');
    await fs.writeFile(path.join(out, '.source-hash'), 'abc');
    await fs.writeFile(path.join(root, 'secret.txt'), 'outside the export');
    server = createServer(dashboardHandler(out));
    empty = createServer(dashboardHandler(path.join(root, 'missing')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => empty.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    emptyPort = (empty.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => empty.close(r));
    await fs.rm(root, { recursive: true, force: true });
  });

  it('serves pages with a strict CSP that names their inline scripts by hash', async () => {
    const res = await get(port, '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(`script-src 'self' 'sha256-${sha(INLINE)}'`);
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('serves client routes from their exported page, query strings and all', async () => {
    const res = await get(port, '/dag?id=hello_world&tab=grid');
    expect(res.status).toBe(200);
    expect(res.body).toContain('dag page');
  });

  it('serves static assets with their content types, cached for good', async () => {
    const js = await get(port, '/_next/static/chunks/a.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await get(port, '/_next/static/chunks/b.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await get(port, '/_next/static/chunks/a.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('never serves a file outside the export, nor dot files', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/_next/..%2f..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/..%5csecret.txt', '/.source-hash', '/a%00.html']) {
      const res = await get(port, p);
      expect(res.status, p).toBeGreaterThanOrEqual(400);
      expect(res.body, p).not.toContain('outside the export');
      expect(res.body, p).not.toContain('abc');
    }
    expect((await get(port, '/%E0%A4%A')).status).toBe(400);
  });

  it("answers unknown pages with the export's 404 page, and unknown files with a plain 404", async () => {
    const page = await get(port, '/no/such/page');
    expect(page.status).toBe(404);
    expect(page.body).toContain('no such page');
    const file = await get(port, '/_next/static/nope.js');
    expect(file.status).toBe(404);
    expect(file.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('answers GET and HEAD only', async () => {
    const res = await get(port, '/', 'POST');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('says how to build the dashboard when there is no export', async () => {
    const res = await get(emptyPort, '/');
    expect(res.status).toBe(503);
    expect(res.body).toContain('npm run build:web');
  });
});
