/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF: the
 * CRC of zlib, PNG and gzip), the checksum that closes an exported tree. Written here rather than
 * taken from node:zlib because zlib.crc32 arrived only in Node 22. It reads four bytes a step
 * ("slicing by 4": four 256-entry tables): 3–4× the byte-at-a-time loop, ≈ 2 ms for the 2.7 MB
 * export of a full large tree. crc32(utf8('123456789')) = 0xCBF43926.
 */

const [T0, T1, T2, T3] = makeTables();

function makeTables(): [Uint32Array, Uint32Array, Uint32Array, Uint32Array] {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  const next = (prev: Uint32Array): Uint32Array => prev.map((c) => t0[c & 0xff]! ^ (c >>> 8));
  const t1 = next(t0);
  const t2 = next(t1);
  return [t0, t1, t2, next(t2)];
}

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffff_ffff;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ T0[c >>> 24]!;
  }
  for (; i < end; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffff_ffff) >>> 0;
}
