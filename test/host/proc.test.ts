import test from 'ava';
import { execa } from 'execa';
import { findNamespaceInitChild, holdPidNamespace, isAlive, livePidsInNamespace, mountsBelow, pidNamespaceOf, pidsInNamespace, readStatus } from '../../src/host/proc.js';
import { scratchDir } from '../helpers/scratch.js';


test('readStatus reads our own parent and namespace PIDs', async (t) => {
  const status = await readStatus(process.pid);
  t.truthy(status);
  t.is(status!.ppid, process.ppid);
  t.is(status!.nsPids.at(-1), process.pid);
  t.true(await isAlive(process.pid));
  t.is(await readStatus(2 ** 22 + 7), undefined);
  t.false(await isAlive(2 ** 22 + 7));
});

test('finds PID 1 of a PID namespace started by a child, and every process in that namespace', async (t) => {
  // unshare --fork: unshare is our child; PID 1 of the new namespace is unshare's child, so it
  // is found from unshare's PID, the way a container init is found from systemd-nspawn's.
  const child = execa('unshare', ['--pid', '--fork', '--mount-proc', '--', 'sh', '-c', 'sleep 30 & wait'], { reject: false });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let init: number | undefined;
  for (let i = 0; i < 100 && !init; i++) {
    init = await findNamespaceInitChild(child.pid!);
    if (!init) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.truthy(init, 'namespace init found');
  t.is((await readStatus(init!))!.nsPids.at(-1), 1);
  t.is(await findNamespaceInitChild(process.pid), undefined, 'our own children are not namespace inits');
  const namespace = await pidNamespaceOf(init!);
  t.not(namespace, await pidNamespaceOf(process.pid));
  let members: number[] = [];
  for (let i = 0; i < 100 && members.length < 2; i++) {
    members = await pidsInNamespace(namespace!);
    if (members.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.true(members.includes(init!));
  t.is(members.length, 2, 'sh and sleep');
  process.kill(init!, 'SIGKILL');
  await child;
  t.deepEqual(await pidsInNamespace(namespace!), [], 'killing the init ends the namespace');
});

test('mountsBelow sees a real mount and only below the directory', async (t) => {
  const dir = await scratchDir('mounts-');
  t.deepEqual(await mountsBelow(dir), []);
  t.true((await mountsBelow('/proc')).includes('/proc'));
});

/** A fresh PID namespace (`unshare --pid --fork sleep`): unshare's PID and its namespace's id. */
async function freshNamespace(): Promise<{ unshare: ReturnType<typeof execa>; initPid: number; id: string }> {
  const unshare = execa('unshare', ['--pid', '--fork', '--kill-child', 'sleep', '60'], { reject: false, stdin: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt++) {
    const initPid = await findNamespaceInitChild(unshare.pid!);
    const id = initPid ? await pidNamespaceOf(initPid) : undefined;
    if (initPid && id) return { unshare, initPid, id };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no namespace child appeared');
}

test.serial('a held PID namespace keeps its id after it ended: new namespaces never get it, so a sweep by id cannot hit them', async (t) => {
  const first = await freshNamespace();
  const held = await holdPidNamespace(first.initPid);
  t.is(held?.id, first.id);
  first.unshare.kill('SIGKILL'); // by PID: --kill-child ends the namespace with it
  await first.unshare;
  const later = [];
  for (let index = 0; index < 5; index++) {
    const next = await freshNamespace();
    later.push(next.id);
    next.unshare.kill('SIGKILL');
    await next.unshare;
  }
  t.false(later.includes(held!.id), `held ${held!.id}; new ones: ${later.join(', ')}`);
  let alive = await livePidsInNamespace(held!.id);
  for (let waited = 0; waited < 5000 && alive.length > 0; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    alive = await livePidsInNamespace(held!.id);
  }
  t.deepEqual(alive, [], 'and nothing runs under that id once the kernel has ended the namespace');
  await held!.release();
  // Without a hold the kernel may hand the id out again at once (reported, not asserted: it is
  // the kernel's choice).
  const unheld = await freshNamespace();
  unheld.unshare.kill('SIGKILL');
  await unheld.unshare;
  const after = await freshNamespace();
  t.log(`an ended namespace's id ${after.id === unheld.id ? 'was' : 'was not'} reused at once without a hold`);
  after.unshare.kill('SIGKILL');
  await after.unshare;
});
