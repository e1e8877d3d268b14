/**
 * SHA-256 in plain JavaScript (FIPS 180-4), for where neither `node:crypto`
 * nor Web Crypto is there: a browser page served over plain `http:` from
 * another machine, which is no secure context, has no `crypto.subtle`.
 *
 * @module
 */

/** The first 32 bits of the fractional parts of the roots of the primes. */
function roots(count: number, power: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let n = 2, found = 0; found < count; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
    if (prime) out[found++] = (n ** power % 1) * 2 ** 32;
  }
  return out;
}

let K: Uint32Array | undefined;
let H: Uint32Array | undefined;

/**
 * The SHA-256 digest of some bytes.
 *
 * @param bytes The bytes.
 * @returns The 32-byte digest.
 */
export function sha256Js(bytes: Uint8Array): Uint8Array {
  K ??= roots(64, 1 / 3);
  H ??= roots(8, 1 / 2);
  const h = H.slice();
  const w = new Uint32Array(64);
  const length = bytes.byteLength;
  // The last block or two: the rest of the bytes, 0x80, zeros, and the
  // length in bits.
  const full = length & ~63;
  const tail = new Uint8Array(length - full + 9 > 64 ? 128 : 64);
  tail.set(bytes.subarray(full));
  tail[length - full] = 0x80;
  const tailView = new DataView(tail.buffer);
  tailView.setUint32(tail.length - 8, Math.floor(length / 2 ** 29));
  tailView.setUint32(tail.length - 4, length << 3);
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const block = (data: DataView, at: number) => {
    for (let i = 0; i < 16; i++) w[i] = data.getUint32(at + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = (a >>> 7 | a << 25) ^ (a >>> 18 | a << 14) ^ (a >>> 3);
      const s1 = (b >>> 17 | b << 15) ^ (b >>> 19 | b << 13) ^ (b >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const s1 = (e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^
        (e >>> 25 | e << 7);
      const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K![i] + w[i]) | 0;
      const s0 = (a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^
        (a >>> 22 | a << 10);
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
  };
  for (let at = 0; at < full; at += 64) block(view, at);
  for (let at = 0; at < tail.length; at += 64) block(tailView, at);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((word, i) => outView.setUint32(i * 4, word));
  return out;
}
