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
 * sha256 of the binary: 1abbfe9c71d1f59599e08f87046b4d5006da33522c58116e595c51300f56993b
 */
export const XXHASH_WASM_BASE64 =
  'AGFzbQEAAAABIgVgAn5+AX5gA39/fwF+YAN/f38Bf2AEf39/fwBgAn9/AX8DCAcAAAECAwQCBQMBAAEHJwQGbWVtb3J5AgAF' +
  'eHhoNjQAAwp4eGg2NF9tYW55AAQFeHhoMzIABgrUBwchACAAIAFCz9bTvtLHq9lCfnxCH4lCh5Wvr5i23puef34LIwAgAEIA' +
  'IAEQAIVCh5Wvr5i23puef35C49zKlfzO8vWFf3wL2QMCAn8GfiAAIAFqIQMgAq0hBSABQSBPBEAgA0EgayEEIAVC1uuC7ur9' +
  'ifXgAHwhByAFQs/W077Sx6vZQnwhCCAFIQkgBUKHla+vmLbem55/fSEKA0AgByAAKQMAEAAhByAIIAApAwgQACEIIAkgACkD' +
  'EBAAIQkgCiAAKQMYEAAhCiAAQSBqIQAgACAETQ0ACyAHQgGJIAhCB4l8IAlCDIkgCkISiXx8IQYgBiAHEAEhBiAGIAgQASEG' +
  'IAYgCRABIQYgBiAKEAEhBgUgBULFz9my8eW66id8IQYLIAYgAa18IQYCQANAIABBCGogA0sNASAGQgAgACkDABAAhUIbiUKH' +
  'la+vmLbem55/fkLj3MqV/M7y9YV/fCEGIABBCGohAAwACwsgAEEEaiADTQRAIAYgADUCAEKHla+vmLbem55/foVCF4lCz9bT' +
  'vtLHq9lCfkL5893xmfaZqxZ8IQYgAEEEaiEACwJAA0AgACADTw0BIAYgADEAAELFz9my8eW66id+hUILiUKHla+vmLbem55/' +
  'fiEGIABBAWohAAwACwsgBiAGQiGIhSEGIAZCz9bTvtLHq9lCfiEGIAYgBkIdiIUhBiAGQvnz3fGZ9pmrFn4hBiAGIAZCIIiF' +
  'CxgBAX4gACABIAIQAiEDQQAgAzcDACADpws+AQF/IAAgAUEDdGohBAJAA0AgACAETw0BIAMgACgCACAAKAIEIAIQAjcDACAA' +
  'QQhqIQAgA0EIaiEDDAALCwsYACAAIAFB95Svr3hsakENd0Gx893xeWwLvwIBB38gACABaiEDIAFBEE8EQCADQRBrIQQgAkGo' +
  'iI2hAmohBiACQfeUr694aiEHIAIhCCACQbHz3fF5ayEJA0AgBiAAKAIAEAUhBiAHIAAoAgQQBSEHIAggACgCCBAFIQggCSAA' +
  'KAIMEAUhCSAAQRBqIQAgACAETQ0ACyAGQQF3IAdBB3dqIAhBDHcgCUESd2pqIQUFIAJBsc/ZsgFqIQULIAUgAWohBQJAA0Ag' +
  'AEEEaiADSw0BIAUgACgCAEG93MqVfGxqQRF3Qa/W074CbCEFIABBBGohAAwACwsCQANAIAAgA08NASAFIAAtAABBsc/ZsgFs' +
  'akELd0Gx893xeWwhBSAAQQFqIQAMAAsLIAUgBUEPdnMhBSAFQfeUr694bCEFIAUgBUENdnMhBSAFQb3cypV8bCEFIAUgBUEQ' +
  'dnML';
