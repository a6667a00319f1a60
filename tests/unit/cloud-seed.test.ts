// The NoCloud seed disk cloud-init reads: its three files, and the FAT image
// labelled CIDATA holding them (checked with mtools, no mount).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { makeSeedDisk, metaData, networkConfig, userData, type CloudSeed } from '../../guest/cloud-seed.js';

const seed: CloudSeed = {
  instanceId: 'i-1', hostname: 'vm-one',
  users: [{ name: 'me', sshAuthorizedKeys: ['ssh-ed25519 AAAA me@host'] }],
  nics: [{ mac: '52:54:00:AB:CD:EF', address: '10.0.0.2/24' }],
};

t.test('meta-data names the instance and the host', async (t) => {
  t.equal(metaData(seed), 'instance-id: i-1\nlocal-hostname: vm-one\n');
});

t.test('user-data is #cloud-config with the user and its key', async (t) => {
  const text = userData(seed);
  t.ok(text.startsWith('#cloud-config\n'), 'cloud-init takes it as cloud-config');
  const config = JSON.parse(text.slice('#cloud-config\n'.length)) as { hostname: string; users: Array<{ name: string; ssh_authorized_keys: string[] }> };
  t.equal(config.hostname, 'vm-one');
  t.same(config.users.map((u) => [u.name, u.ssh_authorized_keys]), [['me', ['ssh-ed25519 AAAA me@host']]]);
});

t.test('network-config is version 2, each NIC matched by its MAC in lower case', async (t) => {
  t.same(JSON.parse(networkConfig(seed)), {
    version: 2, ethernets: { nic0: { match: { macaddress: '52:54:00:ab:cd:ef' }, addresses: ['10.0.0.2/24'] } },
  });
});

const tools = ['mkfs.fat', 'mcopy', 'mdir'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
t.test('the seed disk is FAT labelled CIDATA with the three files', { skip: tools ? false : 'needs dosfstools and mtools (npm run distro installs them)' }, async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'tsvmm-seed-test-')), 'seed.img');
  makeSeedDisk(path, seed);
  const listing = execFileSync('mdir', ['-i', path, '::'], { encoding: 'utf8' });
  t.match(listing, /Volume in drive : is CIDATA/, 'labelled CIDATA');
  const files: Array<[string, (seed: CloudSeed) => string]> = [['meta-data', metaData], ['user-data', userData], ['network-config', networkConfig]];
  for (const [name, text] of files) {
    t.equal(execFileSync('mtype', ['-i', path, `::${name}`], { encoding: 'utf8' }), text(seed), name);
  }
});
