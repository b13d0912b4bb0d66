// Runs one WASI preview1 module under Node.js (or Deno's node compatibility layer):
// `node node-wasi.mjs MODULE.wasm`. Shipped inside wasmgate; the exit status is the module's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, exit } from 'node:process';

const path = argv[2];
const wasi = new WASI({ version: 'preview1', args: [path], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(path));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
