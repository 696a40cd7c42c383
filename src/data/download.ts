// Downloads one file over HTTP(S) with Node's fetch: the bytes go to
// `<dest>.part`, a partial file is resumed with an HTTP Range request, the
// whole is checked (md5, or a caller's check) before an atomic rename to
// `dest`. A failed transfer keeps the .part for the next attempt; a failed
// check deletes it, so no half or wrong file is ever left under the final name.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readTarFile } from './tar.js';

export interface DownloadOptions {
  /** Expected md5 (hex) of the whole file. */
  md5?: string;
  /** Further check of the finished .part file (throw to reject it). */
  verify?: (path: string) => void;
  /** Abort when no byte arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive (total may be null when the server does not say). */
  onProgress?: (received: number, total: number | null) => void;
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function describe(error: unknown): string {
  const e = error as Error & { cause?: Error & { code?: string } };
  const cause = e.cause ? `: ${e.cause.code ?? ''} ${e.cause.message ?? ''}`.trimEnd() : '';
  return `${e.message ?? String(error)}${cause}`;
}

/** Downloads `url` to `dest` (see the module comment); resolves once `dest` holds the verified file. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const part = `${dest}.part`;
  mkdirSync(dirname(dest), { recursive: true });
  let offset = existsSync(part) ? statSync(part).size : 0;
  const idle = opts.idleTimeoutMs ?? 60_000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => { clearTimeout(timer); timer = setTimeout(() => controller.abort(new Error(`no data for ${idle} ms`)), idle); };
  let fd: number | null = null;
  try {
    arm();
    let response: Response;
    try {
      response = await fetch(url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, signal: controller.signal, redirect: 'follow' });
    } catch (error) {
      throw new Error(`cannot reach ${url} (${describe(error)})`);
    }
    let total: number | null = null;
    if (response.status === 416 && offset > 0) {
      // the .part already holds the whole file: just verify it below
      await response.body?.cancel();
    } else if (response.status === 206 && offset > 0) {
      const range = /bytes (\d+)-\d+\/(\d+|\*)/.exec(response.headers.get('content-range') ?? '');
      if (range === null || Number(range[1]) !== offset) throw new Error(`${url}: the server answered the resume request with the wrong range (${response.headers.get('content-range')})`);
      total = range[2] === '*' ? null : Number(range[2]);
      fd = openSync(part, 'a');
    } else if (response.status === 200) {
      offset = 0; // no (or an ignored) range request: start over
      const length = response.headers.get('content-length');
      total = length === null ? null : Number(length);
      fd = openSync(part, 'w');
    } else {
      await response.body?.cancel();
      throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
    }
    if (fd !== null) {
      let received = offset;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          arm();
          let written = 0;
          while (written < chunk.byteLength) written += writeSync(fd, chunk, written);
          received += chunk.byteLength;
          opts.onProgress?.(received, total);
        }
      } catch (error) {
        throw new Error(`download of ${url} broke off after ${received} bytes (${describe(error)}); ${part} is kept and the next attempt resumes it`);
      }
      if (total !== null && received !== total) {
        throw new Error(`download of ${url} ended after ${received} of ${total} bytes; ${part} is kept and the next attempt resumes it`);
      }
      fsyncSync(fd);
      closeSync(fd);
      fd = null;
    }
    clearTimeout(timer);
    if (opts.md5 !== undefined) {
      const actual = await md5Of(part);
      if (actual !== opts.md5.toLowerCase()) {
        rmSync(part, { force: true });
        throw new Error(`${url}: downloaded file has md5 ${actual}, expected ${opts.md5}; it was deleted (a wrong or corrupted file on the server or mirror?)`);
      }
    }
    if (opts.verify) {
      try {
        opts.verify(part);
      } catch (error) {
        rmSync(part, { force: true });
        throw new Error(`${url}: the downloaded file failed its check and was deleted: ${(error as Error).message}`);
      }
    }
    renameSync(part, dest);
  } finally {
    clearTimeout(timer);
    if (fd !== null) closeSync(fd);
  }
}

/** An archive to fetch: the md5 to check, or (null) the tar member it must hold. */
export interface ArchiveDownloadJob { url: string; dest: string; md5: string | null; member: string }

export async function runArchiveDownload(job: ArchiveDownloadJob): Promise<void> {
  const verify = (path: string) => {
    if (!readTarFile(path).some((e) => basename(e.name) === job.member)) throw new Error(`it holds no ${job.member}; not the expected archive`);
  };
  await downloadFile(job.url, job.dest, job.md5 !== null ? { md5: job.md5 } : { verify });
}
