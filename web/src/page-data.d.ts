// The test images embedded at build time (src/serve/build-page.ts).
declare module 'page-data:samples' {
  const samples: import('../../src/serve/page-sample.js').PageSample[];
  export default samples;
}
