// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) from a base32 secret, as an authenticator app
// computes it: the demo writes the meldpunt's and the admin's secrets into its
// credentials file so that the browser tests can pass the second step of the login.
//
// The server accepts each 30-second step once (a code is single-use), so `totp` remembers
// the steps this test process used per secret and hands out the next unused step in the
// window the server accepts (now ± 1 step); when that is used up it waits for a new step.
import { createHmac } from 'node:crypto';

const used = new Map();

function codeAt(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function totp(secret) {
  for (;;) {
    const now = Date.now() / 1000;
    const current = Math.floor(now / 30);
    const spare = 30 - (now % 30);
    const steps = [...(spare >= 5 ? [current - 1] : []), current, current + 1];
    const last = used.get(secret);
    const step = steps.find((s) => last === undefined || s > last);
    if (step !== undefined) {
      used.set(secret, step);
      return codeAt(secret, step);
    }
    sleepSync(500);
  }
}
