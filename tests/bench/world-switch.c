// What a page touched between two exits costs: a C loop runs a real-mode
// guest that writes port 0x80 forever, and between two KVM_RUNs reads one
// byte from each of N pages of its own memory. The same reads without a
// KVM_RUN between them are timed too. On a host whose world switch keeps
// the TLB (hardware KVM with ASIDs/VPIDs) the two agree; a VMM under an
// emulated CPU that flushes its TLB on every VMRUN and #VMEXIT (QEMU TCG's
// SVM) pays a refill for every page, which is what separates a loop that
// touches few pages per exit (this one, tsvmm's C loop) from one that
// touches many (a JavaScript loop: builtins, JIT code, heap, stack).
//
// Usage: world-switch EXITS ROUNDS; prints one JSON object: for each page
// count, the median over ROUNDS of µs per exit and µs per pass of the reads alone.
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_SIZE 0x10000
#define CODE_AT 0x1000
#define PAGE 4096
#define MAX_ROUNDS 64

static const int kPageCounts[] = {0, 64, 256};
#define COUNTS (sizeof kPageCounts / sizeof kPageCounts[0])

static void fail(const char *what) {
  perror(what);
  exit(1);
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values, int n) {
  qsort(values, (size_t)n, sizeof *values, compare);
  return values[n / 2];
}

// A vCPU in real mode at CODE_AT running: mov dx, 0x80; again: out dx, al; jmp again.
static int make_vcpu(struct kvm_run **run) {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) fail("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) fail("KVM_CREATE_VM");
  uint8_t *memory = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) fail("mmap guest memory");
  static const uint8_t code[] = {0xba, 0x80, 0x00, 0xee, 0xeb, 0xfd};
  memcpy(memory + CODE_AT, code, sizeof code);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_SIZE, .userspace_addr = (uint64_t)(uintptr_t)memory};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) fail("KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) fail("KVM_CREATE_VCPU");
  int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < (int)sizeof(struct kvm_run)) fail("KVM_GET_VCPU_MMAP_SIZE");
  *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (*run == MAP_FAILED) fail("mmap kvm_run");
  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) fail("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) fail("KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = CODE_AT, .rflags = 2};
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
  return vcpu;
}

int main(int argc, char **argv) {
  int exits = argc > 1 ? atoi(argv[1]) : 0;
  int rounds = argc > 2 ? atoi(argv[2]) : 0;
  if (exits <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
    fprintf(stderr, "usage: world-switch EXITS ROUNDS (1-%d)\n", MAX_ROUNDS);
    return 2;
  }
  struct kvm_run *run;
  int vcpu = make_vcpu(&run);
  volatile uint8_t *pages = malloc((size_t)kPageCounts[COUNTS - 1] * PAGE);
  if (pages == NULL) fail("malloc");
  for (int i = 0; i < kPageCounts[COUNTS - 1] * PAGE; i += 64) pages[i] = 1;

  static double per_exit[COUNTS][MAX_ROUNDS], reads_alone[COUNTS][MAX_ROUNDS];
  unsigned sum = 0;
  for (int round = 0; round < rounds; round++) {
    for (size_t c = 0; c < COUNTS; c++) {
      int n = kPageCounts[c];
      double started = seconds();
      for (int e = 0; e < exits; e++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) fail("KVM_RUN");
        if (run->exit_reason != KVM_EXIT_IO) {
          fprintf(stderr, "unexpected exit reason %u\n", run->exit_reason);
          return 1;
        }
        for (int p = 0; p < n; p++) sum += pages[p * PAGE + (e & 63) * 64];
      }
      double switched = seconds();
      for (int e = 0; e < exits; e++) {
        for (int p = 0; p < n; p++) sum += pages[p * PAGE + (e & 63) * 64];
      }
      double ended = seconds();
      per_exit[c][round] = (switched - started) * 1e6 / exits;
      reads_alone[c][round] = (ended - switched) * 1e6 / exits;
    }
  }
  printf("{\"sum\": %u, \"runs\": [", sum & 1);
  for (size_t c = 0; c < COUNTS; c++) {
    printf("%s{\"pages\": %d, \"us_per_exit\": %.3f, \"reads_alone_us\": %.4f}", c ? ", " : "", kPageCounts[c],
           median(per_exit[c], rounds), median(reads_alone[c], rounds));
  }
  printf("]}\n");
  return 0;
}
