// The caching CPU allocator: counters, reuse without new mappings, blocks that
// never overlap while sizes are split and coalesced, emptyCache, a clear
// out-of-memory error, and libtorch's own allocator when asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { torch } from '../src/index.js';

const MiB = 2 ** 20;
const floats = (bytes: number) => bytes / 4;

test('a large tensor is counted while alive and its memory is kept for the next one of the same size', () => {
  assert.equal(torch.cpuAllocatorStats().enabled, true);
  const before = torch.cpuAllocatorStats();
  const t = torch.zeros([floats(6 * MiB)]);
  const during = torch.cpuAllocatorStats();
  assert.ok(during.allocatedBytes - before.allocatedBytes >= 6 * MiB, 'allocation counted');
  t.dispose();
  const after = torch.cpuAllocatorStats();
  assert.equal(after.allocatedBytes, before.allocatedBytes, 'freed bytes no longer counted');
  assert.ok(after.reservedBytes >= 6 * MiB, 'memory kept mapped for reuse');
  const maps = after.segmentMaps;
  for (let i = 0; i < 20; i++) torch.zeros([floats(6 * MiB)]).dispose();
  assert.equal(torch.cpuAllocatorStats().segmentMaps, maps, 'the same size reuses the cached block');
});

test('blocks of assorted sizes, freed in a scattered order, never overlap', () => torch.scope(() => {
  // Sizes from 256 KiB to 40 MiB: shared segments, own segments, splits and merges.
  const sizes = [0.25, 3, 1, 40, 0.5, 7, 12, 2, 0.3, 9, 33, 1.5].map((m) => Math.round(floats(m * MiB)));
  const live = new Map<number, torch.Tensor>();
  for (let round = 0; round < 4; round++) {
    sizes.forEach((n, i) => {
      const key = round * 100 + i;
      live.set(key, torch.full([n], key));
      // free every third block at once so that later requests land in the gaps
      if (i % 3 === 1) {
        const victim = [...live.keys()][Math.floor(live.size / 2)]!;
        live.get(victim)!.dispose();
        live.delete(victim);
      }
    });
    for (const [key, t] of live) {
      assert.equal(t.min().item(), key, `block ${key} was overwritten`);
      assert.equal(t.max().item(), key, `block ${key} was overwritten`);
    }
  }
}));

test('emptyCache unmaps what no tensor uses; peak counters restart on request', () => {
  torch.scope(() => { torch.zeros([floats(24 * MiB)]); });
  const held = torch.cpuAllocatorStats();
  const released = torch.emptyCache();
  const after = torch.cpuAllocatorStats();
  assert.ok(released >= 24 * MiB, `released ${released} bytes`);
  assert.equal(after.reservedBytes, held.reservedBytes - released);
  assert.ok(after.peakAllocatedBytes >= 24 * MiB);
  torch.resetPeakMemoryStats();
  assert.equal(torch.cpuAllocatorStats().peakAllocatedBytes, torch.cpuAllocatorStats().allocatedBytes);
});

test('an allocation the machine cannot map is a clear error, and the process goes on', { skip: readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() === '1' ? 'overcommit_memory=1 maps anything' : false }, () => {
  assert.throws(() => torch.empty([2 ** 40]), /out of memory/i);
  assert.equal(torch.ones([3]).sum().item(), 3);
});

test('ORTHOGONIUM_CPU_ALLOCATOR=system keeps libtorch\'s own allocator', () => {
  const script = `
    import { torch } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
    const x = torch.randn([4, 3, 16, 16]);
    const y = torch.F.conv2d(x, torch.randn([8, 3, 3, 3]), { padding: 1 });
    console.log(JSON.stringify({ enabled: torch.cpuAllocatorStats().enabled, shape: y.shape }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ORTHOGONIUM_CPU_ALLOCATOR: 'system' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { enabled: false, shape: [4, 8, 16, 16] });
});
