// Whether the tests can boot their guests on this host's /dev/kvm. Some of
// this project's machines have a /dev/kvm from kvm-pvm, a KVM nested in
// software whose emulation of guest kernel code has gaps: the CPL3 test guest
// runs there, but Linux guests stop at their first XRSTOR of AVX-512 state
// and hang. Where that module provides /dev/kvm, the files that boot the test
// guest run on this host and the files that boot Linux run inside the L1 VM
// (tests/l1/), as every guest test does where there is no /dev/kvm.
// TSVMM_TEST_HOST_KVM=1 uses this host's /dev/kvm for every guest; =0 for none.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { kvmAvailable } from '../../src/vm/kvm.js';

export type HostKvm = { usable: true } | { usable: false; why: string };

/** What a test boots: the CPL3 test guest (guest/test-guest) or a Linux kernel. */
export type GuestKind = 'test-guest' | 'linux';

/** The test files that boot Linux are named `*-linux.test.*`; the others boot only the test guest. */
export function guestKindOf(file: string): GuestKind {
  return /-linux\.test\.[jt]s$/.test(basename(file)) ? 'linux' : 'test-guest';
}

export function hostKvm(guest: GuestKind): HostKvm {
  const choice = process.env.TSVMM_TEST_HOST_KVM;
  if (choice === '0') return { usable: false, why: 'TSVMM_TEST_HOST_KVM=0' };
  if (!kvmAvailable()) return { usable: false, why: 'no /dev/kvm here' };
  if (choice !== '1' && guest === 'linux' && existsSync('/sys/module/kvm_pvm')) {
    return { usable: false, why: "this host's /dev/kvm is kvm-pvm, which cannot run Linux guests (TSVMM_TEST_HOST_KVM=1 uses it anyway)" };
  }
  return { usable: true };
}
