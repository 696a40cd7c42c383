// CIFAR download against a local HTTP server on 127.0.0.1 serving generated
// archives: full download, resume after a connection cut mid-way, checksum
// mismatch, unreachable server, the synchronous loaders (download in a child
// process). Nothing here touches the internet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { loadCifar10, loadCifar10Async, loadCifar100Async } from '../src/data/cifar.js';
import { cifar10Files, pixel, PIX, records, tar } from './helpers/cifar-files.js';

const archive = gzipSync(tar(cifar10Files().map(([n, d]) => [`cifar-10-batches-bin/${n}`, d] as [string, Buffer])), { level: 0 });
const md5 = createHash('md5').update(archive).digest('hex');

interface Served { body: Buffer; status?: number; cutAfter?: number | null }

/** A server answering every GET with `served()` (Range requests honoured), logging the Range headers. */
async function serve(served: () => Served): Promise<{ url: string; ranges: (string | null)[]; close: () => Promise<void> }> {
  const ranges: (string | null)[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { body, status, cutAfter } = served();
    ranges.push(req.headers.range ?? null);
    if (status !== undefined) { res.writeHead(status); res.end('nope'); return; }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= body.length && m) { res.writeHead(416, { 'content-range': `bytes */${body.length}` }); res.end(); return; }
    res.writeHead(m ? 206 : 200, { 'content-length': String(body.length - start), ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (cutAfter != null) {
      res.write(body.subarray(start, start + cutAfter), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, ranges,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-dl-'));
  try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function checkLoaded(ds: { length: number; images: Uint8Array; labels: Int32Array }): void {
  assert.equal(ds.length, 9);
  assert.deepEqual([...ds.labels], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(ds.images[8 * PIX + 2 * 1024 + 31 * 32 + 30], pixel(8, 2, 31, 30));
}

test('download: full archive, md5 checked, renamed into place with no .part left', () => withDir(async (dir) => {
  const server = await serve(() => ({ body: archive }));
  try {
    checkLoaded(await loadCifar10Async({ root: dir, download: true, url: `${server.url}/a.tgz`, md5 }));
    assert.deepEqual(readdirSync(dir), ['cifar-10-binary.tar.gz']);
    assert.deepEqual(readFileSync(join(dir, 'cifar-10-binary.tar.gz')), archive);
    assert.deepEqual(server.ranges, [null]);
    // present now: no second request
    checkLoaded(await loadCifar10Async({ root: dir, download: true, url: `${server.url}/a.tgz`, md5 }));
    assert.equal(server.ranges.length, 1);
  } finally {
    await server.close();
  }
}));

test('download: a connection cut mid-way keeps the .part, the next attempt resumes it with a Range request', () => withDir(async (dir) => {
  let calls = 0;
  const half = Math.floor(archive.length / 2);
  const server = await serve(() => ({ body: archive, cutAfter: calls++ === 0 ? half : null }));
  const opts = { root: dir, download: true, url: `${server.url}/cifar-10-binary.tar.gz`, md5 };
  try {
    await assert.rejects(loadCifar10Async(opts), (e: Error) => /download failed: download of http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz broke off after \d+ bytes/.test(e.message) && e.message.includes(`${join(dir, 'cifar-10-binary.tar.gz')}.part is kept`));
    const kept = statSync(join(dir, 'cifar-10-binary.tar.gz.part')).size;
    assert.ok(kept > 0 && kept <= half, `${kept}`);
    assert.ok(!existsSync(join(dir, 'cifar-10-binary.tar.gz')));
    checkLoaded(await loadCifar10Async(opts));
    assert.deepEqual(server.ranges, [null, `bytes=${kept}-`]);
    assert.deepEqual(readFileSync(join(dir, 'cifar-10-binary.tar.gz')), archive);
    assert.deepEqual(readdirSync(dir), ['cifar-10-binary.tar.gz']);
  } finally {
    await server.close();
  }
}));

test('download: md5 mismatch (the official md5, a mirror from the environment) → error and no file at all; HTTP errors named', () => withDir(async (dir) => {
  const server = await serve(() => ({ body: archive }));
  const before = process.env.ORTHOGONIUM_CIFAR_MIRROR;
  process.env.ORTHOGONIUM_CIFAR_MIRROR = `${server.url}/mirror/`;
  try {
    await assert.rejects(loadCifar10Async({ root: dir, download: true }),
      new RegExp(`download failed: http://127\\.0\\.0\\.1:\\d+/mirror/cifar-10-binary\\.tar\\.gz: downloaded file has md5 ${md5}, expected c32a1d4ab5d03f1284b67883e8d87530; it was deleted`));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    if (before === undefined) delete process.env.ORTHOGONIUM_CIFAR_MIRROR; else process.env.ORTHOGONIUM_CIFAR_MIRROR = before;
    await server.close();
  }
  const missing = await serve(() => ({ body: archive, status: 404 }));
  try {
    await assert.rejects(loadCifar10Async({ root: dir, download: true, url: `${missing.url}/x.tgz`, md5 }), /x\.tgz: HTTP 404 Not Found/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    await missing.close();
  }
}));

test('download: unreachable server → which URL failed and exactly which file to place where', () => withDir(async (dir) => {
  const server = await serve(() => ({ body: archive }));
  const url = `${server.url}/cifar-10-binary.tar.gz`;
  await server.close(); // nothing listens on that port any more
  await assert.rejects(loadCifar10Async({ root: dir, download: true, url, md5, train: false }), (e: Error) =>
    e.message.includes(`cannot reach ${url}`) && e.message.includes(`Place the archive at ${join(dir, 'cifar-10-binary.tar.gz')}`) &&
    e.message.includes(`extracted folder at ${join(dir, 'cifar-10-batches-bin')} (holding test_batch.bin`) && e.message.includes('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'));
  assert.throws(() => loadCifar10({ root: dir, download: true, url, md5 }), (e: Error) => e.message.includes(`cannot reach ${url}`) && e.message.includes('Place the archive at'));
  assert.deepEqual(readdirSync(dir), []);
}));

test('download: CIFAR-100 (no official md5: the archive must hold train.bin), and the synchronous loader in a child process', () => withDir(async (dir) => {
  const c100 = gzipSync(tar([['cifar-100-binary/train.bin', records([[3, 40], [19, 99]], 0)]]));
  const notCifar = gzipSync(tar([['readme.txt', Buffer.from('hello')]]));
  let body = notCifar;
  const server = await serve(() => ({ body }));
  try {
    await assert.rejects(loadCifar100Async({ root: dir, download: true, url: `${server.url}/c100.tgz` }), /failed its check and was deleted: it holds no train\.bin/);
    assert.deepEqual(readdirSync(dir), []);
    body = c100;
    const ds = await loadCifar100Async({ root: dir, download: true, url: `${server.url}/c100.tgz` });
    assert.deepEqual([...ds.fineLabels], [40, 99]);
    assert.deepEqual(readdirSync(dir), ['cifar-100-binary.tar.gz']);

    // the synchronous loadCifar10 downloads in a child process while this one serves
    writeFileSync(join(dir, 'cifar-10-binary.tar.gz.part'), archive.subarray(0, 1000)); // and resumes a partial file
    const cifar = fileURLToPath(new URL('../src/data/cifar.js', import.meta.url));
    const script = `import { loadCifar10 } from ${JSON.stringify(cifar)};\n` +
      `const ds = loadCifar10({ root: ${JSON.stringify(dir)}, download: true, url: ${JSON.stringify(`${server.url}/c10.tgz`)}, md5: ${JSON.stringify(md5)} });\n` +
      'console.log(JSON.stringify([ds.length, ...ds.labels]));';
    body = archive;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`))));
    });
    assert.deepEqual(JSON.parse(out), [9, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(server.ranges.at(-1), 'bytes=1000-');
    assert.deepEqual(readFileSync(join(dir, 'cifar-10-binary.tar.gz')), archive);
  } finally {
    await server.close();
  }
}));
