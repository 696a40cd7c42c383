// `orthogonium serve` bad input: each case exits with a message naming the
// problem (usage errors 2, other failures 1), and a temporary build folder
// is not left behind when the port is taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { buildPreset } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [cli, 'serve', ...args], { encoding: 'utf8', env });

/** Like run, but asynchronous, so that this process can keep a port open meanwhile. */
function runAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, 'serve', ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr })));
}

test('orthogonium serve: usage errors, a missing or invalid checkpoint, a port in use', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortho-serve-cli-'));
  try {
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /orthogonium serve --checkpoint FILE \[--port N\]/);

    const noCheckpoint = run(['--port', '0']);
    assert.equal(noCheckpoint.status, 2);
    assert.match(noCheckpoint.stderr, /orthogonium serve: --checkpoint is required/);
    assert.match(run(['--checkpoint', 'x', '--port', '70000']).stderr, /--port must be at most 65535, got 70000/);
    assert.match(run(['--checkpoint', 'x', '--port', 'http']).stderr, /--port must be a non-negative integer, got 'http'/);
    assert.match(run(['--checkpoint', 'x', '--bind', '0.0.0.0']).stderr, /unknown option --bind/);

    const missing = run(['--checkpoint', join(dir, 'nope.ckpt'), '--port', '0']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.ckpt: no such checkpoint file/);
    writeFileSync(join(dir, 'junk.ckpt'), 'not a checkpoint');
    const junk = run(['--checkpoint', join(dir, 'junk.ckpt'), '--port', '0']);
    assert.equal(junk.status, 1);
    assert.match(junk.stderr, /junk\.ckpt/);

    torch.manualSeed(0);
    const model = buildPreset('fmnist-small');
    const checkpoint = join(dir, 'model.ckpt');
    saveCheckpoint(checkpoint, model, { mean: [0.286], std: [0.353], dataset: 'fashion-mnist' });
    model.dispose();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const temp = join(dir, 'tmp');
    mkdirSync(temp);
    try {
      const busy = await runAsync(['--checkpoint', checkpoint, '--port', String(port)], { ...process.env, TMPDIR: temp });
      assert.equal(busy.status, 1, busy.stderr);
      assert.match(busy.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use; pick another with --port N`));
      assert.deepEqual(readdirSync(temp), [], 'the temporary build folder is removed');
    } finally {
      blocker.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
