// A NoCloud seed disk for cloud-init, as Cloud Hypervisor's users attach to a
// cloud image: a small FAT image labelled CIDATA holding meta-data, user-data
// and network-config, made with Debian's dosfstools and mtools (no mount, so
// no root needed). cloud-init reads YAML, and JSON is YAML: the files are
// written as JSON, without a YAML library.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CloudUser {
  name: string;
  sshAuthorizedKeys: string[];
}

/** One NIC of netplan's version 2 format, picked by its MAC address. */
export interface CloudNic {
  mac: string;
  /** CIDR, as 192.168.1.2/24. */
  address: string;
}

export interface CloudSeed {
  instanceId: string;
  hostname: string;
  users: CloudUser[];
  nics: CloudNic[];
}

/** Large enough for FAT12 and the three small files. */
const SEED_KIB = 1024;

export function metaData(seed: CloudSeed): string {
  return `instance-id: ${seed.instanceId}\nlocal-hostname: ${seed.hostname}\n`;
}

export function userData(seed: CloudSeed): string {
  const config = {
    hostname: seed.hostname,
    users: seed.users.map((user) => ({
      name: user.name, shell: '/bin/bash', lock_passwd: true, ssh_authorized_keys: user.sshAuthorizedKeys,
    })),
    // The image's host keys were made when it was built; new ones would cost the first boot seconds under emulation.
    ssh_deletekeys: false,
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

export function networkConfig(seed: CloudSeed): string {
  const ethernets = Object.fromEntries(seed.nics.map((nic, i) => [
    `nic${i}`, { match: { macaddress: nic.mac.toLowerCase() }, addresses: [nic.address] },
  ]));
  return `${JSON.stringify({ version: 2, ethernets }, null, 2)}\n`;
}

/** Writes the seed disk to `path`. */
export function makeSeedDisk(path: string, seed: CloudSeed): void {
  const files = mkdtempSync(join(tmpdir(), 'tsvmm-seed-'));
  try {
    const names = { 'meta-data': metaData(seed), 'user-data': userData(seed), 'network-config': networkConfig(seed) };
    for (const [name, text] of Object.entries(names)) writeFileSync(join(files, name), text);
    rmSync(path, { force: true });
    execFileSync('mkfs.fat', ['-n', 'CIDATA', '-C', path, String(SEED_KIB)], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('mcopy', ['-i', path, ...Object.keys(names).map((name) => join(files, name)), '::'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(files, { recursive: true, force: true });
  }
}
