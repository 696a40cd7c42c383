// torch.load for the zip format (PyTorch ≥ 1.6, and libtorch's own saves):
// data.pkl is unpickled with storages resolved from the archive's data/
// entries, and tensors rebuilt from (storage, offset, size, stride).
import { aten } from '../dispatch.js';
import { DType, dtypeCode } from '../dtype.js';
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { Callable, PickleObject, unpickle } from './unpickler.js';
import { ZipReader } from './zip.js';

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', ComplexFloatStorage: 'complex64', ComplexDoubleStorage: 'complex128',
};
const ELEMENT_SIZES: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1, complex64: 8, complex128: 16,
};

/** A storage reference produced by a persistent id; becomes a tensor when first used. */
class StorageRef {
  constructor(readonly dtype: DType, readonly key: string) {}
}

export type LoadedValue = Tensor | number | string | boolean | null | Buffer | PickleObject | LoadedValue[] | Map<unknown, LoadedValue> | Set<unknown>;

export function torchLoad(bytes: Buffer, label: string): LoadedValue {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new Error(`${label}: this is PyTorch's legacy (pre-1.6, non-zip) format, which is not supported; ` +
      'load it in Python and re-save it with torch.save(obj, path)');
  }
  const zip = new ZipReader(bytes, label);
  const pickleName = [...zip.entries.keys()].find((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (!pickleName) throw new Error(`${label}: not a torch.save archive (no <name>/data.pkl entry)`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const storages = new Map<string, Tensor>();

  const storageTensor = (ref: StorageRef): Tensor => {
    let t = storages.get(ref.key);
    if (!t) {
      const raw = zip.read(`${prefix}data/${ref.key}`);
      const size = ELEMENT_SIZES[ref.dtype];
      if (raw.length % size !== 0) throw new Error(`${label}: storage ${ref.key} has ${raw.length} bytes, not a multiple of ${size} (${ref.dtype})`);
      const copy = new Uint8Array(raw.length);
      copy.set(raw);
      t = Tensor._wrap(native.fromBuffer(copy, [raw.length / size], dtypeCode(ref.dtype)));
      storages.set(ref.key, t);
    }
    return t;
  };

  const rebuildTensor = (args: unknown[]): Tensor => {
    const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
    if (!(storage instanceof StorageRef)) throw new Error(`${label}: a tensor refers to something that is not a storage`);
    const base = storageTensor(storage);
    const numel = base.numel();
    const last = size.reduce((acc, s, i) => acc + (s - 1) * stride[i], offset);
    if (size.some((s) => s === 0) ? offset > numel : last >= numel) {
      throw new Error(`${label}: a tensor of shape [${size}] at offset ${offset} does not fit in storage ${storage.key} (${numel} elements)`);
    }
    const view: Tensor = aten('as_strided', base, size, stride, offset);
    const out = view.clone();
    view.dispose();
    if (args[4] === true) out.requiresGrad_(true);
    return out;
  };

  const globals: Record<string, Callable> = {
    'collections.OrderedDict': (args) => new Map(Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []),
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_tensor': rebuildTensor,
    'torch._utils._rebuild_parameter': (args) => {
      const t = args[0] as Tensor;
      if (args[1] === true) t.requiresGrad_(true);
      return t;
    },
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
    'torch._tensor._rebuild_from_type_v2': (args) => (args[0] as Callable)(args[2] as unknown[]),
    'torch.jit._pickle.restore_type_tag': (args) => args[0],
    'torch.device': (args) => (args.length > 1 && args[1] !== null ? `${args[0]}:${args[1]}` : args[0]),
    'builtins.set': (args) => new Set((args[0] as unknown[]) ?? []),
  };

  try {
    return unpickle(zip.read(pickleName), {
      resolveGlobal(module, name) {
        if (module === 'torch' && name in STORAGE_DTYPES) return () => STORAGE_DTYPES[name];
        const known = globals[`${module}.${name}`];
        if (known) return known;
        if (module === 'torch' && name.endsWith('Storage')) {
          throw new Error(`${label}: storage type torch.${name} is not supported`);
        }
        return undefined;
      },
      persistentLoad(pid) {
        if (!Array.isArray(pid) || pid[0] !== 'storage') throw new Error(`${label}: unknown persistent id ${JSON.stringify(pid)}`);
        const [, storageType, key] = pid as [string, unknown, string];
        const dtype = typeof storageType === 'function' ? (storageType as () => DType)() : undefined;
        if (dtype === undefined) throw new Error(`${label}: storage ${key} has an unknown element type`);
        return new StorageRef(dtype, String(key));
      },
    }, label) as LoadedValue;
  } finally {
    for (const t of storages.values()) t.dispose();
  }
}
