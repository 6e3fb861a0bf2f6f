// mmref spec 1 in JavaScript: everything the golden vectors hold, written from SPEC.md.
//
// Node.js 18 or later, no dependencies. Arrays are plain objects {dtype, shape, data}:
// `data` is a flat C-order array of Numbers (bool as 0/1, integers up to 32 bits, floats
// of every width as the float64 that holds them exactly), of BigInts for int64, uint64 and
// intp, or of [re, im] Number pairs for complex dtypes. Errors raised on purpose are
// SpecError objects whose `type` is the specification's class (ValueError, TypeError).
"use strict";

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;
const TWO63 = 1n << 63n;

class SpecError extends Error {
  constructor(type, message, bases = []) {
    super(message);
    this.type = type;
    this.bases = bases;
  }
}
const valueError = (message) => new SpecError("ValueError", message);
const typeError = (message) => new SpecError("TypeError", message);

// A case this port does not implement (Python-only features): answered "unsupported".
class Unsupported extends Error {}

// --- section 3: hashing -------------------------------------------------------------------

function mix64(z) {
  z = BigInt.asUintN(64, z);
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

function deriveKey(seed, ...words) {
  let k = mix64(BigInt(seed) + GOLDEN);
  for (const w of words) k = mix64((k ^ BigInt.asUintN(64, BigInt(w))) + GOLDEN);
  return k;
}

// u_K(n), n = 0, 1, ...: the outputs of SplitMix64 seeded with K (SPEC 4.3).
function* stream(key) {
  for (let n = 1n; ; n++) yield mix64(key + n * GOLDEN);
}

// MurmurHash3_x86_32 of a byte array (Uint8Array), unsigned (SPEC 5.5).
function murmurhash3_32(bytes, seed) {
  const rotl = (x, r) => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h = seed >>> 0;
  const blocks = bytes.length >>> 2;
  for (let j = 0; j < blocks; j++) {
    const i = 4 * j;
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = 4 * blocks;
  const r = bytes.length & 3;
  if (r > 0) {
    let k = bytes[tail];
    if (r >= 2) k |= bytes[tail + 1] << 8;
    if (r === 3) k |= bytes[tail + 2] << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// UTF-8 bytes of a string; a lone surrogate has none (Python: UnicodeEncodeError).
function utf8(text, where = "the text") {
  if (/\p{Surrogate}/u.test(text)) {
    throw new SpecError("UnicodeEncodeError", `${where} contains a lone surrogate`, [
      "UnicodeError",
      "ValueError",
    ]);
  }
  return new TextEncoder().encode(text);
}

// --- section 1: the two functions ---------------------------------------------------------

const KIND = { bool: "b", int8: "i", int16: "i", int32: "i", int64: "i", intp: "i",
  uint8: "u", uint16: "u", uint32: "u", uint64: "u", float16: "f", float32: "f",
  float64: "f", complex64: "c", complex128: "c" };
const BITS = { bool: 8, int8: 8, int16: 16, int32: 32, int64: 64, intp: 64, uint8: 8,
  uint16: 16, uint32: 32, uint64: 64, float16: 16, float32: 32, float64: 64,
  complex64: 64, complex128: 128 };

// NumPy's promotion of two array dtypes (np.result_type), for the dtypes above.
function resultType(a, b) {
  if (a === "intp") a = "int64";
  if (b === "intp") b = "int64";
  const ka = KIND[a], kb = KIND[b];
  const order = "biufc";
  if (order.indexOf(ka) > order.indexOf(kb)) return resultType(b, a);
  // now kind(a) <= kind(b) in b < i, u < f < c (i and u are handled together)
  if (ka === "b") return b;
  if (ka === kb) return BITS[a] >= BITS[b] ? a : b;
  if ((ka === "i" && kb === "u") || (ka === "u" && kb === "i")) {
    const [s, u] = ka === "i" ? [a, b] : [b, a];
    if (BITS[u] < BITS[s]) return s;
    return BITS[u] === 64 ? "float64" : `int${2 * BITS[u]}`;
  }
  // an integer with a float or complex: the integer needs a float of this many bits
  const need = { 8: 16, 16: 32, 32: 64, 64: 64 }[BITS[a]];
  if (ka === "f" && kb === "c") {
    return BITS[a] === 64 || BITS[b] === 128 ? "complex128" : "complex64";
  }
  if (kb === "f") return need > BITS[b] ? `float${need}` : b;
  return need === 64 || BITS[b] === 128 ? "complex128" : "complex64";
}

function cast(value, from, to) {
  const k = KIND[to];
  const real = Array.isArray(value) ? value[0] : value;
  if (k === "c") return Array.isArray(value) ? value : [Number(value), 0];
  if (k === "f") return Number(real);
  if (BITS[to] === 64) return BigInt(real);
  return Number(real);
}

function jointEmbedding(image, text) {
  for (const [name, e] of [["image", image], ["text", text]]) {
    if (e.shape.length !== 2) {
      throw valueError(`model.encode_${name} must return a 2-D array; got shape (${e.shape})`);
    }
  }
  if (image.shape[0] !== text.shape[0]) {
    throw valueError(`the embeddings have ${image.shape[0]} and ${text.shape[0]} rows`);
  }
  const dtype = resultType(image.dtype, text.dtype);
  const [n, di] = image.shape, dt = text.shape[1];
  const data = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < di; c++) data.push(cast(image.data[r * di + c], image.dtype, dtype));
    for (let c = 0; c < dt; c++) data.push(cast(text.data[r * dt + c], text.dtype, dtype));
  }
  return { dtype, shape: [n, di + dt], data };
}

function multimodalClassification(jointEmbedding, scores) {
  if (scores.shape.length !== 2 || scores.shape[1] === 0) {
    throw valueError(`model.predict must return a 2-D array with at least one column`);
  }
  const [n, k] = scores.shape;
  if (jointEmbedding.shape[0] !== n) {
    throw valueError(`predict returned ${n} rows for ${jointEmbedding.shape[0]} samples`);
  }
  if (KIND[scores.dtype] === "c") throw typeError("the scores must be real");
  const data = [];
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 0; c < k; c++) {
      const v = scores.data[r * k + c];
      if (Number.isNaN(v)) throw valueError(`the scores of sample ${r} contain NaN`);
      if (v > scores.data[r * k + best]) best = c; // ties go to the lowest column
    }
    data.push(BigInt(best));
  }
  return { dtype: "intp", shape: [n], data };
}

// --- section 5: the text encoder ----------------------------------------------------------

const CJK_RANGES = [
  [0x3005, 0x3007], [0x3021, 0x3029], [0x3038, 0x303b], [0x3040, 0x309f],
  [0x30a0, 0x30ff], [0x31f0, 0x31ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xf900, 0xfaff], [0xff66, 0xff9f], [0x1aff0, 0x1b16f], [0x20000, 0x2a6df],
  [0x2a700, 0x2ee5f], [0x2f800, 0x2fa1f], [0x30000, 0x323af],
];
// Python's \w (str.isalnum() or "_"): General_Category L* or N*, or "_" (SPEC 5.3).
const WORD = /^[\p{L}\p{N}_]$/u;
const SKLEARN_TOKEN_PATTERN = "(?u)\\b\\w\\w+\\b";
const isCjk = (cp) => CJK_RANGES.some(([lo, hi]) => lo <= cp && cp <= hi);

const TEXT_DEFAULTS = {
  n_features: 1024, vocabulary: null, ngram_range: [1, 1], token_pattern: null,
  unicode_form: "NFKC", lowercase: true, weighting: "count", alternate_sign: true,
  normalize: true, seed: 0, dtype: "dtype:float64", min_df: 1, max_features: null,
  strip_accents: null, analyzer: "word", stop_words: null, preprocessor: null, tokenizer: null,
};
// Options of SPEC 5.2-5.4 this port does not implement (their defaults are fine).
const TEXT_UNSUPPORTED = ["strip_accents", "analyzer", "stop_words", "preprocessor", "tokenizer"];

class BagOfWordsTextEncoder {
  constructor(params = {}) {
    for (const key of Object.keys(params)) {
      if (!(key in TEXT_DEFAULTS)) {
        throw typeError(`BagOfWordsTextEncoder got an unexpected keyword argument '${key}'`);
      }
    }
    this.p = { ...TEXT_DEFAULTS, ...params };
    const p = this.p;
    const int = (v) => Number.isInteger(v) && typeof v === "number";
    if (!int(p.n_features) || p.n_features < 1 || p.n_features > 2 ** 31 - 1) {
      throw valueError(`The 'n_features' parameter must be an int in [1, 2**31 - 1]`);
    }
    const [lo, hi] = p.ngram_range;
    if (!(int(lo) && int(hi) && lo >= 1 && lo <= hi)) {
      throw valueError("The 'ngram_range' parameter must be a pair 1 <= min_n <= max_n");
    }
    if (![null, "NFC", "NFD", "NFKC", "NFKD"].includes(p.unicode_form)) {
      throw valueError("The 'unicode_form' parameter must be None, NFC, NFD, NFKC or NFKD");
    }
    if (!["count", "binary", "log", "tfidf"].includes(p.weighting)) {
      throw valueError("The 'weighting' parameter must be count, binary, log or tfidf");
    }
    if (!(int(p.seed) && p.seed >= 0 && p.seed <= 2 ** 32 - 1)) {
      throw valueError("The 'seed' parameter must be an int in [0, 2**32 - 1]");
    }
    if (!["dtype:float64", "dtype:float32"].includes(p.dtype)) {
      throw valueError("The 'dtype' parameter must be float32 or float64");
    }
    for (const key of TEXT_UNSUPPORTED) {
      if (p[key] !== TEXT_DEFAULTS[key]) throw new Unsupported(`${key} is not implemented`);
    }
    if (![true, false, null, "l1", "l2"].includes(p.normalize)) {
      throw valueError("The 'normalize' parameter must be 'l1', 'l2', None, True or False");
    }
    if (p.token_pattern !== null && p.token_pattern !== SKLEARN_TOKEN_PATTERN) {
      throw new Unsupported("a token_pattern other than scikit-learn's is Python's re");
    }
    if (p.vocabulary === "learn" || p.min_df !== 1 || p.max_features !== null) {
      throw new Unsupported("vocabulary='learn' is not implemented in this port");
    }
    if (p.vocabulary !== null) {
      if (!Array.isArray(p.vocabulary) || p.vocabulary.length === 0) {
        throw valueError("The 'vocabulary' parameter must be a non-empty sequence of str");
      }
      this.vocabulary = new Map(p.vocabulary.map((term, j) => [term, j]));
      if (this.vocabulary.size !== p.vocabulary.length) {
        throw valueError("The 'vocabulary' parameter has repeated terms");
      }
    }
    this.idf = null;
  }

  get nColumns() {
    return this.p.vocabulary === null ? this.p.n_features : this.p.vocabulary.length;
  }

  // SPEC 5.2-5.4: the terms of one text, ordered by n, then position.
  tokenize(text) {
    if (typeof text !== "string") throw typeError("tokenize takes one str");
    const p = this.p;
    let s = p.unicode_form === null ? text : text.normalize(p.unicode_form);
    if (p.lowercase) s = s.toLowerCase();
    const tokens = [];
    let current = "", currentCjk = false;
    const flush = () => {
      if (current) tokens.push(current);
      current = "";
    };
    for (const ch of s) {
      const word = WORD.test(ch);
      if (!word) {
        flush();
        continue;
      }
      const cjk = p.token_pattern === null && isCjk(ch.codePointAt(0));
      if (current && (cjk || currentCjk)) flush();
      current += ch;
      currentCjk = cjk;
    }
    flush();
    const kept = p.token_pattern === null ? tokens : tokens.filter((t) => [...t].length >= 2);
    const terms = [];
    const [lo, hi] = p.ngram_range;
    for (let n = lo; n <= hi; n++) {
      for (let i = 0; i + n <= kept.length; i++) terms.push(kept.slice(i, i + n).join(" "));
    }
    return terms;
  }

  // SPEC 5.5-5.6: per text, the stored columns and their summed signs.
  counts(texts) {
    return texts.map((text, i) => {
      const row = new Map();
      for (const term of this.tokenize(text)) {
        let column, sign = 1;
        if (this.vocabulary) {
          if (!this.vocabulary.has(term)) continue;
          column = this.vocabulary.get(term);
        } else {
          const h = murmurhash3_32(utf8(term, `texts[${i}]`), this.p.seed);
          const m = h < 2 ** 31 ? h : 2 ** 32 - h;
          column = m % this.p.n_features;
          if (h >= 2 ** 31 && this.p.alternate_sign) sign = -1;
        }
        row.set(column, (row.get(column) || 0) + sign);
      }
      return row;
    });
  }

  fit(texts) {
    texts = checkTexts(texts, false);
    if (this.p.weighting === "tfidf") {
      const n = texts.length;
      const df = new Float64Array(this.nColumns);
      for (const row of this.counts(texts)) for (const j of row.keys()) df[j] += 1;
      this.idf = Array.from(df, (d) => Math.log((n + 1) / (d + 1)) + 1);
    }
    return this;
  }

  encode_text(input) {
    const texts = checkTexts(input, true);
    const p = this.p;
    if (p.weighting === "tfidf" && this.idf === null) {
      throw new SpecError("NotFittedError", "call 'fit' before using a tf-idf encoder", [
        "ValueError",
        "AttributeError",
      ]);
    }
    const width = this.nColumns;
    const data = new Array(texts.length * width).fill(0);
    this.counts(texts).forEach((row, r) => {
      const columns = [...row.keys()].sort((a, b) => a - b);
      const w = columns.map((j) => {
        const v = row.get(j);
        switch (p.weighting) {
          case "binary":
            return Math.sign(v);
          case "log":
            return v === 0 ? 0 : Math.sign(v) * (1 + Math.log(Math.abs(v)));
          case "tfidf":
            return v * this.idf[j];
          default:
            return v;
        }
      });
      if (p.normalize === "l1") {
        let sa = 0;
        for (const x of w) sa += Math.abs(x);
        if (sa !== 0) for (let i = 0; i < w.length; i++) w[i] /= sa;
      } else if (p.normalize === true || p.normalize === "l2") {
        let ss = 0;
        for (const x of w) ss += x * x;
        const norm = Math.sqrt(ss);
        if (norm !== 0) for (let i = 0; i < w.length; i++) w[i] /= norm;
      }
      columns.forEach((j, i) => (data[r * width + j] = w[i]));
    });
    const dtype = p.dtype.slice("dtype:".length);
    return { dtype, shape: [texts.length, width], data: dtype === "float32" ? data.map(Math.fround) : data };
  }
}

function checkTexts(input, allowStr) {
  if (typeof input === "string") {
    if (!allowStr) throw typeError("texts must be an iterable of str, not a single str");
    input = [input];
  }
  if (!Array.isArray(input)) throw typeError(`texts must be an iterable of str; got ${input}`);
  input.forEach((t, i) => {
    if (typeof t !== "string") throw typeError(`texts[${i}] must be a str; got ${JSON.stringify(t)}`);
    if (/\p{Surrogate}/u.test(t)) throw valueError(`texts[${i}] contains a lone surrogate`);
  });
  return input;
}

// --- section 4: the image encoder ---------------------------------------------------------

const IMAGE_DEFAULTS = {
  n_components: 256, method: "sparse", density: "auto", seed: 0, image_shape: null,
  normalize: true, dtype: "dtype:float64", batch_size: 1024, max_matrix_bytes: 64 * 2 ** 20,
};

class RandomProjectionImageEncoder {
  constructor(params = {}) {
    for (const key of Object.keys(params)) {
      if (!(key in IMAGE_DEFAULTS)) {
        throw typeError(`RandomProjectionImageEncoder got an unexpected keyword argument '${key}'`);
      }
    }
    this.p = { ...IMAGE_DEFAULTS, ...params };
    const p = this.p;
    if (!(Number.isInteger(p.n_components) && p.n_components >= 1)) {
      throw valueError("The 'n_components' parameter must be an int >= 1");
    }
    if (!["sparse", "gaussian", "srht"].includes(p.method)) {
      throw valueError("The 'method' parameter must be sparse, gaussian or srht");
    }
    if (p.density !== "auto" && !(typeof p.density === "number" && p.density > 2 ** -64 && p.density <= 1)) {
      throw valueError("The 'density' parameter must be 'auto' or a float in (2**-64, 1]");
    }
    if (!(Number.isInteger(p.seed) && p.seed >= 0)) {
      throw valueError("The 'seed' parameter must be an int in [0, 2**64 - 1]");
    }
    if (!["dtype:float64", "dtype:float32"].includes(p.dtype)) {
      throw valueError("The 'dtype' parameter must be float32 or float64");
    }
    if (typeof p.image_shape === "number") p.image_shape = [p.image_shape];
  }

  // The (d, k) matrix R, column by column (R[i][j] at columns[j][i]).
  columns(d) {
    const p = this.p, k = p.n_components, seed = BigInt(p.seed);
    if (p.method === "sparse") {
      const density = p.density === "auto" ? 1 / Math.sqrt(d) : p.density;
      const scale = Math.sqrt(1 / density) / Math.sqrt(k);
      const thresholds = gapThresholds(density, d);
      return Array.from({ length: k }, (_, j) => {
        const column = new Float64Array(d);
        const { positions, signs } = sparseColumn(seed, d, thresholds, j);
        positions.forEach((i, n) => (column[i] = signs[n] * scale));
        return column;
      });
    }
    if (p.method === "gaussian") {
      const scale = 1 / Math.sqrt(k);
      return Array.from({ length: k }, (_, j) => gaussianColumn(seed, d, j).map((g) => g * scale));
    }
    // srht: the image of each unit vector
    const basis = Array.from({ length: d }, (_, i) => {
      const x = new Float64Array(d);
      x[i] = 1;
      return this.srht(x);
    });
    return Array.from({ length: k }, (_, j) => Float64Array.from(basis, (y) => y[j]));
  }

  srht(x) {
    const k = this.p.n_components, d = x.length;
    if (k > d) throw valueError(`n_components=${k} is larger than the ${d} pixels of an image (srht)`);
    const { signs, order } = srhtPlan(BigInt(this.p.seed), d);
    const y = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      const c = order[j];
      let z = 0;
      for (let i = 0; i < d; i++) z += signs[i] * x[i] * Math.cos((Math.PI * c * (2 * i + 1)) / (2 * d));
      y[j] = z * Math.sqrt((c === 0 ? 1 : 2) / d) * Math.sqrt(d / k);
    }
    return y;
  }

  get_projection_matrix(n_features) {
    if (!(Number.isInteger(n_features) && n_features >= 1)) {
      throw valueError("The 'n_features' parameter must be an int >= 1");
    }
    const d = n_features, k = this.p.n_components;
    if (this.p.method === "srht" && k > d) this.srht(new Float64Array(d));
    const columns = this.columns(d);
    const data = [];
    for (let j = 0; j < k; j++) for (let i = 0; i < d; i++) data.push(columns[j][i]);
    return this.output([k, d], data);
  }

  encode_image(image) {
    if (!image || typeof image !== "object" || !("dtype" in image)) {
      throw typeError("image must be an array");
    }
    if (KIND[image.dtype] === "c") throw typeError(`images of dtype ${image.dtype} are not supported`);
    const S = this.p.image_shape, shape = image.shape;
    let n, imageShape;
    if (S === null) {
      if (shape.length === 2) [n, imageShape] = [1, shape];
      else if (shape.length === 3) [n, imageShape] = [shape[0], shape.slice(1)];
      else throw valueError(`expected (H, W) or (N, H, W); got ${shape.length} dimensions: set image_shape`);
    } else if (sameShape(shape, S)) [n, imageShape] = [1, S];
    else if (sameShape(shape.slice(1), S) && shape.length === S.length + 1) [n, imageShape] = [shape[0], S];
    else throw valueError(`image has shape (${shape}); expected (${S}) or (n_images, ${S})`);
    const d = imageShape.reduce((a, b) => a * b, 1);
    if (d === 0) throw valueError("the images have zero pixels");
    const pixels = image.data.map(Number);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < d; i++) {
        const v = pixels[r * d + i];
        if (Number.isNaN(v)) throw valueError(`Image ${r} contains NaN`);
        if (!Number.isFinite(v)) throw valueError(`Image ${r} contains an infinite value`);
        if (this.p.dtype === "dtype:float32" && !Number.isFinite(Math.fround(v))) {
          throw valueError(`Image ${r} has pixel values too large for float32`);
        }
      }
    }
    const k = this.p.n_components;
    if (this.p.method === "srht") this.srht(new Float64Array(d)); // k <= d, or ValueError
    const data = new Array(n * k).fill(0);
    const columns = this.p.method === "srht" ? null : this.columns(d);
    for (let r = 0; r < n; r++) {
      const x = pixels.slice(r * d, (r + 1) * d);
      const y = columns === null ? this.srht(Float64Array.from(x)) : columns.map((c) => {
        let s = 0;
        for (let i = 0; i < d; i++) if (c[i] !== 0) s += x[i] * c[i];
        return s;
      });
      if (y.some((v) => !Number.isFinite(v))) throw valueError(`Image ${r} overflowed`);
      let norm = 1;
      if (this.p.normalize) {
        norm = Math.sqrt(y.reduce((s, v) => s + v * v, 0));
        if (norm === 0) norm = 1;
      }
      for (let j = 0; j < k; j++) data[r * k + j] = y[j] / norm;
    }
    return this.output([n, k], data);
  }

  output(shape, data) {
    const dtype = this.p.dtype.slice("dtype:".length);
    return { dtype, shape, data: dtype === "float32" ? data.map(Math.fround) : data };
  }
}

// SPEC 4.4: the threshold t and the gap thresholds T_0 .. T_d of a density.
function gapThresholds(density, d) {
  const t = roundHalfEven(density * 2 ** 63);
  const T = [TWO63];
  for (let g = 1; g <= d; g++) T.push((T[g - 1] * (TWO63 - t)) / TWO63);
  return { t, T };
}

// SPEC 4.4: the nonzero rows of sparse column j, and their signs (+1 or -1).
function sparseColumn(seed, d, { t, T }, j) {
  const positions = [], signs = [];
  let pos = -1;
  for (const u of stream(deriveKey(seed, 1n, BigInt(d), t, BigInt(j)))) {
    const v = u >> 1n;
    // #{g in 1..d : v < T_g}: T never increases, so those g are a prefix; bisect it.
    let lo = 0, hi = d;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (v < T[mid]) lo = mid;
      else hi = mid - 1;
    }
    pos += 1 + lo;
    if (pos >= d) break;
    positions.push(pos);
    signs.push((u & 1n) === 0n ? 1 : -1);
  }
  return { positions, signs };
}

// SPEC 4.5: the unscaled N(0, 1) entries of Gaussian column j (Box-Muller).
function gaussianColumn(seed, d, j) {
  const column = new Float64Array(d);
  const us = stream(deriveKey(seed, 2n, BigInt(d), BigInt(j)));
  for (let m = 0; 2 * m < d; m++) {
    const h = us.next().value;
    const a = Number(h >> 32n), b = Number(h & 0xffffffffn);
    const u1 = (a + 0.5) / 2 ** 32;
    const theta = (2 * Math.PI * b) / 2 ** 32;
    const r = Math.sqrt(-2 * Math.log(u1));
    column[2 * m] = r * Math.cos(theta);
    if (2 * m + 1 < d) column[2 * m + 1] = r * Math.sin(theta);
  }
  return column;
}

// SPEC 4.6: the SRHT signs e_i and the coordinate order c_0 .. c_{d-1}.
function srhtPlan(seed, d) {
  const signStream = stream(deriveKey(seed, 3n, BigInt(d)));
  const signs = Array.from({ length: d }, () => ((signStream.next().value & 1n) === 0n ? 1 : -1));
  const orderStream = stream(deriveKey(seed, 4n, BigInt(d)));
  const keyed = Array.from({ length: d }, (_, i) => [orderStream.next().value, i]);
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { signs, order: keyed.map(([, i]) => i) };
}

const sameShape = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// round_half_to_even of a non-negative binary64, as a BigInt.
function roundHalfEven(x) {
  if (x >= 2 ** 52) return BigInt(x);
  const f = Math.floor(x), rest = x - f;
  const up = rest > 0.5 || (rest === 0.5 && f % 2 === 1);
  return BigInt(up ? f + 1 : f);
}

module.exports = {
  BagOfWordsTextEncoder,
  RandomProjectionImageEncoder,
  SpecError,
  Unsupported,
  deriveKey,
  gapThresholds,
  gaussianColumn,
  jointEmbedding,
  mix64,
  multimodalClassification,
  murmurhash3_32,
  resultType,
  sparseColumn,
  srhtPlan,
  stream,
  utf8,
};
