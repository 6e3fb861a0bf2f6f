#!/usr/bin/env node
// Unit tests of the JavaScript port: SPEC.md's test vectors, tests/golden/image_patterns.json
// and the wire encoding. Run with `node ports/js/test.js` (exit status 0 when all pass);
// tests/conformance/test_command.py runs it, and the golden cases, in CI.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const mmref = require("./mmref.js");
const client = require("./golden-client.js");

const GOLDEN = 0x9e3779b97f4a7c15n;
let checked = 0;
function check(name, fn) {
  fn();
  checked += 1;
}

check("SPEC 3: mix64(GOLDEN) is the first SplitMix64 output", () => {
  assert.equal(mmref.mix64(GOLDEN), 0xe220a8397b1dcdafn);
});

check("SPEC 4.3: key and stream of sparse column 0", () => {
  const t = mmref.gapThresholds(0.1, 100).t;
  assert.equal(t, 0x0ccccccccccccd00n);
  const key = mmref.deriveKey(0n, 1n, 100n, t, 0n);
  assert.equal(key, 0x25d6a9710a57b50bn);
  const us = mmref.stream(key);
  assert.deepEqual(
    [us.next().value, us.next().value, us.next().value],
    [0xd528c55f3b332e0dn, 0xac4b85af263cb304n, 0x05bb74e6cc4e18b7n],
  );
});

check("SPEC 4.4: gap thresholds and the auto density's t", () => {
  const { T } = mmref.gapThresholds(0.1, 3);
  assert.deepEqual(T.slice(1), [8301034833169298176n, 7470931349852368312n, 6723838214867131439n]);
  assert.equal(mmref.gapThresholds(1 / Math.sqrt(784), 1).t, 329406144173384832n);
});

check("SPEC 5.5: MurmurHash3 test vectors", () => {
  const bytes = (text) => new TextEncoder().encode(text);
  assert.equal(mmref.murmurhash3_32(bytes(""), 0), 0);
  assert.equal(mmref.murmurhash3_32(bytes(""), 1), 0x514e28b7);
  assert.equal(mmref.murmurhash3_32(new Uint8Array([255, 255, 255, 255]), 0), 0x76293b50);
  assert.equal(mmref.murmurhash3_32(bytes("Hello World!"), 42), 3565178);
});

// Seeds beyond 2**53 are read as BigInt: JSON.parse would round them.
const patternsFile = path.join(__dirname, "..", "..", "tests", "golden", "image_patterns.json");
const patterns = JSON.parse(
  fs.readFileSync(patternsFile, "utf8").replace(/"seed": (\d+)/g, '"seed": "$1"'),
);
const signString = (signs) => signs.map((s) => (s > 0 ? "+" : "-")).join("");

check("image patterns: sparse columns, bit for bit", () => {
  for (const p of patterns.sparse) {
    const thresholds = mmref.gapThresholds(p.density, p.d);
    for (let j = 0; j < p.k; j++) {
      const { positions, signs } = mmref.sparseColumn(BigInt(p.seed), p.d, thresholds, j);
      assert.deepEqual(positions, p.positions[j]);
      assert.equal(signString(signs), p.signs[j]);
    }
  }
});

check("image patterns: Rademacher columns, bit for bit", () => {
  for (const p of patterns.rademacher) {
    const thresholds = mmref.gapThresholds(1, p.d);
    for (let j = 0; j < p.k; j++) {
      const { positions, signs } = mmref.sparseColumn(BigInt(p.seed), p.d, thresholds, j);
      assert.deepEqual(positions, [...Array(p.d).keys()]);
      assert.equal(signString(signs), p.signs[j]);
    }
  }
});

check("image patterns: SRHT signs and order, bit for bit", () => {
  for (const p of patterns.srht) {
    const { signs, order } = mmref.srhtPlan(BigInt(p.seed), p.d);
    assert.equal(signString(signs), p.signs);
    assert.deepEqual(order, p.order);
  }
});

check("image patterns: Gaussian entries within 1e-13", () => {
  for (const p of patterns.gaussian) {
    for (let j = 0; j < p.k; j++) {
      const column = mmref.gaussianColumn(BigInt(p.seed), p.d, j);
      for (let i = 0; i < p.d; i++) {
        assert.ok(Math.abs(column[i] - p.entries[i][j]) <= 1e-13, `R[${i}][${j}]`);
      }
    }
  }
});

check("text: the default rule splits CJK, keeps _ and digits, folds case", () => {
  const encoder = new mmref.BagOfWordsTextEncoder();
  assert.deepEqual(encoder.tokenize("ΣΑΣ don't_stop 一只猫 Ｔｏｋｙｏ"), [
    "σας", "don", "t_stop", "一", "只", "猫", "tokyo",
  ]);
  const bigrams = new mmref.BagOfWordsTextEncoder({ ngram_range: [2, 2] });
  assert.deepEqual(bigrams.tokenize("a b c"), ["a b", "b c"]);
});

check("joint embedding: NumPy's type promotion", () => {
  const cases = [
    ["int8", "uint8", "int16"], ["uint8", "int8", "int16"], ["bool", "float16", "float16"],
    ["complex64", "intp", "complex128"], ["float32", "float64", "float64"],
    ["int16", "float16", "float32"], ["uint64", "int64", "float64"], ["int32", "uint16", "int32"],
    ["complex64", "float32", "complex64"], ["float64", "complex64", "complex128"],
    ["bool", "bool", "bool"], ["uint32", "int8", "int64"],
  ];
  for (const [a, b, expected] of cases) assert.equal(mmref.resultType(a, b), expected, `${a}+${b}`);
});

check("wire: every float16 bit pattern survives decoding and encoding", () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = client.halfToNumber(bits);
    if (Number.isNaN(value)) continue;
    assert.equal(client.numberToHalf(value), bits, `0x${bits.toString(16)}`);
  }
});

check("wire: float64, float32, int64 bit patterns", () => {
  const wire = {
    dtype: "float64", shape: [3], data: ["0x8000000000000000", "0x7FF8000000000000", "0x0000000000000001"],
  };
  const decoded = client.decodeValue(wire);
  assert.ok(Object.is(decoded.data[0], -0));
  assert.ok(Number.isNaN(decoded.data[1]));
  assert.equal(decoded.data[2], 5e-324);
  assert.deepEqual(client.encodeValue(decoded), wire);
  const f32 = { dtype: "float32", shape: [1], data: ["0x3F800000"] };
  assert.deepEqual(client.encodeValue(client.decodeValue(f32)), f32);
  const i64 = { dtype: "int64", shape: [1], data: ["0xFFFFFFFFFFFFFFFF"] };
  assert.equal(client.decodeValue(i64).data[0], -1n);
  assert.deepEqual(client.encodeValue(client.decodeValue(i64)), i64);
});

console.log(`${checked} checks passed`);
