// A small torchrun for one machine: starts N Node.js processes running the
// same script with RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT
// set, prefixes their output with `[rank k]`, and, when one rank fails,
// stops the others and rejects with that rank's error.
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';

export interface LaunchOptions {
  /** Number of processes (ranks) on this node. */
  nprocs: number;
  /** For several machines: how many run this launcher (default 1) and which one this is (default 0); global rank = nodeRank × nprocs + local rank. */
  numNodes?: number;
  nodeRank?: number;
  /** The script every rank runs (a .js file). */
  script: string;
  args?: string[];
  /** Extra environment for every rank (on top of this process's). */
  env?: Record<string, string>;
  /** Default 127.0.0.1. */
  masterAddr?: string;
  /** Default: env MASTER_PORT, else a free port. */
  masterPort?: number;
  /** OMP_NUM_THREADS of each rank (default: the environment's, else 1 when nprocs > 1, like torchrun). */
  threadsPerProcess?: number;
  /** Node.js flags for each rank (default: none). */
  execArgv?: string[];
  /** Where the prefixed output goes (default: this process's stdout / stderr). */
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
  /** After a rank fails, how long the others get after SIGTERM before SIGKILL (default 5000 ms). */
  killGraceMs?: number;
}

export interface LaunchResult {
  /** Wall-clock seconds from the first spawn to the last exit. */
  seconds: number;
}

/** A TCP port nobody listens on right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Splits a stream into lines, each written with `prefix`; keeps the last lines for error messages. */
function prefixer(prefix: string, sink: { write(text: string): unknown }, tail: string[]) {
  let pending = '';
  const emit = (line: string) => {
    sink.write(`${prefix}${line}\n`);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  return {
    push(chunk: Buffer) {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    },
    flush() {
      if (pending.length > 0) emit(pending);
      pending = '';
    },
  };
}

/** One rank's process running `argv` with `env`, its output prefixed `[rank k]`; flush() writes a last unterminated line. */
function spawnRank(rank: number, argv: string[], env: Record<string, string>, stdout: { write(text: string): unknown },
  stderr: { write(text: string): unknown }, errTail: string[] = []) {
  const child = spawn(process.execPath, argv, { env: { ...process.env as Record<string, string>, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = prefixer(`[rank ${rank}] `, stdout, []);
  const err = prefixer(`[rank ${rank}] `, stderr, errTail);
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  return { child, flush: () => { out.flush(); err.flush(); } };
}

export class LaunchError extends Error {
  constructor(message: string, readonly rank: number, readonly exitCode: number | null, readonly signal: NodeJS.Signals | null, readonly stderrTail: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

type WorldOptions = Pick<LaunchOptions, 'nprocs' | 'numNodes' | 'nodeRank' | 'masterAddr' | 'masterPort' | 'threadsPerProcess'>;

/** The checked layout of a launch and the environment of each of this node's ranks. */
async function resolveWorld(options: WorldOptions, what: string) {
  const { nprocs } = options;
  if (!Number.isInteger(nprocs) || nprocs < 1) throw new RangeError(`${what}: nprocs must be a positive integer, got ${nprocs}`);
  const numNodes = options.numNodes ?? 1;
  const nodeRank = options.nodeRank ?? 0;
  if (!Number.isInteger(numNodes) || numNodes < 1 || !Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= numNodes) {
    throw new RangeError(`${what}: nodeRank must be in [0, numNodes), got nodeRank ${options.nodeRank} and numNodes ${options.numNodes}`);
  }
  if (numNodes > 1 && options.masterPort === undefined && !process.env.MASTER_PORT) throw new Error(`${what}: with several nodes, give masterAddr and masterPort (the same on every node)`);
  const masterAddr = options.masterAddr ?? process.env.MASTER_ADDR ?? '127.0.0.1';
  const envPort = process.env.MASTER_PORT ? Number(process.env.MASTER_PORT) : undefined;
  const masterPort = options.masterPort ?? envPort ?? await freePort(masterAddr);
  const threads = options.threadsPerProcess ?? (process.env.OMP_NUM_THREADS ? Number(process.env.OMP_NUM_THREADS) : nprocs > 1 ? 1 : undefined);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new RangeError(`${what}: threadsPerProcess must be a positive integer, got ${threads}`);
  const envOf = (localRank: number): Record<string, string> => {
    const env: Record<string, string> = {
      RANK: String(nodeRank * nprocs + localRank), LOCAL_RANK: String(localRank), WORLD_SIZE: String(numNodes * nprocs), LOCAL_WORLD_SIZE: String(nprocs),
      MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort),
    };
    if (threads !== undefined) env.OMP_NUM_THREADS = String(threads);
    return env;
  };
  return { nprocs, threads, envOf };
}

/** Runs `script` in `nprocs` processes; resolves when all exit with 0, rejects with the first failing rank's error. */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const { script } = options;
  const { nprocs, envOf } = await resolveWorld(options, 'launch');
  if (typeof script !== 'string' || !existsSync(script)) throw new Error(`launch: the script ${script} does not exist`);
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const grace = options.killGraceMs ?? 5000;
  const started = performance.now();

  const children: ChildProcess[] = [];
  const running = new Set<number>();
  let failure: LaunchError | null = null;
  let killTimer: NodeJS.Timeout | undefined;

  const stopOthers = () => {
    for (const r of running) children[r].kill('SIGTERM');
    killTimer = setTimeout(() => { for (const r of running) children[r].kill('SIGKILL'); }, grace);
    killTimer.unref();
  };

  return new Promise<LaunchResult>((resolve, reject) => {
    const finishIfDone = () => {
      if (running.size > 0) return;
      clearTimeout(killTimer);
      if (failure) reject(failure);
      else resolve({ seconds: (performance.now() - started) / 1000 });
    };
    for (let rank = 0; rank < nprocs; rank++) {
      const errTail: string[] = [];
      const { child, flush } = spawnRank(rank, [...(options.execArgv ?? []), script, ...(options.args ?? [])],
        { ...options.env, ...envOf(rank) }, stdout, stderr, errTail);
      children.push(child);
      running.add(rank);
      const onEnd = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (!running.has(rank)) return;
        running.delete(rank);
        flush();
        const failed = spawnError !== undefined || code !== 0;
        if (failed && failure === null) {
          const tail = errTail.join('\n');
          const how = spawnError ? `could not start (${spawnError.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
          // The last "Error:" line is usually the message that matters.
          const errorLine = [...errTail].reverse().find((l) => /Error\b/.test(l)) ?? '';
          failure = new LaunchError(`launch: rank ${rank} of ${nprocs} ${how}${errorLine ? `: ${errorLine.trim()}` : ''}`, rank, code, signal, tail);
          stopOthers();
        }
        finishIfDone();
      };
      child.on('error', (e) => onEnd(null, null, e));
      child.on('close', (code, signal) => onEnd(code, signal));
    }
  });
}

export interface PeerLaunch {
  /** The processes of local ranks 1 … nprocs − 1. */
  children: ChildProcess[];
  /** This process's rank environment (already applied to process.env). */
  env: Record<string, string>;
  /** Threads this process should use (the value given to its peers as OMP_NUM_THREADS), if any. */
  threads: number | undefined;
}

/**
 * Lightning's way to go data-parallel from a plain script: this process
 * becomes local rank 0, and the same script (same arguments, same Node.js
 * flags) starts again for local ranks 1 … nprocs − 1, with the rank
 * environment set. Their output is prefixed `[rank k]`; they are killed if
 * this process exits first. A peer that fails makes this process's next
 * collective fail with an error naming it.
 */
export async function launchPeers(options: WorldOptions & Pick<LaunchOptions, 'stdout' | 'stderr'>): Promise<PeerLaunch> {
  const script = process.argv[1];
  if (!script || !existsSync(script)) {
    throw new Error('data-parallel training from this process needs a script to start again for the other ranks, and process.argv[1] is not one; ' +
      'run a script file, or start the ranks with `orthogonium launch --nproc N script.js`');
  }
  const { nprocs, threads, envOf } = await resolveWorld(options, 'launchPeers');
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const children: ChildProcess[] = [];
  for (let rank = 1; rank < nprocs; rank++) {
    const { child, flush } = spawnRank(rank, [...process.execArgv, script, ...process.argv.slice(2)], envOf(rank), stdout, stderr);
    child.on('close', flush);
    child.on('error', (e) => stderr.write(`[rank ${rank}] could not start: ${e.message}\n`));
    children.push(child);
  }
  process.once('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  const env = envOf(0);
  Object.assign(process.env, env);
  return { children, env, threads };
}
