// The cloud-image workflow on Debian 12 (guest/distro.ts), through the REST
// API: a NoCloud seed disk (guest/cloud-seed.ts) as the second disk sets the
// hostname, creates a user with an SSH key and configures two NICs, which
// systemd-networkd brings up: a TAP, over which the host logs in with ssh, and
// a UDP tunnel to a second VM in another tsvmm process (the kit's Linux), which
// the two ping across. Then, cloud-init's work done and cloud-init turned off as
// after a provisioning, `vm.reboot` boots it again in the same process (a new
// boot id, the same hostname, ssh still in), and `vm.power-button` makes
// systemd-logind power it off.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { distroTestSkip } from '../../guest/distro.js';
import { makeSeedDisk } from '../../guest/cloud-seed.js';
import { ApiVmm, expectOk } from '../helpers/api.js';
import { freeUdpPorts } from '../helpers/net.js';
import { BASE_CMDLINE, BOOTED_MARKER, distroImage, distroRootCopy, guestKit, keptLogPath, run64, runTsvmm, skipWithoutKvm } from '../helpers/tsvmm.js';
import { phaseClock, scaled, sleep, waitUntil } from '../helpers/wait.js';

const HOSTNAME = 'tsvmm-cloud';
const USER = 'tester';
const TAP_HOST_IP = '192.168.251.1';
const TAP_GUEST_IP = '192.168.251.2';
const TUNNEL_IP = '10.0.1.1';
const PEER_IP = '10.0.1.2';
const TAP_MAC = '52:54:00:00:01:0a';
const TUNNEL_MAC = '52:54:00:00:01:0b';
const canTap = existsSync('/dev/net/tun') && process.getuid?.() === 0;
const SCHEMA_END = 'TSVMM_SCHEMA_CHECKED';
const CLOUD_INIT_OFF = 'TSVMM_CLOUD_INIT_OFF';
/**
 * Run as root by the image's marker unit on the first boot (reading the user-data needs
 * root, and the seed's user has no sudo): cloud-init's own check of the seed's user-data;
 * then, once cloud-init is done, cloud-init is turned off for later boots, as after a
 * provisioning: its four Python stages cost a boot minutes under emulation, and what it
 * set up (hostname, user, key, networkd's files) stays without it.
 * `quiet`: the kernel's and systemd's messages cost two or more exits a byte on the serial port.
 */
const CMDLINE = `console=ttyS0 root=/dev/vda rw quiet ${run64([
  `[ -e /var/lib/tsvmm-schema ] && exit 0; touch /var/lib/tsvmm-schema`,
  `cloud-init schema --system 2>&1 | sed "s/^/SCHEMA /"; echo ${SCHEMA_END}`,
  // Its status is read here, before the switch, after which it would say "disabled".
  `status=$(cloud-init status --wait | sed -n "s/^status: //p"); touch /etc/cloud/cloud-init.disabled; echo "${CLOUD_INIT_OFF} status=$status"`,
])}`;

/** Runs `command` in the guest as the seed's user, with the key the seed authorized. */
function ssh(key: string, command: string, timeoutMs = 60_000): Promise<{ ok: boolean; out: string }> {
  const args = [
    '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', '-o', `ConnectTimeout=${Math.ceil(scaled(10_000) / 1000)}`, `${USER}@${TAP_GUEST_IP}`, command,
  ];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: scaled(timeoutMs), encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ ok: error === null, out: `${stdout}${stderr}` });
    });
  });
}

/** ssh until sshd answers (it starts with the network, around the marker). */
async function sshWhenUp(key: string, command: string): Promise<string> {
  const deadline = Date.now() + scaled(120_000);
  let last = '';
  for (;;) {
    const result = await ssh(key, command);
    if (result.ok) return result.out;
    last = result.out;
    if (Date.now() > deadline) throw new Error(`ssh ${USER}@${TAP_GUEST_IP} never answered: ${last.slice(-300)}`);
    await sleep(2_000);
  }
}

/** The second VM at the tunnel's other end: the kit's Linux, pinging Debian until it answers, then waiting for its word. */
function startPeer(ports: { own: number; debian: number }, onSpawn: (child: ChildProcess) => void): ReturnType<typeof runTsvmm> {
  const kit = guestKit();
  const commands = [
    `retry ip addr add ${PEER_IP}/24 dev eth0 && retry ip link set eth0 up`,
    `i=0; until ping -c 1 -W 1 ${TUNNEL_IP} >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 1200 ] && break; done`,
    `retry ping -c 2 ${TUNNEL_IP} && echo PEER_PINGED_DEBIAN`,
    'retry nc -l -p 5000',
  ];
  return runTsvmm([
    '--kernel', kit.vmlinux, '--initramfs', kit.initramfs, '--memory', 'size=256M',
    '--cmdline', `${BASE_CMDLINE} ${run64(commands)}`,
    '--net', `remote=127.0.0.1:${ports.debian},local=127.0.0.1:${ports.own},mac=52:54:00:00:01:0c`,
  ], { timeoutMs: 900_000, stopAt: 'TSVMM_GUEST_DONE', onSpawn });
}

async function pressPowerButtonUntilShutdown(t: Test, vmm: ApiVmm): Promise<string> {
  let state = '';
  // Pressed again, as a person would, if nothing happened within a minute (a press can come before logind watches the button).
  for (let press = 0; press < 5 && state !== 'Shutdown'; press++) {
    expectOk(t, await vmm.call('PUT', 'vm.power-button'), 204, `power button, press ${press + 1}`);
    const until = Date.now() + scaled(60_000);
    while (Date.now() < until && state !== 'Shutdown') {
      await sleep(500);
      state = ((await vmm.call('GET', 'vm.info')).body as { state: string }).state;
    }
  }
  return state;
}

/** Counted as skipped, so the run's last lines count it. */
const noDistro = distroTestSkip();

if (!skipWithoutKvm(t, import.meta.url)) {
  t.test('cloud-init from a NoCloud seed, systemd-networkd on a TAP and a UDP tunnel, ssh, vm.reboot, the power button', {
    skip: noDistro || (canTap ? false : 'needs /dev/net/tun and root for the TAP (CI and L1 have both)'),
  }, async (t) => {
    const image = distroImage();
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-cloud-'));
    const root = distroRootCopy(dir);
    const key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsvmm-test', '-f', key]);
    const seed = join(dir, 'seed.img');
    makeSeedDisk(seed, {
      instanceId: `tsvmm-${process.pid}-${Date.now()}`, hostname: HOSTNAME,
      users: [{ name: USER, sshAuthorizedKeys: [readFileSync(`${key}.pub`, 'utf8').trim()] }],
      nics: [{ mac: TAP_MAC, address: `${TAP_GUEST_IP}/24` }, { mac: TUNNEL_MAC, address: `${TUNNEL_IP}/24` }],
    });
    const [debianPort, peerPort] = await freeUdpPorts(2) as [number, number];
    let peerChild: ChildProcess | undefined;
    const peer = startPeer({ own: peerPort, debian: debianPort }, (child) => { peerChild = child; });
    t.teardown(() => { peerChild?.kill('SIGTERM'); });

    const serial = keptLogPath() ?? join(dir, 'serial.log');
    const output = (): string => (existsSync(serial) ? readFileSync(serial, 'utf8') : '');
    const markers = (): number => output().split(BOOTED_MARKER).length - 1;
    const phase = phaseClock((message) => t.comment(message));
    const vmm = await ApiVmm.start();
    t.teardown(() => vmm.stop());
    expectOk(t, await vmm.call('PUT', 'vm.create', {
      payload: { kernel: image.kernel, initramfs: image.initrd, cmdline: CMDLINE },
      cpus: { boot_vcpus: 1, max_vcpus: 1 }, memory: { size: 512 * 2 ** 20 },
      disks: [{ path: root }, { path: seed, readonly: true }],
      net: [
        { ip: TAP_HOST_IP, mask: '255.255.255.0', mac: TAP_MAC },
        { remote: `127.0.0.1:${peerPort}`, local: `127.0.0.1:${debianPort}`, mac: TUNNEL_MAC },
      ],
      // With a virtio console too: a boot with it and a NIC once ended in a triple fault during udev's coldplug.
      serial: { mode: 'File', file: serial }, console: { mode: 'File', file: join(dir, 'hvc0.log') },
    }), 204, 'create');
    expectOk(t, await vmm.call('PUT', 'vm.boot'), 204, 'boot');
    await waitUntil(() => markers() >= 1, 'multi-user.target', 120_000, () => output().slice(-800));
    phase('multi-user.target');

    const first = await sshWhenUp(key, [
      'echo "hostname=$(hostname)"', 'echo "user=$(id -un)"', 'echo "boot=$(cat /proc/sys/kernel/random/boot_id)"',
      'for f in /etc/systemd/network/*.network; do echo "networkd-file=$(basename "$f")"; done',
      'networkctl list --no-legend --no-pager | sed "s/^/LINK /"',
      `ping -c 3 -W 5 ${PEER_IP} >/dev/null && echo PING_PEER_OK`,
      `echo bye-from-debian | busybox nc ${PEER_IP} 5000; echo "nc=$?"`,
    ].join('; '));
    phase('the first ssh session ended');
    t.comment(`the first ssh session:\n${first}`);
    t.match(first, new RegExp(`hostname=${HOSTNAME}\\b`), 'cloud-init set the hostname');
    t.match(first, new RegExp(`user=${USER}\\b`), 'created the user and authorized its key: the host logged in with ssh over the TAP');
    await waitUntil(() => output().includes(SCHEMA_END), 'cloud-init schema', 120_000, () => output().slice(-800));
    // cloud-init checks the whole configuration (the image's and the seed's) at every start, and warns on the console.
    t.notMatch(output(), /Invalid cloud-config provided/, "cloud-init's own check of its whole configuration found nothing invalid");
    t.match(output(), /SCHEMA Valid cloud-config/, `the seed's user-data is valid cloud-config (${output().match(/SCHEMA .*$/gm)?.join(' | ') ?? 'no output'})`);
    t.match(first, /networkd-file=.*cloud-init/, 'and wrote its network for systemd-networkd');
    t.equal(first.match(/^LINK .*\bether\b.*\broutable\b.*\bconfigured\b/gm)?.length, 2, 'networkd brought both NICs up (routable, configured)');
    t.match(first, /PING_PEER_OK/, 'Debian pinged the VM at the UDP tunnel\'s other end');
    t.match(first, /nc=0/);
    const peerResult = await peer;
    t.match(peerResult.stdout, /PEER_PINGED_DEBIAN/, 'the peer VM pinged Debian');
    t.match(peerResult.stdout, /bye-from-debian/, 'and received what Debian sent it over TCP');
    const bootId = /boot=(\S+)/.exec(first)?.[1];

    await waitUntil(() => output().includes(CLOUD_INIT_OFF), 'cloud-init turned off', 120_000, () => output().slice(-800));
    phase('cloud-init turned off');
    t.match(output(), new RegExp(`${CLOUD_INIT_OFF} status=done\\b`), 'cloud-init finished without error');
    expectOk(t, await vmm.call('PUT', 'vm.reboot'), 204, 'vm.reboot');
    await waitUntil(() => markers() >= 2, 'multi-user.target after vm.reboot', 120_000, () => output().slice(-800));
    phase('multi-user.target after vm.reboot');
    const second = await sshWhenUp(key, 'echo "hostname=$(hostname)"; echo "boot=$(cat /proc/sys/kernel/random/boot_id)"');
    t.match(second, new RegExp(`hostname=${HOSTNAME}\\b`), 'the hostname stays after the reboot');
    t.ok(bootId && /boot=(\S+)/.exec(second)?.[1] !== bootId, 'vm.reboot booted the guest again (a new boot id)');

    t.equal(await pressPowerButtonUntilShutdown(t, vmm), 'Shutdown', 'the power button: the guest powered itself off');
    phase('powered off');
    t.match(output(), /Power key pressed|Powering off|reboot: Power down/, 'through logind and systemd');
  });
}
