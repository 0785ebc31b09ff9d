;; XXH64 and XXH32 (xxHash, as published by Yann Collet) for tictac-aae's hot hashing paths.
;;
;; Why our own module: xxhash-wasm's h64Raw returns the 64-bit hash as a BigInt, and splitting a
;; BigInt into two uint32 numbers costs more than the hash itself (~110 ns of ~200 ns a key). Here
;; no i64 crosses the boundary: `xxh64` returns the low 32 bits and stores all 64 bits, little-endian,
;; at address 0 (so the high word is the u32 at address 4). Inputs are read from this module's own
;; memory, which the TypeScript side (src/hash/xxhash.ts) uses as its scratch buffer: it writes the
;; canonical bytes straight into it and hashes them in place.
;;
;; Memory layout (owned by src/hash/xxhash.ts): bytes 0..7 hold the last xxh64 result; everything
;; from address 64 on is scratch. All loads are little-endian and may be unaligned.
;;
;; Exports:
;;   xxh64(ptr, len, seed) -> low32     (the full 64-bit result is also stored at address 0)
;;   xxh32(ptr, len, seed) -> h32
;; (A batch export hashing many keys per call was tried and dropped: entering wasm costs ~10 ns of
;; the ~100 a key takes, and batching 1000 keys a call measured no faster.)
;; Seeds are unsigned 32-bit; xxh64 widens its seed to 64 bits with zeros, as docs/FORMAT.md says.
;;
;; The binary is embedded, base64, in src/hash/xxhash-wasm-bytes.ts, assembled from this file with
;; wabt 1.0.39 (the npm package `wabt`, used once, not a dependency); that file's comment has the
;; exact command. test/hash/xxhash-wasm.test.ts checks the embedded module against xxhash-wasm on
;; random inputs of every length 0..300 and random seeds, and that its exports are the ones here.
(module
  (memory (export "memory") 1)

  (func $round64 (param $acc i64) (param $input i64) (result i64)
    (i64.mul
      (i64.rotl
        (i64.add (local.get $acc) (i64.mul (local.get $input) (i64.const 0xC2B2AE3D27D4EB4F)))
        (i64.const 31))
      (i64.const 0x9E3779B185EBCA87)))

  (func $merge64 (param $acc i64) (param $val i64) (result i64)
    (i64.add
      (i64.mul
        (i64.xor (local.get $acc) (call $round64 (i64.const 0) (local.get $val)))
        (i64.const 0x9E3779B185EBCA87))
      (i64.const 0x85EBCA77C2B2AE63)))

  (func $h64 (param $p i32) (param $len i32) (param $seed i32) (result i64)
    (local $end i32) (local $limit i32) (local $s i64) (local $h i64)
    (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $s (i64.extend_i32_u (local.get $seed)))
    (if (i32.ge_u (local.get $len) (i32.const 32))
      (then
        (local.set $limit (i32.sub (local.get $end) (i32.const 32)))
        (local.set $v1 (i64.add (local.get $s) (i64.const 0x60EA27EEADC0B5D6))) ;; seed + P1 + P2
        (local.set $v2 (i64.add (local.get $s) (i64.const 0xC2B2AE3D27D4EB4F))) ;; seed + P2
        (local.set $v3 (local.get $s))
        (local.set $v4 (i64.sub (local.get $s) (i64.const 0x9E3779B185EBCA87))) ;; seed - P1
        (loop $stripes
          (local.set $v1 (call $round64 (local.get $v1) (i64.load (local.get $p))))
          (local.set $v2 (call $round64 (local.get $v2) (i64.load offset=8 (local.get $p))))
          (local.set $v3 (call $round64 (local.get $v3) (i64.load offset=16 (local.get $p))))
          (local.set $v4 (call $round64 (local.get $v4) (i64.load offset=24 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (br_if $stripes (i32.le_u (local.get $p) (local.get $limit))))
        (local.set $h
          (i64.add
            (i64.add (i64.rotl (local.get $v1) (i64.const 1)) (i64.rotl (local.get $v2) (i64.const 7)))
            (i64.add (i64.rotl (local.get $v3) (i64.const 12)) (i64.rotl (local.get $v4) (i64.const 18)))))
        (local.set $h (call $merge64 (local.get $h) (local.get $v1)))
        (local.set $h (call $merge64 (local.get $h) (local.get $v2)))
        (local.set $h (call $merge64 (local.get $h) (local.get $v3)))
        (local.set $h (call $merge64 (local.get $h) (local.get $v4))))
      (else
        (local.set $h (i64.add (local.get $s) (i64.const 0x27D4EB2F165667C5))))) ;; seed + P5
    (local.set $h (i64.add (local.get $h) (i64.extend_i32_u (local.get $len))))
    ;; 8-byte lanes
    (block $done8
      (loop $lanes8
        (br_if $done8 (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $end)))
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h) (call $round64 (i64.const 0) (i64.load (local.get $p))))
                (i64.const 27))
              (i64.const 0x9E3779B185EBCA87))
            (i64.const 0x85EBCA77C2B2AE63)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $lanes8)))
    ;; one 4-byte lane
    (if (i32.le_u (i32.add (local.get $p) (i32.const 4)) (local.get $end))
      (then
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h) (i64.mul (i64.load32_u (local.get $p)) (i64.const 0x9E3779B185EBCA87)))
                (i64.const 23))
              (i64.const 0xC2B2AE3D27D4EB4F))
            (i64.const 0x165667B19E3779F9)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))))
    ;; remaining bytes
    (block $done1
      (loop $bytes
        (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h
          (i64.mul
            (i64.rotl
              (i64.xor (local.get $h) (i64.mul (i64.load8_u (local.get $p)) (i64.const 0x27D4EB2F165667C5)))
              (i64.const 11))
            (i64.const 0x9E3779B185EBCA87)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $bytes)))
    ;; avalanche
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xC2B2AE3D27D4EB4F)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667B19E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  (func (export "xxh64") (param $p i32) (param $len i32) (param $seed i32) (result i32)
    (local $h i64)
    (local.set $h (call $h64 (local.get $p) (local.get $len) (local.get $seed)))
    (i64.store (i32.const 0) (local.get $h))
    (i32.wrap_i64 (local.get $h)))

  (func $round32 (param $acc i32) (param $input i32) (result i32)
    (i32.mul
      (i32.rotl
        (i32.add (local.get $acc) (i32.mul (local.get $input) (i32.const 0x85EBCA77)))
        (i32.const 13))
      (i32.const 0x9E3779B1)))

  (func (export "xxh32") (param $p i32) (param $len i32) (param $seed i32) (result i32)
    (local $end i32) (local $limit i32) (local $h i32)
    (local $v1 i32) (local $v2 i32) (local $v3 i32) (local $v4 i32)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (if (i32.ge_u (local.get $len) (i32.const 16))
      (then
        (local.set $limit (i32.sub (local.get $end) (i32.const 16)))
        (local.set $v1 (i32.add (local.get $seed) (i32.const 0x24234428))) ;; seed + P1 + P2
        (local.set $v2 (i32.add (local.get $seed) (i32.const 0x85EBCA77))) ;; seed + P2
        (local.set $v3 (local.get $seed))
        (local.set $v4 (i32.sub (local.get $seed) (i32.const 0x9E3779B1))) ;; seed - P1
        (loop $stripes
          (local.set $v1 (call $round32 (local.get $v1) (i32.load (local.get $p))))
          (local.set $v2 (call $round32 (local.get $v2) (i32.load offset=4 (local.get $p))))
          (local.set $v3 (call $round32 (local.get $v3) (i32.load offset=8 (local.get $p))))
          (local.set $v4 (call $round32 (local.get $v4) (i32.load offset=12 (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $stripes (i32.le_u (local.get $p) (local.get $limit))))
        (local.set $h
          (i32.add
            (i32.add (i32.rotl (local.get $v1) (i32.const 1)) (i32.rotl (local.get $v2) (i32.const 7)))
            (i32.add (i32.rotl (local.get $v3) (i32.const 12)) (i32.rotl (local.get $v4) (i32.const 18))))))
      (else
        (local.set $h (i32.add (local.get $seed) (i32.const 0x165667B1))))) ;; seed + P5
    (local.set $h (i32.add (local.get $h) (local.get $len)))
    ;; 4-byte lanes
    (block $done4
      (loop $lanes4
        (br_if $done4 (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $end)))
        (local.set $h
          (i32.mul
            (i32.rotl
              (i32.add (local.get $h) (i32.mul (i32.load (local.get $p)) (i32.const 0xC2B2AE3D)))
              (i32.const 17))
            (i32.const 0x27D4EB2F)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $lanes4)))
    ;; remaining bytes
    (block $done1
      (loop $bytes
        (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h
          (i32.mul
            (i32.rotl
              (i32.add (local.get $h) (i32.mul (i32.load8_u (local.get $p)) (i32.const 0x165667B1)))
              (i32.const 11))
            (i32.const 0x9E3779B1)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $bytes)))
    ;; avalanche
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 15))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x85EBCA77)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0xC2B2AE3D)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
)
