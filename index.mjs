import lib from './index.js';

export const { listen, connect, ArrayBufferSink, file } = lib;
export default lib;
