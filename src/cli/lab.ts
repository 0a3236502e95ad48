/**
 * `glassbox lab`: serves the lab (lab/: draw a digit, watch backprop explain it, live on WebGPU in
 * the browser) from a static server on localhost (Node's http, a free port unless --port), and
 * prints its URL. In a checkout it first builds the page (scripts/build-lab.mjs) when dist/lab is
 * missing or older than a source; `npm run build:lab` writes the same folder for any static host.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../datasets/paths.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';

export const DEFAULT_LAB_DIR = join(REPO_ROOT, 'dist', 'lab');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

/** Builds the lab into `dir` when it is missing or stale and the sources are here (a checkout); returns `dir`. */
export async function ensureLabBuilt(dir = DEFAULT_LAB_DIR, opts: { rebuild?: boolean } = {}): Promise<string> {
  const script = join(REPO_ROOT, 'scripts', 'build-lab.mjs');
  if (existsSync(script) && existsSync(join(REPO_ROOT, 'lab', 'src'))) {
    const build = (await import(pathToFileURL(script).href)) as { isLabFresh(out: string): boolean; buildLab(out: string): Promise<string> };
    if (opts.rebuild || !build.isLabFresh(dir)) await build.buildLab(dir);
  }
  if (!existsSync(join(dir, 'index.html')) || !existsSync(join(dir, 'app.js')))
    throw new UsageError(`glassbox lab: ${dir} holds no built lab (index.html, app.js); build it in a checkout with npm run build:lab, or pass --dir <folder> of a built lab`);
  return dir;
}

/** Serves the files of `dir` on 127.0.0.1 (port 0: a free one). Only GET and HEAD, and only files inside `dir`. */
export async function serveLab(dir: string, port = 0): Promise<{ url: string; server: Server }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split(/[?#]/)[0]!);
    const file = normalize(join(root, path.endsWith('/') ? path + 'index.html' : path));
    const inside = file === root || file.startsWith(root + sep);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      rej(e.code === 'EADDRINUSE' ? new UsageError(`glassbox lab: port ${port} is in use; pick another with --port, or leave it out for a free one`) : e),
    );
    server.listen(port, '127.0.0.1', () => res());
  });
  const { port: actual } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${actual}/`, server };
}

export async function labCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const dir = await ensureLabBuilt(resolve(stringOption(o, 'dir', DEFAULT_LAB_DIR)), { rebuild: o.rebuild === true });
  const { url } = await serveLab(dir, numberOption(o, 'port', 0));
  console.log(`glassbox lab: serving ${dir} at ${url}`);
  console.log('open it in a browser with WebGPU (Chrome or Edge 113+, Safari 26+); Ctrl-C stops the server');
  await new Promise<never>(() => {}); // serve until the process is stopped
}
