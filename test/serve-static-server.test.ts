// The page's static server: files under its folder with the MIME types the
// browser needs (application/wasm for streaming compilation), 404 outside
// it (no path traversal), 405 for writes, and a clear error for a port in use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { fileFor, startStaticServer } from '../src/serve/static-server.js';

/** A raw GET (fetch would normalize `..` away before sending). */
function rawGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject).end();
  });
}

test('the static server serves files with their MIME types, and nothing outside its folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-static-'));
  const root = join(dir, 'site');
  mkdirSync(join(root, 'ort'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(root, 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'ort', 'runtime.wasm'), Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(root, 'model.onnx'), Uint8Array.from([8, 8]));
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  const server = await startStaticServer({ root, port: 0 });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);
    const index = await get('/');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await index.text(), /<title>x<\/title>/);
    assert.equal((await get('/app.js')).headers.get('content-type'), 'text/javascript; charset=utf-8');
    const wasm = await get('/ort/runtime.wasm');
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.deepEqual(new Uint8Array(await wasm.arrayBuffer()), Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    assert.equal((await get('/model.onnx?v=2')).headers.get('content-type'), 'application/octet-stream');
    assert.equal((await get('/missing.js')).status, 404);
    assert.equal((await get('/ort/')).status, 404);
    assert.equal((await get('/app.js', { method: 'POST', body: 'x' })).status, 405);
    const head = await get('/app.js', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '14');
    for (const path of ['/../secret.txt', '/ort/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%00']) {
      assert.equal(await rawGet(server.port, path), 404, path);
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(fileFor('/srv/site', '/../x'), '/srv/site/x');
  assert.equal(fileFor('/srv/site', '/%E0%A4%A'), null);
});

test('a port in use and an unknown host give clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-static-'));
  const first = await startStaticServer({ root: dir, port: 0 });
  try {
    await assert.rejects(startStaticServer({ root: dir, port: first.port }), new RegExp(`port ${first.port} on 127\\.0\\.0\\.1 is already in use; pick another with --port N`));
    await assert.rejects(startStaticServer({ root: dir, port: 0, host: '203.0.113.7' }), /cannot listen on host '203\.0\.113\.7': no such local address/);
  } finally {
    await first.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
