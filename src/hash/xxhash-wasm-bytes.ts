/**
 * The assembled bytes of src/hash/xxhash.wat (wasm binary, base64).
 *
 * Produced with wabt 1.0.39 (the npm package `wabt`, run through npx, not a dependency of this
 * project), from the repository root:
 *
 *   npx -y -p wabt@1.0.39 wat2wasm src/hash/xxhash.wat -o /tmp/xxhash.wasm
 *   base64 -w0 /tmp/xxhash.wasm
 *
 * After editing the .wat file, run those and paste the output here. test/hash/xxhash-wasm.test.ts
 * checks the result against xxhash-wasm (the reference) on random inputs; it does not reassemble.
 * sha256 of the binary: 7ad81e3b709175dc30fe1cf4d9eef449e958f169ba99add91f4d1f00bf17125a
 */
export const XXHASH_WASM_BASE64 =
  'AGFzbQEAAAABGwRgAn5+AX5gA39/fwF+YAN/f38Bf2ACf38BfwMHBgAAAQIDAgUDAQABBxoDBm1lbW9yeQIABXh4aDY0AAMF' +
  'eHhoMzIABQqVBwYhACAAIAFCz9bTvtLHq9lCfnxCH4lCh5Wvr5i23puef34LIwAgAEIAIAEQAIVCh5Wvr5i23puef35C49zK' +
  'lfzO8vWFf3wL2QMCAn8GfiAAIAFqIQMgAq0hBSABQSBPBEAgA0EgayEEIAVC1uuC7ur9ifXgAHwhByAFQs/W077Sx6vZQnwh' +
  'CCAFIQkgBUKHla+vmLbem55/fSEKA0AgByAAKQMAEAAhByAIIAApAwgQACEIIAkgACkDEBAAIQkgCiAAKQMYEAAhCiAAQSBq' +
  'IQAgACAETQ0ACyAHQgGJIAhCB4l8IAlCDIkgCkISiXx8IQYgBiAHEAEhBiAGIAgQASEGIAYgCRABIQYgBiAKEAEhBgUgBULF' +
  'z9my8eW66id8IQYLIAYgAa18IQYCQANAIABBCGogA0sNASAGQgAgACkDABAAhUIbiUKHla+vmLbem55/fkLj3MqV/M7y9YV/' +
  'fCEGIABBCGohAAwACwsgAEEEaiADTQRAIAYgADUCAEKHla+vmLbem55/foVCF4lCz9bTvtLHq9lCfkL5893xmfaZqxZ8IQYg' +
  'AEEEaiEACwJAA0AgACADTw0BIAYgADEAAELFz9my8eW66id+hUILiUKHla+vmLbem55/fiEGIABBAWohAAwACwsgBiAGQiGI' +
  'hSEGIAZCz9bTvtLHq9lCfiEGIAYgBkIdiIUhBiAGQvnz3fGZ9pmrFn4hBiAGIAZCIIiFCxgBAX4gACABIAIQAiEDQQAgAzcD' +
  'ACADpwsYACAAIAFB95Svr3hsakENd0Gx893xeWwLvwIBB38gACABaiEDIAFBEE8EQCADQRBrIQQgAkGoiI2hAmohBiACQfeU' +
  'r694aiEHIAIhCCACQbHz3fF5ayEJA0AgBiAAKAIAEAQhBiAHIAAoAgQQBCEHIAggACgCCBAEIQggCSAAKAIMEAQhCSAAQRBq' +
  'IQAgACAETQ0ACyAGQQF3IAdBB3dqIAhBDHcgCUESd2pqIQUFIAJBsc/ZsgFqIQULIAUgAWohBQJAA0AgAEEEaiADSw0BIAUg' +
  'ACgCAEG93MqVfGxqQRF3Qa/W074CbCEFIABBBGohAAwACwsCQANAIAAgA08NASAFIAAtAABBsc/ZsgFsakELd0Gx893xeWwh' +
  'BSAAQQFqIQAMAAsLIAUgBUEPdnMhBSAFQfeUr694bCEFIAUgBUENdnMhBSAFQb3cypV8bCEFIAUgBUEQdnML';
