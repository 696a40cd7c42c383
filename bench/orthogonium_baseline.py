# The baseline of `npm run bench:model`: the same measurements with the Python
# Orthogonium on PyTorch, run by the TypeScript benchmark in the same session.
# Needs Debian's python3-torch, Orthogonium's source and schedule_free's source
# (pure Python; paths given as arguments). Prints one JSON object.
#
#   python3 bench/orthogonium_baseline.py ORTHOGONIUM_SRC SCHEDULEFREE_SRC CONFIG ROW BATCH STEPS THREADS [DEVICE]
#   CONFIG: small | seed; ROW: train | eval-rebuilt | eval-cached | train-bf16; DEVICE: cpu (default) | cuda
import json
import statistics
import sys
import time

orthogonium_src, schedulefree_src, config, row, batch, steps, threads = sys.argv[1:8]
device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
batch, steps, threads = int(batch), int(steps), int(threads)
sys.path.insert(0, orthogonium_src)
sys.path.insert(0, schedulefree_src)

import torch  # noqa: E402
import torch.nn.utils.parametrize as parametrize  # noqa: E402
import orthogonium.reparametrizers as reparametrizers  # noqa: E402


def _l2_normalize(self, x):
    # torch 1.13's torch.norm rejects the dtype argument Orthogonium passes; same maths.
    return x / (torch.linalg.vector_norm(x, dim=self.dim, keepdim=True, dtype=self.dtype) + 1e-8)


reparametrizers.L2Normalize.forward = _l2_normalize
reparametrizers.L2Normalize.right_inverse = _l2_normalize

if not hasattr(torch, "_foreach_lerp_"):
    # schedule_free's current source uses torch 2's fused lerp; one lerp_ per tensor on torch 1.13.
    def _foreach_lerp_(tensors, ends, weight):
        for t, e in zip(tensors, ends):
            t.lerp_(e, weight)

    torch._foreach_lerp_ = _foreach_lerp_

from orthogonium.layers import AdaptiveOrthoConv2d, OrthoLinear  # noqa: E402
from orthogonium.layers.custom_activations import MaxMin  # noqa: E402
from orthogonium.losses import LossXent  # noqa: E402
from orthogonium.model_factory.classparam import ClassParam  # noqa: E402
from orthogonium.model_factory.models_factory import PatchBasedExapandedCNN  # noqa: E402
from schedulefree import AdamWScheduleFree  # noqa: E402

torch.set_num_threads(threads)
torch.manual_seed(0)
dim, depth = (64, 4) if config == "small" else (256, 12)
model = PatchBasedExapandedCNN(
    img_shape=(3, 32, 32), dim=dim, depth=depth, kernel_size=3, patch_size=2, expand_factor=2, groups=None, n_classes=10, skip=True,
    conv=ClassParam(AdaptiveOrthoConv2d, bias=False, padding="same", padding_mode="zeros"),
    act=ClassParam(MaxMin),
    pool=ClassParam(AdaptiveOrthoConv2d, in_channels=dim, out_channels=dim, groups=dim // 2, bias=False, padding=0, kernel_size=16, stride=16),
    lin=ClassParam(OrthoLinear, bias=False),
    norm=None,
)
model.to(device)
x = torch.randn(batch, 3, 32, 32).to(device)
y = torch.randint(0, 10, (batch,)).to(device)


def synchronize():
    if device == "cuda":
        torch.cuda.synchronize()  # a GPU queues kernels: a step counts once they have run


def timed(step):
    step()  # warm-up: allocations, caches
    synchronize()
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        synchronize()
        samples.append(time.perf_counter() - start)
    return samples


if row.startswith("train"):
    loss_fn = LossXent(n_classes=10, offset=(2 ** 0.5 / 0.1983) * (36 / 255), temperature=0.125)
    optimizer = AdamWScheduleFree(model.parameters(), lr=5e-3, weight_decay=0)
    model.train()
    optimizer.train()

    def train_step():
        with torch.autocast(device, dtype=torch.bfloat16, enabled=row == "train-bf16"):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    times = timed(train_step)
else:
    model.eval()
    with torch.no_grad():
        if row == "eval-cached":
            with parametrize.cached():  # kernels built at the first call, reused after
                times = timed(lambda: model(x))
        else:
            times = timed(lambda: model(x))

import resource  # noqa: E402

print(json.dumps({
    "imagesPerSecond": batch / statistics.median(times),
    "medianSeconds": statistics.median(times),
    "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
