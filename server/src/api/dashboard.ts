// The dashboard: the static export of web/ (Next.js, `output: 'export'`), served by the API's
// own HTTP server on the same origin as /graphql, so that the browser's same-origin checks and
// the API's CSRF defences (api/server.ts) need no exception for it.
import { repositoryDir } from '../package-assets.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:web` (and the root postinstall) writes the export: web/out. */
export const DEFAULT_DASHBOARD_DIR = repositoryDir('web/out', 'web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * The Content-Security-Policy of a page: scripts only from this origin plus the page's own
 * inline scripts by hash (Next's export inlines its flight data), no plugins, no framing,
 * requests only to this origin. `unsafe-inline` styles: React sets style attributes.
 */
export function contentSecurityPolicy(inlineScriptHashes: readonly string[]): string {
  const scripts = ["'self'", ...inlineScriptHashes.map((h) => `'sha256-${h}'`)].join(' ');
  return [
    "default-src 'self'",
    `script-src ${scripts}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The sha256 (base64) of every inline `<script>` of an HTML page. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)) {
    hashes.push(createHash('sha256').update(match[1] ?? '', 'utf8').digest('base64'));
  }
  return hashes;
}

interface CachedPage {
  mtimeMs: number;
  csp: string;
}

/**
 * A request handler serving `dir` for GET and HEAD:
 * - `/x` is `x`, `x.html` or `x/index.html` inside `dir`, never a file outside it (the decoded
 *   path is resolved and must stay under `dir`; NUL bytes, backslashes and dot files are refused);
 * - an unknown page answers the export's 404.html with status 404;
 * - content types by extension (unknown ones as octet-stream), `nosniff`, a strict CSP on pages;
 * - `_next/static/` files are immutable (their names carry hashes); pages are revalidated.
 * Without an export (web/ not built) every page says how to build it (503).
 */
export function dashboardHandler(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  const root = path.resolve(dir);
  const pages = new Map<string, CachedPage>();

  function pageCsp(file: string, stat: fs.Stats): string {
    const cached = pages.get(file);
    if (cached && cached.mtimeMs === stat.mtimeMs) return cached.csp;
    const csp = contentSecurityPolicy(inlineScriptHashes(fs.readFileSync(file, 'utf8')));
    pages.set(file, { mtimeMs: stat.mtimeMs, csp });
    return csp;
  }

  function fileAt(relative: string): { file: string; stat: fs.Stats } | null {
    const file = path.resolve(root, relative);
    if (file !== root && !file.startsWith(root + path.sep)) return null;
    try {
      const stat = fs.statSync(file);
      return stat.isFile() ? { file, stat } : null;
    } catch {
      return null;
    }
  }

  function send(req: IncomingMessage, res: ServerResponse, status: number, found: { file: string; stat: fs.Stats }): void {
    const ext = path.extname(found.file).toLowerCase();
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'content-length': String(found.stat.size),
      'cache-control': found.file.includes(`${path.sep}_next${path.sep}static${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (ext === '.html') headers['content-security-policy'] = pageCsp(found.file, found.stat);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    fs.createReadStream(found.file).on('error', () => res.destroy()).pipe(res);
  }

  function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': "default-src 'none'", ...extra });
    res.end(text);
  }

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'The dashboard answers GET and HEAD only', { allow: 'GET, HEAD' });
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://dashboard').pathname);
    } catch {
      plain(res, 400, 'Malformed path');
      return;
    }
    const segments = pathname.split('/').filter((s) => s !== '');
    if (pathname.includes('\0') || pathname.includes('\\') || segments.some((s) => s.startsWith('.'))) {
      plain(res, 400, 'Malformed path');
      return;
    }
    if (!fs.existsSync(path.join(root, 'index.html'))) {
      plain(res, 503, 'The dashboard is not built: run `npm run build:web` in the Updraft folder (npm ci builds it too), then reload.');
      return;
    }
    const relative = segments.join('/');
    const found = path.extname(relative)
      ? fileAt(relative)
      : (fileAt(relative ? `${relative}.html` : 'index.html') ?? fileAt(path.join(relative, 'index.html')));
    if (found) {
      send(req, res, 200, found);
      return;
    }
    const notFound = fileAt('404.html');
    if (notFound && !path.extname(relative)) send(req, res, 404, notFound);
    else plain(res, 404, 'Not found');
  };
}
