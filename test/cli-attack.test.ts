// `orthogonium attack` on checkpoints: a small 1-Lipschitz network trained
// briefly on Fashion-MNIST (no certificate may be broken, the attack must
// still break many uncertified samples), a network that is NOT 1-Lipschitz
// behind an OrthoLinear head (its certificates are wrong: the command must
// find violations and exit 1), and bad command lines.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { ModelConfig, buildModel } from '../src/models/index.js';
import { LossXent, certify, lipschitzFromStd } from '../src/losses/index.js';
import { Adam } from '../src/optim/index.js';
import { DEBIAN_FASHION_MNIST_DIR, loadMnistSplit } from '../src/data/mnist.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';

torch.setNumThreads(2);

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'attack', ...args], { encoding: 'utf8' });
const MEAN = [0.286];
const STD = [0.353];
const hasData = existsSync(DEBIAN_FASHION_MNIST_DIR);
const LIMIT = 200;

/** A small PatchBasedExpandedCNN on 28×28: 4×4 patches, one block, a 7×7 orthogonal conv as global pool. */
function smallConfig(conv: unknown, lin: unknown, pool: unknown): ModelConfig {
  return {
    architecture: 'PatchBasedExpandedCNN',
    options: { imgShape: [1, 28, 28], dim: 16, depth: 1, kernelSize: 3, patchSize: 4, expandFactor: 2, groups: null, nClasses: 10, skip: false, act: 'MaxMin', norm: null, conv, lin, pool },
  };
}
const ORTHO_CONV = { type: 'AdaptiveOrthoConv2d', options: { bias: false, padding: 'same' } };
const ORTHO_POOL = { type: 'AdaptiveOrthoConv2d', options: { inChannels: 16, outChannels: 16, groups: 8, bias: false, padding: 0, kernelSize: 7, stride: 7 } };
const ORTHO_HEAD = { type: 'OrthoLinear', options: { bias: false } };

interface Report {
  samples: number; cleanAccuracy: number; certified: number; dtype: string; lastLayer: string;
  violations: { index: number; radius: number; attackDistance: number }[];
  ratio: { min: number; median: number };
  perEps: { eps: number; certifiedAccuracy: number; robustAccuracy: number; uncertified: number; broken: number; medianAttackDistance: number; medianRadius: number }[];
  files: { csv?: string };
}

describe('orthogonium attack on checkpoints', { skip: !hasData && 'dataset-fashion-mnist is not installed' }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ortho-attack-'));
    torch.manualSeed(0);
    // 1-Lipschitz by construction, trained 150 steps (about 5 s): ~75% clean accuracy.
    const model = buildModel(smallConfig(ORTHO_CONV, ORTHO_HEAD, ORTHO_POOL));
    torch.scope(() => {
      const { images, labels } = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, true);
      const x = images.narrow(0, 0, 10000).float().div(255).sub(MEAN[0]).div(STD[0]);
      const y = labels.narrow(0, 0, 10000);
      const optimizer = new Adam(model.parameters(), { lr: 1e-2 });
      const loss = new LossXent({ nClasses: 10, offset: (Math.SQRT2 / STD[0]) * (36 / 255), temperature: 0.125 });
      model.train();
      for (let step = 0; step < 150; step++) {
        torch.scope(() => {
          const index = torch.randint(0, 10000, [64]);
          const l = loss.forward(model.forward(x.indexSelect(0, index)) as torch.Tensor, y.indexSelect(0, index));
          optimizer.zeroGrad();
          l.backward();
          optimizer.step();
        });
      }
      optimizer.dispose();
    });
    saveCheckpoint(join(dir, 'lipschitz.pt'), model, { mean: MEAN, std: STD });
    model.dispose();
    // Plain convolutions scaled ×4 behind an OrthoLinear head: the head type claims 'global'
    // certificates, but the network is far from 1-Lipschitz.
    const broken = buildModel(smallConfig({ type: 'Conv2d', options: { bias: false, padding: 'same' } }, ORTHO_HEAD, 'GlobalScaledAvgPool2d'));
    torch.noGrad(() => { for (const p of broken.parameters()) if (p.ndim === 4) p.mul_(4); });
    saveCheckpoint(join(dir, 'not-lipschitz.pt'), broken, { mean: MEAN, std: STD });
    broken.dispose();
    // A plain Linear head: no certificate is valid for it.
    const plainHead = buildModel(smallConfig(ORTHO_CONV, { type: 'Linear', options: { bias: true } }, ORTHO_POOL));
    saveCheckpoint(join(dir, 'plain-head.pt'), plainHead, { mean: MEAN, std: STD });
    plainHead.dispose();
  });

  test('a 1-Lipschitz model: 0 violations, accuracy under attack ≥ certified accuracy, many uncertified samples broken', (ctx) => {
    const eps = [36 / 255, 72 / 255, 108 / 255];
    const r = run('--checkpoint', join(dir, 'lipschitz.pt'), '--dataset', 'fashion-mnist', '--limit', String(LIMIT), '--json', '--out', join(dir, 'out'));
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    ctx.diagnostic(`clean ${report.cleanAccuracy}, ${report.certified} certified; ` +
      report.perEps.map((p) => `ε ${(p.eps * 255).toFixed(0)}/255: certified ${p.certifiedAccuracy}, attacked ${p.robustAccuracy}, broken ${p.broken}/${p.uncertified}`).join('; ') +
      `; attack/certificate min ${report.ratio.min}, median ${report.ratio.median}`);
    assert.equal(report.samples, LIMIT);
    assert.equal(report.lastLayer, 'global');
    assert.equal(report.dtype, 'float32');
    assert.ok(report.cleanAccuracy >= 0.6, `clean accuracy ${report.cleanAccuracy}: training failed`);
    assert.deepEqual(report.violations, []);
    assert.ok(report.ratio.min >= 1, `an adversarial example at ${report.ratio.min}× a certified radius`);
    assert.deepEqual(report.perEps.map((p) => p.eps), eps);

    // The certified accuracy is what certify() gives on the network with the inputs normalized by hand.
    const expected = torch.scope(() => {
      const { images, labels } = loadMnistSplit(DEBIAN_FASHION_MNIST_DIR, false);
      const x = images.narrow(0, 0, LIMIT).float().div(255).sub(MEAN[0]).div(STD[0]);
      const { model } = loadCheckpoint(join(dir, 'lipschitz.pt'));
      try {
        return certify(model, { x, y: labels.narrow(0, 0, LIMIT) }, { eps, lipschitz: lipschitzFromStd(STD) });
      } finally {
        model.dispose();
      }
    });
    assert.ok(expected.certifiedAccuracy[0].accuracy >= 0.3, `only ${expected.certifiedAccuracy[0].accuracy} certified at 36/255`);

    // Per-sample CSV: radii as certify() computes them, attack distances consistent with the summary.
    const rows = readFileSync(report.files.csv!, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'index,label,prediction,radius,attack_distance,violation');
    assert.equal(rows.length, LIMIT + 1);
    const cells = rows.slice(1).map((row) => row.split(','));
    const radius = cells.map((c) => Number(c[3]));
    const distance = cells.map((c) => (c[4] === 'inf' ? Infinity : Number(c[4])));
    radius.forEach((rad, i) => assert.ok(Math.abs(rad - expected.radii[i]) < 1e-5, `radius ${i}: ${rad} vs ${expected.radii[i]}`));
    cells.forEach((c, i) => {
      assert.equal(Number(c[2]), expected.predictions[i], `prediction ${i}`);
      assert.equal(c[5], '0', `sample ${i} marked as a violation`);
      // Misclassified samples are adversarial at distance 0; certified ones never closer than their radius.
      if (expected.predictions[i] !== expected.labels[i]) assert.equal(distance[i], 0, `misclassified sample ${i}`);
      if (radius[i] > 0) assert.ok(distance[i] >= radius[i] * (1 - 1e-4), `sample ${i}: certified ${radius[i]}, fooled at ${distance[i]}`);
    });

    report.perEps.forEach((p, k) => {
      const certified = radius.filter((rad) => rad > p.eps).length / LIMIT;
      const robust = distance.filter((d) => d > p.eps).length / LIMIT;
      assert.ok(Math.abs(p.certifiedAccuracy - expected.certifiedAccuracy[k].accuracy) < 1e-12, `certified accuracy at ${p.eps}`);
      assert.ok(Math.abs(p.certifiedAccuracy - certified) < 1e-12 && Math.abs(p.robustAccuracy - robust) < 1e-12, `summary vs CSV at ${p.eps}`);
      assert.ok(p.robustAccuracy >= p.certifiedAccuracy, `ε ${p.eps}: accuracy under attack ${p.robustAccuracy} < certified ${p.certifiedAccuracy}`);
      assert.ok(p.robustAccuracy <= report.cleanAccuracy, `ε ${p.eps}: accuracy under attack above clean accuracy`);
      // The attack has teeth: it breaks a good share of the correct samples the certificate leaves open.
      assert.ok(p.uncertified >= 10, `ε ${p.eps}: only ${p.uncertified} uncertified correct samples`);
      assert.ok(p.broken >= 0.4 * p.uncertified, `ε ${p.eps}: the attack broke only ${p.broken} of ${p.uncertified} uncertified samples`);
      assert.ok(p.medianAttackDistance > p.medianRadius, `ε ${p.eps}: median adversarial distance ${p.medianAttackDistance} below the median radius`);
    });
    // On a gradient-norm-preserving network the certificates are within a small factor of the truth.
    assert.ok(report.ratio.median <= 2, `median attack distance / radius ${report.ratio.median}: the attack is too weak`);
  });

  test('a model that is not 1-Lipschitz behind an OrthoLinear head: violations found, exit 1 with a loud message', () => {
    const r = run('--checkpoint', join(dir, 'not-lipschitz.pt'), '--dataset', 'fashion-mnist', '--limit', '100', '--steps', '10', '--restarts', '1', '--float64', '--json', '--out', join(dir, 'bad'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /CERTIFICATE VIOLATION — \d+ certified samples? (was|were) misclassified inside their certified radius/);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.dtype, 'float64');
    assert.ok(report.certified > 0 && report.violations.length >= report.certified / 2, `${report.violations.length} violations among ${report.certified} certified`);
    for (const v of report.violations) assert.ok(v.attackDistance < v.radius, `violation ${v.index}`);
    const flagged = readFileSync(report.files.csv!, 'utf8').trim().split('\n').slice(1).filter((row) => row.endsWith(',1')).map((row) => Number(row.split(',')[0]));
    assert.deepEqual(flagged, report.violations.map((v) => v.index));
  });

  test('a checkpoint whose head type is unknown is refused with a clear message', () => {
    const r = run('--checkpoint', join(dir, 'plain-head.pt'), '--dataset', 'fashion-mnist', '--limit', '10');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /plain-head\.pt: unknown head type: the model's last linear layer is a Linear, neither an OrthoLinear/);
    const certifyRun = spawnSync(process.execPath, [cli, 'certify', '--checkpoint', join(dir, 'plain-head.pt'), '--dataset', 'fashion-mnist', '--limit', '10'], { encoding: 'utf8' });
    assert.equal(certifyRun.status, 1);
    assert.match(certifyRun.stderr, /plain-head\.pt: unknown head type/);
  });

  test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

test('orthogonium attack: bad command lines exit 2 with the problem named; a missing checkpoint exits 1', () => {
  const usage = (args: string[], message: RegExp): void => {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, /usage: orthogonium/);
  };
  const base = ['--checkpoint', 'x.pt', '--dataset', 'fashion-mnist'];
  usage([...base, '--eps', '0'], /orthogonium attack: --eps: '0' \(item 1\) must be a finite radius > 0/);
  usage([...base, '--eps', '-36/255'], /must be a finite radius > 0/);
  usage([...base, '--eps', '36/255,abc'], /--eps: 'abc' \(item 2\) is not a number or a fraction/);
  usage([...base, '--eps', '1/0'], /is not a number or a fraction/);
  usage([...base, '--limit', '2.5'], /--limit must be a positive integer, got '2.5'/);
  usage([...base, '--limit', '0'], /--limit must be a positive integer/);
  usage([...base, '--restarts', 'three'], /--restarts must be a positive integer, got 'three'/);
  usage([...base, '--steps', '-4'], /--steps must be a positive integer/);
  usage([...base, '--eps'], /--eps needs a value/);
  usage([...base, '--norm', 'linf'], /unknown option --norm/);
  usage(['--checkpoint', 'x.pt', '--dataset', 'imagenet'], /unknown dataset 'imagenet'; expected one of fashion-mnist, mnist, cifar10/);
  usage(['--dataset', 'fashion-mnist'], /--checkpoint is required/);
  const missing = run('--checkpoint', '/nonexistent/model.pt', '--dataset', 'fashion-mnist');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\/model\.pt/);
});
