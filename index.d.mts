// Type definitions for the ES module entry (index.mjs): the same names as index.d.ts, plus the
// default export index.mjs has (the whole API object, as `require()` returns it).
export * from './index.js';
import * as api from './index.js';
export default api;
