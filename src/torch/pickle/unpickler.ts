// A pickle virtual machine for the subset of the protocol that torch.save
// emits (protocols 2–5): enough to read state dicts, optimizer states and
// checkpoints without Python. Classes are never instantiated: `resolveGlobal`
// decides what each referenced global means, and anything unknown stays an
// inert description, so loading a file can never run code.

export type Callable = (args: unknown[]) => unknown;

/** A global the caller did not recognise, kept as a description. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string { return `${this.module}.${this.name}`; }
}

/** The result of calling an unrecognised global: kept with its arguments and any state. */
export class PickleObject {
  state: unknown = undefined;
  constructor(readonly global: PickleGlobal, readonly args: unknown[]) {}
}

export interface UnpicklerHooks {
  /** Returns a callable for known globals, or undefined to keep a PickleGlobal. */
  resolveGlobal(module: string, name: string): Callable | undefined;
  /** Resolves a persistent id (torch uses them for storages). */
  persistentLoad(pid: unknown): unknown;
}

const MARK = Symbol('mark');

export function unpickle(data: Buffer, hooks: UnpicklerHooks, label: string): unknown {
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const fail = (why: string): never => { throw new Error(`${label}: cannot read the pickle at byte ${p}: ${why}`); };
  const need = (n: number) => { if (p + n > data.length) fail('unexpected end of data (truncated file?)'); };
  const u8 = () => { need(1); return data[p++]; };
  const u16 = () => { need(2); const v = data.readUInt16LE(p); p += 2; return v; };
  const u32 = () => { need(4); const v = data.readUInt32LE(p); p += 4; return v; };
  const i32 = () => { need(4); const v = data.readInt32LE(p); p += 4; return v; };
  const u64 = () => { need(8); const v = Number(data.readBigUInt64LE(p)); p += 8; return v; };
  const bytes = (n: number) => { need(n); const v = data.subarray(p, p + n); p += n; return v; };
  const line = () => {
    const end = data.indexOf(0x0a, p);
    if (end < 0) fail('unterminated text line');
    const v = data.toString('utf8', p, end);
    p = end + 1;
    return v;
  };
  const pop = () => { if (stack.length === 0) fail('stack underflow'); return stack.pop(); };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('MARK expected');
    const items = stack.slice(at + 1);
    stack.length = at;
    return items;
  };
  const top = () => { if (stack.length === 0) fail('stack underflow'); return stack[stack.length - 1]; };
  const global = (module: string, name: string): unknown => hooks.resolveGlobal(module, name) ?? new PickleGlobal(module, name);
  const call = (fn: unknown, args: unknown[]): unknown => {
    if (typeof fn === 'function') return (fn as Callable)(args);
    if (fn instanceof PickleGlobal) return new PickleObject(fn, args);
    return fail(`cannot call ${String(fn)}`);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const append = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target)) fail('APPEND(S) on something that is not a list');
    (target as unknown[]).push(...items);
  };
  const longFrom = (b: Buffer): number => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return Number(v);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays)
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longFrom(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(longFrom(bytes(u32()))); break; // LONG4
      case 0x49: { // INT (text)
        const text = line();
        stack.push(text === '01' ? true : text === '00' ? false : Number.parseInt(text, 10));
        break;
      }
      case 0x4c: stack.push(Number.parseInt(line().replace(/L$/, ''), 10)); break; // LONG (text)
      case 0x47: { need(8); stack.push(data.readDoubleBE(p)); p += 8; break; } // BINFLOAT
      case 0x46: stack.push(Number.parseFloat(line())); break; // FLOAT (text)
      case 0x58: { const n = u32(); stack.push(bytes(n).toString('utf8')); break; } // BINUNICODE
      case 0x8c: { const n = u8(); stack.push(bytes(n).toString('utf8')); break; } // SHORT_BINUNICODE
      case 0x8d: { const n = u64(); stack.push(bytes(n).toString('utf8')); break; } // BINUNICODE8
      case 0x54: { const n = u32(); stack.push(bytes(n).toString('latin1')); break; } // BINSTRING
      case 0x55: { const n = u8(); stack.push(bytes(n).toString('latin1')); break; } // SHORT_BINSTRING
      case 0x42: { const n = u32(); stack.push(Buffer.from(bytes(n))); break; } // BINBYTES
      case 0x43: { const n = u8(); stack.push(Buffer.from(bytes(n))); break; } // SHORT_BINBYTES
      case 0x8e: { const n = u64(); stack.push(Buffer.from(bytes(n))); break; } // BINBYTES8
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const items = popMark(); const m = new Map(); setItems(m, items); stack.push(m); break; } // DICT
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (s instanceof Set) items.forEach((i) => s.add(i)); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number.parseInt(line(), 10), top()); break; // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(key)) fail(`memo key ${key} is missing`);
        stack.push(memo.get(key));
        break;
      }
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop() as string; const module = pop() as string; stack.push(global(module, name)); break; } // STACK_GLOBAL
      case 0x52: { const args = pop() as unknown[]; const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop() as unknown[]; const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD: attach state; dicts (OrderedDict._metadata) keep their items
        const state = pop();
        const target = top();
        if (target instanceof PickleObject) target.state = state;
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default: fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
}
