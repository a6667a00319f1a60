// Whether the tests can boot their guests on this host's /dev/kvm. Some of
// this project's machines have a /dev/kvm from kvm-pvm, a KVM nested in
// software whose emulation of guest kernel code has gaps: the CPL3 test guest
// runs there, but Linux guests stop at their first XRSTOR of AVX-512 state
// and hang. Where that module provides /dev/kvm, the guest tests run inside
// the L1 VM (tests/l1/) as they do without /dev/kvm. TSVMM_TEST_HOST_KVM=1
// uses this host's /dev/kvm whatever provides it; =0 never does.
import { existsSync } from 'node:fs';
import { kvmAvailable } from '../../src/vm/kvm.js';

export type HostKvm = { usable: true } | { usable: false; why: string };

export function hostKvm(): HostKvm {
  const choice = process.env.TSVMM_TEST_HOST_KVM;
  if (choice === '0') return { usable: false, why: 'TSVMM_TEST_HOST_KVM=0' };
  if (!kvmAvailable()) return { usable: false, why: 'no /dev/kvm here' };
  if (choice !== '1' && existsSync('/sys/module/kvm_pvm')) {
    return { usable: false, why: "this host's /dev/kvm is kvm-pvm, which cannot run Linux guests (TSVMM_TEST_HOST_KVM=1 uses it anyway)" };
  }
  return { usable: true };
}
