import { Controller, Get, Header, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type Response } from 'express';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '@citysoc/config';
import { Public } from '../auth/roles';

/** The console is built by Vite (apps/console) into dist/console; `npm run build` produces it. */
const dir = path.join(projectRoot(), 'dist', 'console');
/** Same-origin only: no inline script or style, no third-party host, no framing. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>citysoc</title></head>
<body><main><h1>citysoc console not built</h1><p>Run <code>npm run build</code>; the API serves dist/console.</p></main></body></html>`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

// Read once at start: hashed, immutable files; data comes from the authenticated API.
const index = existsSync(path.join(dir, 'index.html'))
  ? readFileSync(path.join(dir, 'index.html'), 'utf8')
  : NOT_BUILT;
const assets = new Map<string, Buffer>();
const assetDir = path.join(dir, 'assets');
if (existsSync(assetDir))
  for (const f of readdirSync(assetDir)) assets.set(f, readFileSync(path.join(assetDir, f)));

/** Client-side routes: each answers the same page, which reads the view state from the URL. */
const ROUTES = [
  '',
  'login',
  'queue',
  'incidents/:id',
  'hunt',
  'entities/:type/:value',
  'units',
  'dash',
  'audit',
  'reports',
  'rules',
  'attack',
  'drills',
];

@ApiExcludeController()
@Controller()
export class ConsoleController {
  @Get(ROUTES)
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CONSOLE_CSP)
  @Header('cache-control', 'no-store')
  page(): string {
    return index;
  }

  @Get('assets/:file')
  @Public()
  asset(@Param('file') file: string, @Res() res: Response): void {
    const body = assets.get(file);
    if (!body) throw new NotFoundException(`asset ${file} not found`);
    res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('content-security-policy', CONSOLE_CSP);
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.end(body);
  }
}
