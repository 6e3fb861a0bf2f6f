#!/usr/bin/env node
// The golden-vector client of the JavaScript port: mmref-golden-protocol/1 over stdin/stdout.
//
//   mmref conform golden --against-command "node ports/js/golden-client.js"
//
// Writes a hello line, then answers one JSON request per line with one JSON line (SPEC.md,
// "Golden vectors", "Over a line protocol"). Arrays travel bit for bit: floats and 64-bit
// integers as hexadecimal bit patterns.
"use strict";

const readline = require("node:readline");
const mmref = require("./mmref.js");

const PROTOCOL = "mmref-golden-protocol/1";
const VERSION = "0.1.0";

// --- the wire encoding --------------------------------------------------------------------

const FLOAT_BYTES = { float16: 2, float32: 4, float64: 8 };
const view = new DataView(new ArrayBuffer(8));

function hexToFloat(text, bytes) {
  const bits = BigInt(text);
  if (bytes === 8) {
    view.setBigUint64(0, bits);
    return view.getFloat64(0);
  }
  if (bytes === 4) {
    view.setUint32(0, Number(bits));
    return view.getFloat32(0);
  }
  return halfToNumber(Number(bits));
}

function floatToHex(value, bytes) {
  let bits;
  if (bytes === 8) {
    view.setFloat64(0, value);
    bits = view.getBigUint64(0);
  } else if (bytes === 4) {
    view.setFloat32(0, value);
    bits = BigInt(view.getUint32(0));
  } else {
    bits = BigInt(numberToHalf(value));
  }
  return "0x" + bits.toString(16).toUpperCase().padStart(2 * bytes, "0");
}

function halfToNumber(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// binary16 bits of a Number, rounding to nearest even (exact for values read as float16).
function numberToHalf(x) {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  x = Math.abs(x);
  if (x === Infinity) return sign | 0x7c00;
  let exponent = Math.max(Math.floor(Math.log2(x)), -14);
  if (x !== 0 && 2 ** exponent > x) exponent -= 1; // log2 rounding at powers of two
  if (x !== 0 && 2 ** (exponent + 1) <= x) exponent += 1;
  exponent = Math.max(exponent, -14);
  let fraction = x / 2 ** exponent; // in [1, 2), or [0, 1) when subnormal
  let units = fraction * 1024;
  let rounded = Math.round(units);
  if (rounded - units === 0.5 && rounded % 2 === 1) rounded -= 1; // ties to even
  if (fraction < 1) return sign | rounded; // subnormal (rounded may reach 1024: fine)
  let biased = exponent + 15;
  if (rounded === 2048) {
    rounded = 1024;
    biased += 1;
  }
  if (biased >= 31) return sign | 0x7c00;
  return sign | (biased << 10) | (rounded - 1024);
}

function decodeValue(value) {
  const isArray = value && typeof value === "object" && "dtype" in value && "data" in value;
  if (!isArray || Array.isArray(value)) {
    return value;
  }
  const { dtype, shape, data } = value;
  let values;
  if (dtype === "bool") values = data.map((v) => (v ? 1 : 0));
  else if (dtype in FLOAT_BYTES) values = data.map((v) => hexToFloat(v, FLOAT_BYTES[dtype]));
  else if (dtype === "complex64" || dtype === "complex128") {
    const bytes = dtype === "complex64" ? 4 : 8;
    values = data.map(([re, im]) => [hexToFloat(re, bytes), hexToFloat(im, bytes)]);
  } else if (dtype === "int64" || dtype === "intp") values = data.map((v) => BigInt.asIntN(64, BigInt(v)));
  else if (dtype === "uint64") values = data.map((v) => BigInt(v));
  else values = data.slice();
  return { dtype, shape, data: values };
}

function encodeValue(array) {
  const { dtype, shape, data } = array;
  const hex64 = (v) => "0x" + BigInt.asUintN(64, v).toString(16).toUpperCase().padStart(16, "0");
  let out;
  if (dtype === "bool") out = data.map((v) => v !== 0);
  else if (dtype in FLOAT_BYTES) out = data.map((v) => floatToHex(v, FLOAT_BYTES[dtype]));
  else if (dtype === "complex64" || dtype === "complex128") {
    const bytes = dtype === "complex64" ? 4 : 8;
    out = data.map(([re, im]) => [floatToHex(re, bytes), floatToHex(im, bytes)]);
  } else if (dtype === "int64" || dtype === "uint64" || dtype === "intp") out = data.map(hex64);
  else out = data.slice();
  return { dtype, shape, data: out };
}

// --- calls, as SPEC.md's table of golden functions says -----------------------------------

const FUNCTIONS = {
  mix64: ({ z }) => ({ ...z, data: z.data.map(mmref.mix64) }),
  derive_key: ({ seed, words }) => ({
    dtype: "uint64",
    shape: [],
    data: [mmref.deriveKey(seed.data[0], ...words.data)],
  }),
  murmurhash3_32: ({ keys, seed }) => ({
    dtype: "uint32",
    shape: [keys.length],
    data: keys.map((key) => mmref.murmurhash3_32(mmref.utf8(key), seed)),
  }),
  joint_embedding: ({ image_embedding, text_embedding }) =>
    mmref.jointEmbedding(image_embedding, text_embedding),
  multimodal_classification: ({ scores, joint_embedding }) =>
    mmref.multimodalClassification(joint_embedding, scores),
};
const CLASSES = {
  BagOfWordsTextEncoder: mmref.BagOfWordsTextEncoder,
  RandomProjectionImageEncoder: mmref.RandomProjectionImageEncoder,
};
const METHODS = {
  BagOfWordsTextEncoder: ["tokenize", "encode_text"],
  RandomProjectionImageEncoder: ["encode_image", "get_projection_matrix"],
};

function call(functionName, args) {
  if (functionName in FUNCTIONS) return FUNCTIONS[functionName](args);
  const [owner, method] = functionName.split(".");
  if (!(owner in CLASSES) || !METHODS[owner].includes(method)) {
    throw new mmref.Unsupported(`${functionName} is not in this port`);
  }
  const encoder = new CLASSES[owner](args.params);
  if ("fit" in args) encoder.fit(args.fit);
  return encoder[method](args.input);
}

function answer(request) {
  try {
    const args = {};
    for (const [name, value] of Object.entries(request.args)) args[name] = decodeValue(value);
    const result = call(request.function, args);
    return { id: request.id, result: Array.isArray(result) ? result : encodeValue(result) };
  } catch (error) {
    if (error instanceof mmref.Unsupported) return { id: request.id, unsupported: error.message };
    if (error instanceof mmref.SpecError) {
      return { id: request.id, error: { type: error.type, message: error.message, bases: error.bases } };
    }
    // A bug of the port, not an error on purpose: say so, and let the case fail.
    return { id: request.id, error: { type: "InternalError", message: String(error && error.stack) } };
  }
}

function main() {
  const functions = [...Object.keys(FUNCTIONS)];
  for (const [owner, methods] of Object.entries(METHODS)) {
    for (const method of methods) functions.push(`${owner}.${method}`);
  }
  const hello = {
    protocol: PROTOCOL,
    name: "mmref-js (ports/js)",
    version: `${VERSION} (Node.js ${process.versions.node})`,
    functions,
    unicode: process.versions.unicode,
  };
  process.stdout.write(JSON.stringify(hello) + "\n");
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    // JSON.stringify escapes lone surrogates (well-formed JSON.stringify), so every
    // answer is valid UTF-8.
    process.stdout.write(JSON.stringify(answer(JSON.parse(line))) + "\n");
  });
}

module.exports = { decodeValue, encodeValue, halfToNumber, numberToHalf };

if (require.main === module) main();
