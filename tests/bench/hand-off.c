// What handing each exit to another thread would add to it: two threads pass
// a turn back and forth through futexes, as a vCPU thread of the addon would
// wake one JavaScript thread per VM for every exit and wait for its answer
// (the second shape README "Performance" weighs against a worker per vCPU).
//
// Usage: hand-off ROUND_TRIPS ROUNDS; prints one JSON object with each
// round's µs per round trip (the bench takes the median).
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 64

static atomic_int exit_posted;
static atomic_int exit_answered;
static long round_trips;

static void wait_for(atomic_int *word) {
  while (atomic_load(word) == 0) syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  atomic_store(word, 0);
}

static void post(atomic_int *word) {
  atomic_store(word, 1);
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/** The thread that would run the device models: answers every exit. */
static void *answer_exits(void *rounds) {
  for (long r = 0; r < (long)rounds * round_trips; r++) {
    wait_for(&exit_posted);
    post(&exit_answered);
  }
  return NULL;
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: hand-off ROUND_TRIPS ROUNDS\n");
    return 2;
  }
  round_trips = atol(argv[1]);
  long rounds = atol(argv[2]);
  if (round_trips <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
    fprintf(stderr, "hand-off: ROUND_TRIPS must be positive and ROUNDS 1-%d\n", MAX_ROUNDS);
    return 2;
  }
  pthread_t peer;
  if (pthread_create(&peer, NULL, answer_exits, (void *)rounds) != 0) {
    perror("pthread_create");
    return 1;
  }
  double us[MAX_ROUNDS];
  for (long r = 0; r < rounds; r++) {
    double start = seconds();
    for (long i = 0; i < round_trips; i++) {
      post(&exit_posted);
      wait_for(&exit_answered);
    }
    us[r] = (seconds() - start) * 1e6 / (double)round_trips;
  }
  pthread_join(peer, NULL);
  printf("{\"us_per_round_trip\":[");
  for (long r = 0; r < rounds; r++) printf("%s%.3f", r == 0 ? "" : ",", us[r]);
  printf("]}\n");
  return 0;
}
