/* A program with known memory behaviour, for tests/record_test.cpp: `sdmc record` must write
 * exactly these mappings, stores and loads.
 *
 *   record_prog basic      the scenario below; prints "record_prog basic done", exits 7
 *   record_prog interval   two stores 300 ms apart, no memory call in between; exits 0
 *   record_prog exec       a store, then execs itself as "after-exec" (which maps 0x220000000000
 *                          and exits 5): the recording must end at the execve
 *   record_prog signal     a store, then raise(SIGTERM)
 *   record_prog remap      an mremap whose destination merges into a written, write-tracked
 *                          neighbour, then stores to both; exits 0
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define A ((char *)0x200000000000UL)
#define B ((char *)0x210000000000UL)
#define C ((char *)0x220000000000UL)

static char *map_at(char *addr, unsigned long pages) {
  char *p = mmap(addr, pages * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != addr) {
    perror("mmap");
    exit(100);
  }
  return p;
}

static void *thread_main(void *arg) {
  (void)arg;
  char *b = map_at(B, 4);
  b[1 * PAGE] = 1;
  return NULL;
}

static int basic(void) {
  char *a = map_at(A, 16);
  a[0] = 1;
  a[2 * PAGE] = 1;
  a[5 * PAGE] = 1;
  volatile char load = a[7 * PAGE];
  (void)load;
  if (mprotect(a + 8 * PAGE, 4 * PAGE, PROT_READ)) return 101;
  if (munmap(a + 12 * PAGE, 4 * PAGE)) return 102;
  pthread_t t;
  if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL)) return 103;
  a[3 * PAGE] = 1;
  if (mremap(B, 4 * PAGE, 8 * PAGE, 0) != B) return 104;
  B[6 * PAGE] = 1;
  if (madvise(a, PAGE, MADV_DONTNEED)) return 105;
  a[0] = 2;
  pid_t child = fork();
  if (child == 0) {
    a[1 * PAGE] = 1; /* the child's store: not in the parent's trace */
    _exit(0);
  }
  int status;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 106;
  printf("record_prog basic done\n");
  return 7;
}

static int interval(void) {
  char *a = map_at(A, 2);
  a[0] = 1;
  struct timespec ts = {0, 300 * 1000 * 1000};
  while (nanosleep(&ts, &ts) != 0) {
  }
  a[PAGE] = 1;
  return 0;
}

/* mm/mremap.c:move_vma -> copy_vma merges the moved, never-faulted VMA (no anon_vma) into
 * the written one below it; without UFFD_FEATURE_EVENT_REMAP, mremap_userfaultfd_prep would
 * then unregister the merged VMA, the neighbour's untouched part included. */
static int remap(void) {
  char *a = map_at(A, 1);
  a[0] = 1;
  char *c = map_at(C, 1);
  if (mremap(c, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, A + PAGE) != A + PAGE) return 110;
  if (mprotect(a, PAGE, PROT_READ) || mprotect(a, PAGE, PROT_READ | PROT_WRITE)) return 111;
  a[0] = 2;
  a[PAGE] = 2;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 99;
  if (!strcmp(argv[1], "basic")) return basic();
  if (!strcmp(argv[1], "interval")) return interval();
  if (!strcmp(argv[1], "remap")) return remap();
  if (!strcmp(argv[1], "exec")) {
    map_at(A, 1)[0] = 1;
    execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
    return 98;
  }
  if (!strcmp(argv[1], "after-exec")) {
    map_at(C, 1)[0] = 1;
    printf("after exec\n");
    return 5;
  }
  if (!strcmp(argv[1], "signal")) {
    map_at(A, 1)[0] = 1;
    raise(SIGTERM);
    return 97;
  }
  return 99;
}
