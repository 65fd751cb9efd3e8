import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { clampKeystoreDates, KeystoreFormatError } from '../../src/builder/jks.js';

/** A JKS file as Java writes one: trusted certificate entries, then the keyed SHA-1. */
function keystore(entries: { alias: string; millis: bigint; der: Buffer }[], password = 'changeit'): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const utf = (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    const b = Buffer.alloc(2);
    b.writeUInt16BE(bytes.length);
    return Buffer.concat([b, bytes]);
  };
  parts.push(u32(0xfeedfeed), u32(2), u32(entries.length));
  for (const entry of entries) {
    const date = Buffer.alloc(8);
    date.writeBigInt64BE(entry.millis);
    parts.push(u32(2), utf(entry.alias), date, utf('X.509'), u32(entry.der.length), entry.der);
  }
  const body = Buffer.concat(parts);
  const pw = Buffer.from(password, 'utf16le').swap16();
  return Buffer.concat([body, createHash('sha1').update(pw).update('Mighty Aphrodite').update(body).digest()]);
}

test('dates after the epoch are clamped, older ones kept, and the digest stays valid', (t) => {
  const der1 = randomBytes(300);
  const der2 = randomBytes(200);
  const builtAt = (millis: bigint) =>
    keystore([
      { alias: 'debian:a.pem', millis, der: der1 },
      { alias: 'debian:old.pem', millis: 1000n, der: der2 },
    ]);
  const first = clampKeystoreDates(builtAt(1_763_700_000_123n), 1_735_689_600);
  const second = clampKeystoreDates(builtAt(1_763_799_999_999n), 1_735_689_600);
  t.is(first.clamped, 1);
  t.true(first.bytes.equals(second.bytes), 'two builds at different times give the same bytes');
  t.true(first.bytes.equals(builtAt(1_735_689_600_000n)), 'exactly the keystore Java would write at the epoch');
  t.notThrows(() => clampKeystoreDates(first.bytes, 1_735_689_600), 'its digest verifies');
});

test('refuses what it cannot rewrite safely: not JKS, wrong password, truncated', (t) => {
  const good = keystore([{ alias: 'x', millis: 5n, der: randomBytes(50) }]);
  t.throws(() => clampKeystoreDates(Buffer.from('PKCS12 or anything else, long enough to read'), 0), { instanceOf: KeystoreFormatError, message: /not a JKS/ });
  t.throws(() => clampKeystoreDates(good, 0, 'other'), { message: /digest does not match/ });
  const truncated = keystore([{ alias: 'x', millis: 5n, der: randomBytes(50) }]);
  truncated.writeUInt32BE(3, 8); // claims three entries, holds one
  const resigned = Buffer.concat([truncated.subarray(0, -20), createHash('sha1').update(Buffer.from('changeit', 'utf16le').swap16()).update('Mighty Aphrodite').update(truncated.subarray(0, -20)).digest()]);
  t.throws(() => clampKeystoreDates(resigned, 0), { message: /truncated/ });
});
