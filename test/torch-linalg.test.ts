// Matrix products, torch.linalg decompositions and norms, and FFTs, checked
// with plain-JS matrix arithmetic and a direct DFT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../src/index.js';
import { assertClose, assertTensor, randomTensor } from './helpers/gradcheck.js';

const { scope, linalg, fft } = torch;
type Tensor = torch.Tensor;
type Mat = number[][];

const asMat = (t: Tensor): Mat => t.toArray() as Mat;
const T = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
const mm = (a: Mat, b: Mat): Mat => a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
const eyeJs = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const flat = (a: Mat): number[] => a.flat();
const f64 = { dtype: 'float64' as const };
const tight = { atol: 1e-12, rtol: 1e-12 };

test('matmul: matrix, vector and broadcast batched products', () => scope(() => {
  const a = randomTensor([3, 4], 1);
  const b = randomTensor([4, 2], 2);
  assertTensor(a.matmul(b), [3, 2], flat(mm(asMat(a), asMat(b))), tight);
  assertTensor(torch.matmul(a, b), [3, 2], flat(mm(asMat(a), asMat(b))), tight);
  assertTensor(a.mm(b), [3, 2], flat(mm(asMat(a), asMat(b))), tight);
  const v = randomTensor([4], 3);
  const vv = v.toFlatArray();
  assertTensor(a.matmul(v), [3], asMat(a).map((r) => r.reduce((s, x, k) => s + x * vv[k], 0)), tight);
  assertClose([v.dot(v).item()], [vv.reduce((s, x) => s + x * x, 0)], tight);
  // [2,1,3,4] @ [5,4,2] -> [2,5,3,2]: each batch pair multiplied.
  const x = randomTensor([2, 1, 3, 4], 4);
  const y = randomTensor([5, 4, 2], 5);
  const z = x.matmul(y);
  assert.deepEqual(z.shape, [2, 5, 3, 2]);
  for (const [i, j] of [[0, 0], [1, 3], [1, 4]]) {
    const expected = mm(asMat(x.select(0, i).select(0, 0)), asMat(y.select(0, j)));
    assertClose(z.select(0, i).select(0, j).toFlatArray(), flat(expected), tight, `batch ${i},${j}`);
  }
  // float32 product agrees with the float64 one to float32 precision.
  const a32 = a.float();
  assertClose(a32.matmul(b.float()).toFlatArray(), flat(mm(asMat(a), asMat(b))), { atol: 1e-5, rtol: 1e-5 });
}));

test('bmm and einsum', () => scope(() => {
  const a = randomTensor([3, 2, 4], 6);
  const b = randomTensor([3, 4, 5], 7);
  const c = a.bmm(b);
  assert.deepEqual(c.shape, [3, 2, 5]);
  for (let i = 0; i < 3; i++) assertClose(c.select(0, i).toFlatArray(), flat(mm(asMat(a.select(0, i)), asMat(b.select(0, i)))), tight);
  assert.ok(torch.einsum('bij,bjk->bik', a, b).allclose(c, 1e-12, 1e-12));
  const m = randomTensor([3, 3], 8);
  const mv = asMat(m);
  assertClose([torch.einsum('ii', m).item()], [mv[0][0] + mv[1][1] + mv[2][2]], tight, 'trace');
  assertClose(torch.einsum('ii->i', m).toFlatArray(), [mv[0][0], mv[1][1], mv[2][2]], tight, 'diagonal');
  assertClose(torch.einsum('ij->ji', m).toFlatArray(), flat(T(mv)), tight, 'transpose');
  assertClose(torch.einsum('ij->j', m).toFlatArray(), [0, 1, 2].map((j) => mv[0][j] + mv[1][j] + mv[2][j]), tight, 'column sums');
  const u = torch.tensor([1, 2], f64);
  const w = torch.tensor([3, 4, 5], f64);
  assert.deepEqual(torch.einsum('i,j->ij', u, w).toArray(), [[3, 4, 5], [6, 8, 10]], 'outer product');
  // A contraction over two indices: out[o] = sum_{c,k} x[c,k] * wt[o,c,k].
  const x = randomTensor([2, 3], 9);
  const wt = randomTensor([4, 2, 3], 10);
  const xv = asMat(x);
  const wv = wt.toArray() as number[][][];
  const expected = wv.map((plane) => plane.reduce((s, row, ci) => s + row.reduce((t, val, k) => t + val * xv[ci][k], 0), 0));
  assertClose(torch.einsum('ck,ock->o', x, wt).toFlatArray(), expected, tight);
  assert.throws(() => torch.einsum('ij,jk->ik', m, randomTensor([2, 2], 1)), /einsum/);
}));

test('linalg.qr: Q orthonormal, R upper triangular, QR = A (reduced and complete)', () => scope(() => {
  const a = randomTensor([5, 3], 11);
  const { Q, R } = linalg.qr(a);
  assert.deepEqual(Q.shape, [5, 3]);
  assert.deepEqual(R.shape, [3, 3]);
  const q = asMat(Q);
  const r = asMat(R);
  assertClose(flat(mm(T(q), q)), flat(eyeJs(3)), tight, 'QᵀQ = I');
  assertClose(flat(mm(q, r)), flat(asMat(a)), tight, 'QR = A');
  for (let i = 0; i < 3; i++) for (let j = 0; j < i; j++) assert.equal(r[i][j], 0, `R[${i}][${j}] below the diagonal`);
  const full = linalg.qr(a, 'complete');
  assert.deepEqual(full.Q.shape, [5, 5]);
  assert.deepEqual(full.R.shape, [5, 3]);
  const qf = asMat(full.Q);
  assertClose(flat(mm(qf, T(qf))), flat(eyeJs(5)), tight, 'complete Q is orthogonal');
  assertClose(flat(mm(qf, asMat(full.R))), flat(asMat(a)), tight);
  // Batched.
  const batch = randomTensor([2, 3, 3], 12);
  const bq = linalg.qr(batch);
  for (let i = 0; i < 2; i++) {
    assertClose(flat(mm(asMat(bq.Q.select(0, i)), asMat(bq.R.select(0, i)))), flat(asMat(batch.select(0, i))), tight);
  }
}));

test('linalg.cholesky: LLᵀ = A, upper variant, not positive-definite throws', () => scope(() => {
  const m = asMat(randomTensor([4, 4], 13));
  const spd = mm(m, T(m)).map((r, i) => r.map((v, j) => v + (i === j ? 4 : 0)));
  const A = torch.tensor(spd, f64);
  const L = linalg.cholesky(A);
  const l = asMat(L);
  for (let i = 0; i < 4; i++) {
    assert.ok(l[i][i] > 0, 'positive diagonal');
    for (let j = i + 1; j < 4; j++) assert.equal(l[i][j], 0, 'lower triangular');
  }
  assertClose(flat(mm(l, T(l))), flat(spd), tight, 'LLᵀ = A');
  const U = linalg.cholesky(A, { upper: true });
  assertClose(flat(mm(T(asMat(U)), asMat(U))), flat(spd), tight, 'UᵀU = A');
  // A 2x2 by hand: [[4, 2], [2, 5]] = [[2, 0], [1, 2]] [[2, 1], [0, 2]].
  assert.deepEqual(linalg.cholesky(torch.tensor([[4, 2], [2, 5]], f64)).toArray(), [[2, 0], [1, 2]]);
  assert.throws(() => linalg.cholesky(torch.tensor([[1, 2], [2, 1]], f64)), /positive-definite/);
}));

test('linalg.solveTriangular, solve, inv, det', () => scope(() => {
  const Lm = [[2, 0, 0], [1, 3, 0], [-1, 0.5, 4]];
  const L = torch.tensor(Lm, f64);
  const B = randomTensor([3, 2], 14);
  const X = linalg.solveTriangular(L, B, { upper: false });
  assertClose(flat(mm(Lm, asMat(X))), flat(asMat(B)), tight, 'L X = B');
  const U = L.t().contiguous();
  const Xu = linalg.solveTriangular(U, B, { upper: true });
  assertClose(flat(mm(T(Lm), asMat(Xu))), flat(asMat(B)), tight, 'U X = B');
  const Br = randomTensor([2, 3], 15);
  const Xr = linalg.solveTriangular(L, Br, { upper: false, left: false });
  assertClose(flat(mm(asMat(Xr), Lm)), flat(asMat(Br)), tight, 'X L = B');
  const Xunit = linalg.solveTriangular(L, B, { upper: false, unitriangular: true });
  const unitL = Lm.map((r, i) => r.map((v, j) => (i === j ? 1 : v)));
  assertClose(flat(mm(unitL, asMat(Xunit))), flat(asMat(B)), tight, 'unit diagonal assumed');
  // General solve, inverse and determinant of a 3x3 by cofactors.
  const Am = [[4, 1, 2], [1, 3, 0], [2, 0, 5]];
  const A = torch.tensor(Am, f64);
  const det = Am[0][0] * (Am[1][1] * Am[2][2] - Am[1][2] * Am[2][1]) - Am[0][1] * (Am[1][0] * Am[2][2] - Am[1][2] * Am[2][0])
    + Am[0][2] * (Am[1][0] * Am[2][1] - Am[1][1] * Am[2][0]);
  assertClose([linalg.det(A).item()], [det], tight);
  assertClose(flat(mm(Am, asMat(linalg.inv(A)))), flat(eyeJs(3)), tight, 'A A⁻¹ = I');
  const xs = linalg.solve(A, B);
  assertClose(flat(mm(Am, asMat(xs))), flat(asMat(B)), tight, 'A X = B');
}));

test('linalg.eigvalsh and eigh against closed forms', () => scope(() => {
  // 2x2 symmetric: eigenvalues (tr ± sqrt(tr² - 4 det)) / 2.
  const [a, b, d] = [2, 1.5, -1];
  const tr = a + d;
  const det = a * d - b * b;
  const disc = Math.sqrt(tr * tr - 4 * det);
  assertClose(linalg.eigvalsh(torch.tensor([[a, b], [b, d]], f64)).toFlatArray(), [(tr - disc) / 2, (tr + disc) / 2], tight);
  // R diag(1, 3) Rᵀ with a rotation R: eigenvalues 1 and 3, eigenvectors the columns of R.
  const th = 0.3;
  const R = [[Math.cos(th), -Math.sin(th)], [Math.sin(th), Math.cos(th)]];
  const S = mm(mm(R, [[1, 0], [0, 3]]), T(R));
  const { eigenvalues, eigenvectors } = linalg.eigh(torch.tensor(S, f64));
  assertClose(eigenvalues.toFlatArray(), [1, 3], tight);
  const V = asMat(eigenvectors);
  for (let k = 0; k < 2; k++) {
    const dotR = Math.abs(V[0][k] * R[0][k] + V[1][k] * R[1][k]);
    assertClose([dotR], [1], tight, `eigenvector ${k} is ± column ${k} of R`);
  }
  // Only the lower triangle is read by default; 'U' reads the upper one.
  const lowerOnly = torch.tensor([[a, 100], [b, d]], f64);
  assertClose(linalg.eigvalsh(lowerOnly).toFlatArray(), [(tr - disc) / 2, (tr + disc) / 2], tight);
  const upperOnly = torch.tensor([[a, b], [100, d]], f64);
  assertClose(linalg.eigvalsh(upperOnly, 'U').toFlatArray(), [(tr - disc) / 2, (tr + disc) / 2], tight);
}));

test('linalg.svd and svdvals: squared singular values are the eigenvalues of AᵀA', () => scope(() => {
  const a = randomTensor([5, 3], 16);
  const s = linalg.svdvals(a).toFlatArray();
  assert.equal(s.length, 3);
  assert.ok(s[0] >= s[1] && s[1] >= s[2] && s[2] >= 0, 'descending, non-negative');
  const am = asMat(a);
  const eig = linalg.eigvalsh(torch.tensor(mm(T(am), am), f64)).toFlatArray();
  assertClose(s.map((v) => v * v), [...eig].reverse(), { atol: 1e-12, rtol: 1e-10 });
  const { U, S, Vh } = linalg.svd(a, { fullMatrices: false });
  assert.deepEqual(U.shape, [5, 3]);
  assert.deepEqual(Vh.shape, [3, 3]);
  assertClose(S.toFlatArray(), s, tight);
  const usv = mm(asMat(U).map((r) => r.map((v, j) => v * s[j])), asMat(Vh));
  assertClose(flat(usv), flat(am), tight, 'U diag(S) Vh = A');
  assertClose(flat(mm(T(asMat(U)), asMat(U))), flat(eyeJs(3)), tight);
  const full = linalg.svd(a);
  assert.deepEqual(full.U.shape, [5, 5], 'fullMatrices defaults to true');
  // A 3x2 whose AᵀA is 2x2: singular values in closed form.
  const b = [[1, 2], [0, 1], [3, -1]];
  const btb = mm(T(b), b);
  const tr = btb[0][0] + btb[1][1];
  const det = btb[0][0] * btb[1][1] - btb[0][1] * btb[1][0];
  const disc = Math.sqrt(tr * tr - 4 * det);
  assertClose(linalg.svdvals(torch.tensor(b, f64)).toFlatArray(), [Math.sqrt((tr + disc) / 2), Math.sqrt((tr - disc) / 2)], tight);
}));

test('linalg.vectorNorm and matrixNorm for each order', () => scope(() => {
  const v = [[1, -2, 3], [-4, 5, -6]];
  const x = torch.tensor(v, f64);
  const all = v.flat();
  const abs = all.map(Math.abs);
  assertClose([linalg.vectorNorm(x).item()], [Math.hypot(...all)], tight);
  assertClose([linalg.vectorNorm(x, 1).item()], [abs.reduce((a, b) => a + b, 0)], tight);
  assertClose([linalg.vectorNorm(x, Infinity).item()], [6], tight);
  assertClose([linalg.vectorNorm(x, -Infinity).item()], [1], tight);
  assertClose([linalg.vectorNorm(x, 0).item()], [6], tight, 'ord 0 counts non-zeros');
  assertClose([linalg.vectorNorm(x, 4).item()], [abs.reduce((a, b) => a + b ** 4, 0) ** 0.25], tight);
  assertClose(linalg.vectorNorm(x, 2, 0).toFlatArray(), [0, 1, 2].map((j) => Math.hypot(v[0][j], v[1][j])), tight);
  assertClose(linalg.vectorNorm(x, 2, [0, 1]).toFlatArray(), [Math.hypot(...all)], tight);
  assert.deepEqual(linalg.vectorNorm(x, 2, 1, true).shape, [2, 1]);

  const m = [[1, -2], [3, 4], [0.5, -1]];
  const M = torch.tensor(m, f64);
  const mtm = mm(T(m), m);
  const tr = mtm[0][0] + mtm[1][1];
  const det = mtm[0][0] * mtm[1][1] - mtm[0][1] * mtm[1][0];
  const disc = Math.sqrt(tr * tr - 4 * det);
  const [s1, s2] = [Math.sqrt((tr + disc) / 2), Math.sqrt((tr - disc) / 2)];
  const colSums = [0, 1].map((j) => m.reduce((s, r) => s + Math.abs(r[j]), 0));
  const rowSums = m.map((r) => r.reduce((s, a) => s + Math.abs(a), 0));
  assertClose([linalg.matrixNorm(M).item()], [Math.hypot(...m.flat())], tight, 'fro');
  assertClose([linalg.matrixNorm(M, 'nuc').item()], [s1 + s2], tight, 'nuc');
  assertClose([linalg.matrixNorm(M, 2).item()], [s1], tight, 'spectral');
  assertClose([linalg.matrixNorm(M, -2).item()], [s2], tight, 'smallest singular value');
  assertClose([linalg.matrixNorm(M, 1).item()], [Math.max(...colSums)], tight, 'max column sum');
  assertClose([linalg.matrixNorm(M, -1).item()], [Math.min(...colSums)], tight);
  assertClose([linalg.matrixNorm(M, Infinity).item()], [Math.max(...rowSums)], tight, 'max row sum');
  assertClose([linalg.matrixNorm(M, -Infinity).item()], [Math.min(...rowSums)], tight);
  const batch = torch.stack([M, M.mul(2)]);
  assertClose(linalg.matrixNorm(batch, 'fro').toFlatArray(), [1, 2].map((k) => k * Math.hypot(...m.flat())), tight);
  assert.deepEqual(linalg.matrixNorm(batch, 'fro', [-2, -1], true).shape, [2, 1, 1]);
}));

test('linalg.matrixExp of a skew-symmetric matrix is a rotation', () => scope(() => {
  const t = 0.7;
  const R = linalg.matrixExp(torch.tensor([[0, -t], [t, 0]], f64));
  assertClose(R.toFlatArray(), [Math.cos(t), -Math.sin(t), Math.sin(t), Math.cos(t)], tight);
  const D = linalg.matrixExp(torch.tensor([[1, 0], [0, -2]], f64));
  assertClose(D.toFlatArray(), [Math.E, 0, 0, Math.exp(-2)], tight);
  // Nilpotent: exp([[0, a], [0, 0]]) = I + N.
  assertClose(linalg.matrixExp(torch.tensor([[0, 3], [0, 0]], f64)).toFlatArray(), [1, 3, 0, 1], tight);
}));

/** Direct 2-d DFT of a real H x W array: X[k][l] = sum x[h][w] exp(-2πi (kh/H + lw/W)). */
function dft2(x: Mat, cols: number): { re: Mat; im: Mat } {
  const H = x.length;
  const W = x[0].length;
  const re: Mat = [];
  const im: Mat = [];
  for (let k = 0; k < H; k++) {
    re.push([]);
    im.push([]);
    for (let l = 0; l < cols; l++) {
      let sr = 0;
      let si = 0;
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const ang = -2 * Math.PI * ((k * h) / H + (l * w) / W);
          sr += x[h][w] * Math.cos(ang);
          si += x[h][w] * Math.sin(ang);
        }
      }
      re[k].push(sr);
      im[k].push(si);
    }
  }
  return { re, im };
}

test('fft: rfft2 and fft2 match a direct DFT; ifft2 and irfft2 invert them', () => scope(() => {
  const x = randomTensor([4, 6], 17);
  const xv = asMat(x);
  const r = fft.rfft2(x);
  assert.equal(r.dtype, 'complex128');
  assert.deepEqual(r.shape, [4, 4], 'last dim W/2 + 1');
  const ref = dft2(xv, 4);
  assertClose(r.real().toFlatArray(), flat(ref.re), tight, 'real part');
  assertClose(r.imag().toFlatArray(), flat(ref.im), tight, 'imaginary part');
  const f = fft.fft2(x);
  assert.deepEqual(f.shape, [4, 6]);
  const full = dft2(xv, 6);
  assertClose(f.real().toFlatArray(), flat(full.re), tight);
  assertClose(f.imag().toFlatArray(), flat(full.im), tight);
  const back = fft.ifft2(f);
  assertClose(back.real().toFlatArray(), flat(xv), tight, 'ifft2(fft2(x)) = x');
  assertClose(back.imag().toFlatArray(), new Array(24).fill(0), tight);
  assertClose(fft.irfft2(r, [4, 6]).toFlatArray(), flat(xv), tight, 'irfft2(rfft2(x)) = x');
  // Orthonormal scaling preserves the energy (Parseval).
  const o = fft.fft2(x, undefined, [-2, -1], 'ortho');
  const energy = (a: number[]) => a.reduce((s, v) => s + v * v, 0);
  assertClose([energy(o.real().toFlatArray()) + energy(o.imag().toFlatArray())], [energy(flat(xv))], tight);
  // Batched transforms over the last two dims, and the 1-d transform.
  const batch = randomTensor([2, 3, 4], 18);
  const br = fft.rfft2(batch);
  assert.deepEqual(br.shape, [2, 3, 3]);
  assertClose(br.select(0, 1).real().toFlatArray(), flat(dft2(asMat(batch.select(0, 1)), 3).re), tight);
  const v = [1, 2, 0, -1];
  const f1 = fft.fft(torch.tensor(v, f64));
  const re1 = [0, 1, 2, 3].map((k) => v.reduce((s, a, n) => s + a * Math.cos((-2 * Math.PI * k * n) / 4), 0));
  const im1 = [0, 1, 2, 3].map((k) => v.reduce((s, a, n) => s + a * Math.sin((-2 * Math.PI * k * n) / 4), 0));
  assertClose(f1.real().toFlatArray(), re1, tight);
  assertClose(f1.imag().toFlatArray(), im1, tight);
  // Zero-padded transform size.
  assert.deepEqual(fft.fft2(x, [8, 8]).shape, [8, 8]);
}));
