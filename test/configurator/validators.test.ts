import test from 'ava';
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkCertificateFile,
  checkAcmeServer,
  checkEmail,
  checkHostname,
  checkIp,
  checkKeyMatchesCertificate,
  checkMemory,
  checkPassword,
  checkUsername,
  isPublicAddress,
  isPublicHostname,
  memoryBytes,
} from '../../src/configurator/validators.js';
import { makePair } from '../helpers/configurator-process.js';
import { scratchDir } from '../helpers/scratch.js';

test('hostname: localhost and FQDNs pass; single labels, upper case, bad labels and numeric TLDs are explained', (t) => {
  for (const good of ['localhost', 'meet.example.org', 'a.b', 'x-1.meet.jitsi.test']) t.is(checkHostname(good), undefined, good);
  for (const bad of ['meet', 'Meet.Example.org', 'meet..org', '-meet.org', 'meet-.org', 'meet.example.org.', '10.0.0.1', 'meet_1.org', 'a b.org', '']) {
    t.regex(checkHostname(bad) ?? '', /is not a fully qualified domain name .* or localhost/, bad);
  }
  t.truthy(checkHostname(`${'a'.repeat(64)}.org`), 'a label longer than 63 characters');
});

test('addresses: IPv4 and IPv6 pass, anything else is explained', (t) => {
  for (const good of ['203.0.113.7', '10.0.0.1', '127.0.0.1', '::1', '2001:db8::7', 'fd00::5']) t.is(checkIp(good), undefined, good);
  for (const bad of ['999.1.1.1', '1.2.3', '203.0.113.7/24', '2001:db8:::7', 'meet.example.org', ' 1.2.3.4', '']) {
    t.regex(checkIp(bad) ?? '', /is not an IPv4 or IPv6 address/, bad);
  }
});

test('addresses a server cannot have are explained, not accepted', (t) => {
  t.regex(checkIp('0.0.0.0')!, /unspecified address .* not the address of a server/);
  t.regex(checkIp('::')!, /unspecified address/);
  t.regex(checkIp('::ffff:7f00:1')!, /IPv4-mapped .* write it as 127\.0\.0\.1/);
  t.regex(checkIp('::ffff:203.0.113.7')!, /write it as 203\.0\.113\.7/);
  t.regex(checkIp('fe80::1%eth0')!, /zone index/);
  t.regex(checkIp('fe80::1')!, /link-local/);
  t.regex(checkIp('169.254.3.4')!, /link-local/);
  t.regex(checkIp('224.0.0.1')!, /multicast/);
  t.regex(checkIp('ff02::1')!, /multicast/);
  t.regex(checkIp('255.255.255.255')!, /broadcast/);
});

test('public addresses and hostnames decide whether Let\'s Encrypt is offered', (t) => {
  for (const address of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '127.0.0.1', '169.254.1.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) {
    t.false(isPublicAddress(address), address);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '2a00:1450::1']) t.true(isPublicAddress(address), address);
  for (const name of ['localhost', 'meet.jitsi.test', 'box.local', 'meet.example.org', 'meet.example', 'x.home.arpa', 'meet.localhost']) {
    t.false(isPublicHostname(name), name);
  }
  for (const name of ['meet.jit.si', 'video.university.edu']) t.true(isPublicHostname(name), name);
});

test('memory: k/m/g sizes of at least 256 MiB; smaller or malformed values are explained', (t) => {
  t.is(memoryBytes('1024m'), 1024 ** 3);
  t.is(memoryBytes('2G'), 2 * 1024 ** 3);
  for (const good of ['256m', '1024m', '2g', '262144k']) t.is(checkMemory(good), undefined, good);
  t.regex(checkMemory('255m')!, /too little .* at least 256m/);
  t.regex(checkMemory('100k')!, /too little/);
  t.regex(checkMemory('99999999999999999999999g')!, /too much .* at most 256g/);
  t.regex(checkMemory('257g')!, /too much/);
  t.is(checkMemory('256g'), undefined);
  for (const bad of ['1024', 'lots', '1.5g', '-512m', '512 m', '512mb', '']) t.regex(checkMemory(bad) ?? '', /is not a memory size/, bad);
});

test('e-mail, user name and password checks', (t) => {
  t.is(checkEmail('admin@example.org'), undefined);
  for (const bad of ['admin', 'admin@', '@example.org', 'admin@example', 'ad min@example.org', '-v@x.org', '--staging@x.org', 'a@-x.org']) {
    t.regex(checkEmail(bad) ?? '', /is not an e-mail address/, bad);
  }
  t.is(checkEmail('first.last+jitsi@mail.example.org'), undefined);
  t.is(checkUsername('admin'), undefined);
  t.regex(checkUsername('focus')!, /reserved/);
  t.regex(checkUsername('Admin')!, /not a valid user name/);
  t.is(checkPassword('lizard-grin-shock'), undefined);
  t.regex(checkPassword('short')!, /too short/);
  t.regex(checkPassword(' leading-blank')!, /blank/);
  t.regex(checkPassword('tab\there-too')!, /control characters/);
  // Prosody keeps the SASLprep (NFKC) form of a password; a client that hashes what was typed
  // would never match it, nor would our own account check.
  t.regex(checkPassword('Ｐａｓｓｗｏｒｄ１２３')!, /printable ASCII/);
  t.regex(checkPassword('passwörter-sind-gut')!, /printable ASCII/);
  t.is(checkPassword('Pass word ~!@#$%^&*()'), undefined);
});

test('own certificate and key: must exist, be PEM, be a matching unencrypted pair', async (t) => {
  const dir = await scratchDir('jmc-');
  const first = await makePair(dir, 'first');
  const second = await makePair(dir, 'second');
  t.is(checkCertificateFile(first.cert), undefined);
  t.is(checkKeyMatchesCertificate(first.key, first.cert), undefined);

  t.regex(checkCertificateFile(join(dir, 'missing.crt'))!, /does not exist: give the path of your certificate/);
  t.regex(checkCertificateFile('relative.crt')!, /absolute path/);
  t.regex(checkCertificateFile(dir)!, /is a directory/);
  t.regex(checkCertificateFile(first.key)!, /is not a PEM certificate/);
  const der = join(dir, 'first.der');
  await execa('openssl', ['x509', '-in', first.cert, '-outform', 'DER', '-out', der]);
  t.regex(checkCertificateFile(der)!, /is not a PEM certificate/);
  const garbage = join(dir, 'garbage.crt');
  await writeFile(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  t.regex(checkCertificateFile(garbage)!, /does not hold a readable certificate/);

  t.regex(checkKeyMatchesCertificate(second.key, first.cert)!, /are not a pair/);
  t.regex(checkKeyMatchesCertificate(join(dir, 'missing.key'), first.cert)!, /does not exist: give the path of your private key/);
  t.regex(checkKeyMatchesCertificate(first.cert, first.cert)!, /is not a PEM private key/);
  const encrypted = join(dir, 'encrypted.key');
  await execa('openssl', ['pkey', '-in', first.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
  t.regex(checkKeyMatchesCertificate(encrypted, first.cert)!, /encrypted with a passphrase/);
  t.regex(checkKeyMatchesCertificate(first.key, join(dir, 'missing.crt'))!, /cannot compare with the certificate/);
});

test('own certificate paths are looked up under the root prefix', async (t) => {
  const root = await scratchDir('jmc-');
  await mkdir(join(root, 'srv'));
  await makePair(join(root, 'srv'), 'meet');
  t.is(checkCertificateFile('/srv/meet.crt', root), undefined);
  t.is(checkKeyMatchesCertificate('/srv/meet.key', '/srv/meet.crt', root), undefined);
  t.regex(checkCertificateFile('/srv/meet.crt', '/nonexistent-root')!, /does not exist/);
});

test('ACME server: an https URL with a host, nothing else', (t) => {
  t.is(checkAcmeServer('https://acme-v02.api.letsencrypt.org/directory'), undefined);
  t.is(checkAcmeServer('https://127.0.0.1:14000/dir'), undefined);
  for (const bad of ['', '--staging', 'http://acme.example.org/directory', 'acme-v02.api.letsencrypt.org/directory', 'https://', 'https://x y/']) {
    t.regex(checkAcmeServer(bad) ?? '', /is not an https URL/, bad);
  }
});

test('own certificate and key must be regular files of sane size: devices, FIFOs and huge files are refused at once', async (t) => {
  const dir = await scratchDir('jmc-');
  const fifo = join(dir, 'pipe.crt');
  await execa('mkfifo', [fifo]);
  const huge = join(dir, 'huge.crt');
  await writeFile(huge, Buffer.alloc(2 * 1024 * 1024, 'A'));
  // Each would hang (FIFO) or eat memory without end (/dev/zero) if it were read.
  t.regex(checkCertificateFile('/dev/zero')!, /\/dev\/zero is not a regular file/);
  t.regex(checkCertificateFile(fifo)!, /is not a regular file/);
  t.regex(checkCertificateFile(huge)!, /is larger than 1 MiB/);
  t.regex(checkKeyMatchesCertificate('/dev/urandom', huge)!, /\/dev\/urandom is not a regular file/);
});
