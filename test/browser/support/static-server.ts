/**
 * A tiny static file server for a built site, on 127.0.0.1 and a free
 * port: enough for a browser to load the console the way a user's static
 * host would serve it, at the root or mounted under a sub-path such as
 * `/console/` (anything outside the mount is a 404, as on a shared host).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.elf': 'application/octet-stream',
};

export interface StaticServer {
  /** The site's address: the origin plus the mount path, ending in `/`. */
  readonly url: string;
  /** Paths asked for that were not served, in order: a site that works from its mount asks for none. */
  readonly notFound: readonly string[];
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Where the directory is mounted, e.g. `/console/`; default `/`. */
  base?: string;
}

export async function serveDirectory(root: string, options: ServeOptions = {}): Promise<StaticServer> {
  const base = options.base ?? '/';
  if (!base.startsWith('/') || !base.endsWith('/'))
    throw new Error(`base must start and end with /: ${base}`);
  const notFound: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (!path.startsWith(base)) {
      notFound.push(path);
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const inside = `/${path.slice(base.length)}`;
    const relative = normalize(inside === '/' ? '/index.html' : inside);
    const file = join(root, relative);
    if (!file.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      response.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-store',
      });
      createReadStream(file).pipe(response);
    } catch {
      notFound.push(path);
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${base}`,
    notFound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
