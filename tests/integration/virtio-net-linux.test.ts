// virtio-net on the kit's Linux: two tsvmm processes linked by a UDP tunnel
// on 127.0.0.1 ping each other and move a disk's worth of bytes with
// busybox nc, checked by md5; with /dev/net/tun (CI runs as root) the first
// guest also has a TAP NIC and pings the host through it.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freeUdpPorts } from '../helpers/net.js';
import type { ChildProcess } from 'node:child_process';
import { BASE_CMDLINE, guestKit, run64, runTsvmm, skipWithoutKvm, type TsvmmResult } from '../helpers/tsvmm.js';
import { Client } from 'undici';

const PAYLOAD_BYTES = 4 * 2 ** 20;
/** The kit's /init prints this when the commands are done, before it powers off. */
const DONE = 'TSVMM_GUEST_DONE';
const TAP_HOST_IP = '192.168.250.1';
const canTap = existsSync('/dev/net/tun') && process.getuid?.() === 0;

const upEth0 = (ip: string): string => `retry ip addr add ${ip}/24 dev eth0 && retry ip link set eth0 up`;

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test(`two VMs in two processes over a UDP tunnel: ping both ways and ${PAYLOAD_BYTES / 1024} KiB through nc`, async (t) => {
    const kit = guestKit();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-net-linux-'));
    const disk = join(dir, 'payload.img');
    const payload = randomBytes(PAYLOAD_BYTES);
    writeFileSync(disk, payload);
    const md5 = createHash('md5').update(payload).digest('hex');
    const [portA, portB] = await freeUdpPorts(2);

    const sender = [
      upEth0('10.0.0.1'),
      'i=0; until ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 600 ] && break; done',
      'retry ping -c 3 10.0.0.2 && echo PING_B_OK',
      'retry nc 10.0.0.2 5000 < /dev/vda; echo sent-rc=$?',
      ...(canTap ? ['retry ip addr add 192.168.250.2/24 dev eth1 && retry ip link set eth1 up', `retry ping -c 3 ${TAP_HOST_IP} && echo PING_HOST_OK`] : []),
      'retry nc -l -p 5001',
    ];
    const receiver = [
      upEth0('10.0.0.2'),
      'retry nc -l -p 5000 > /tmp/received',
      'retry md5sum /tmp/received; retry wc -c < /tmp/received',
      'retry ping -c 3 10.0.0.1 && echo PING_A_OK',
      'i=0; until echo bye-from-b | nc 10.0.0.1 5001; do sleep 1; i=$((i+1)); [ $i -gt 300 ] && break; done',
    ];
    // When one VM fails, its peer would wait for it until the deadline: it is stopped too.
    const children: ChildProcess[] = [];
    const stopPeerOnFailure = (result: TsvmmResult): TsvmmResult => {
      if (result.code !== 0) children.forEach((child) => child.kill('SIGTERM'));
      return result;
    };
    // Each VMM also serves its API, so it stays when its guest powers off and is stopped at the guest's last line;
    // while the transfer runs, its counters go to the log every minute.
    const sockets = ['a', 'b'].map((name) => join(dir, `${name}.sock`));
    const stopReporting = reportCounters(t, sockets);
    const common = ['--kernel', kit.vmlinux, '--initramfs', kit.initramfs, '--memory', 'size=256M', '--serial', 'tty'];
    const a = runTsvmm([
      ...common, '--api-socket', `path=${sockets[0]}`, '--cmdline', `${BASE_CMDLINE} ${run64(sender)}`, '--disk', `path=${disk},readonly=on`,
      '--net', `remote=127.0.0.1:${portB},local=127.0.0.1:${portA},mac=52:54:00:00:00:0a,id=tunnel`,
      ...(canTap ? ['--net', `tap=,ip=${TAP_HOST_IP},mask=255.255.255.0`] : []),
    ], { timeoutMs: 840_000, stopAt: DONE, onSpawn: (child) => children.push(child) }).then(stopPeerOnFailure);
    const b = runTsvmm([
      ...common, '--api-socket', `path=${sockets[1]}`, '--cmdline', `${BASE_CMDLINE} ${run64(receiver)}`,
      '--net', `remote=127.0.0.1:${portA},local=127.0.0.1:${portB},mac=52:54:00:00:00:0b`,
    ], { timeoutMs: 840_000, stopAt: DONE, onSpawn: (child) => children.push(child) }).then(stopPeerOnFailure);
    const [resultA, resultB] = await Promise.all([a, b]);
    stopReporting();
    t.equal(resultA.code, 0, `A exit status (stderr: ${resultA.stderr.slice(-300)})`);
    t.equal(resultB.code, 0, `B exit status (stderr: ${resultB.stderr.slice(-300)})`);
    t.match(resultA.stdout, /PING_B_OK/, 'A pinged B');
    t.match(resultB.stdout, /PING_A_OK/, 'B pinged A');
    t.match(resultA.stdout, /sent-rc=0/);
    t.match(resultB.stdout, new RegExp(`${md5}  /tmp/received`), 'B received exactly the bytes A read from its disk');
    t.match(resultA.stdout, /bye-from-b/, 'and B reached A again afterwards');
    if (canTap) t.match(resultA.stdout, /PING_HOST_OK/, 'A pinged the host through its TAP NIC');
    else t.comment('TAP part skipped: needs /dev/net/tun and root');
  });
}

/**
 * For a transfer that stalls: both VMs' device counters (frames and drops
 * each way) every minute, so the log shows which side stopped moving.
 */
function reportCounters(t: Test, sockets: string[]): () => void {
  const clients = sockets.map((socketPath) => new Client('http://localhost', { socketPath }));
  const report = async (): Promise<void> => {
    const lines = await Promise.all(clients.map(async (client, i) => {
      try {
        const response = await client.request({ method: 'GET', path: '/api/v1/vm.counters' });
        return `${sockets[i]}: ${await response.body.text()}`;
      } catch (error) {
        return `${sockets[i]}: ${(error as Error).message}`;
      }
    }));
    lines.forEach((line) => t.comment(`counters ${line}`));
    // Inside L1 also where the host sees it at once: the file's own output comes only at its end.
    const results = process.env.TSVMM_L1_RESULTS;
    if (results) appendFileSync(join(results, 'vm-logs', 'virtio-net-linux-counters.log'), `${new Date().toISOString()}\n${lines.join('\n')}\n`);
  };
  const timer = setInterval(() => void report(), 60_000);
  return () => {
    clearInterval(timer);
    clients.forEach((client) => void client.close());
  };
}
