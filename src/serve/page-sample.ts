// A test image embedded in the page at build time (browser-safe type).
export interface PageSample {
  /** Index in the dataset's test (validation) split. */
  index: number;
  label: number;
  className: string;
  /** uint8 pixels, [C, H, W] row-major. */
  pixels: number[];
}
