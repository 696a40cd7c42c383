// The optional native image module (native/image: libjpeg-turbo decoding and
// the resize passes), loaded once per thread on first use. It is absent when
// the build found no libjpeg headers; ORTHOGONIUM_NATIVE_IMAGE=off asks for the
// JavaScript code instead.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { DecodedImage } from './png.js';
import type { AaAxis } from './resize.js';

interface ImageModule {
  decodeJpeg(bytes: Uint8Array): DecodedImage;
  /** resize.ts's two passes (null: that axis keeps its size); the result has the input's element type. */
  resampleAntialiased<T extends Uint8Array | Float32Array>(data: T, channels: number, height: number, width: number, outH: number, outW: number, widthAxis: AaAxis | null, heightAxis: AaAxis | null): T;
}

let loaded: ImageModule | null | undefined;

export function nativeImageModule(): ImageModule | null {
  if (process.env.ORTHOGONIUM_NATIVE_IMAGE === 'off') return null;
  if (loaded === undefined) {
    const path = join(packageRoot(), 'build', 'Release', 'orthogonium_image.node');
    loaded = existsSync(path) ? (createRequire(import.meta.url)(path) as ImageModule) : null;
  }
  return loaded;
}
