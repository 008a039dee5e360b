/* alloc_fork.c — run a job in a child process, so that a crash or a hang
 * inside the allocator under test is a finding and not the end of obcheck.
 *
 * The child's progress (the operation it last started) and its result are
 * in a shared anonymous mapping: the child writes them as it goes, the
 * parent reads them once the child is gone, however it went.  The child
 * leaves by _exit, so nothing the parent buffered is flushed twice.
 */
#include "hx_internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
    volatile unsigned long last_op;
    volatile int done; /* the job returned */
    int status;
    struct hx_run_result res;
};

/* Wait for pid until the deadline (0 = none); kill it then.  Return its
 * wait status, and whether it was killed for hanging in *hung. */
static int
wait_child(pid_t pid, double timeout, bool *hung)
{
    double end = hx_now() + timeout;
    struct timespec nap = {0, 200000}; // 0.2 ms, doubling to 20 ms
    int ws = 0;
    for (;;) {
        pid_t got = waitpid(pid, &ws, timeout > 0 ? WNOHANG : 0);
        if (got == pid)
            return ws;
        if (got < 0 && errno != EINTR)
            return 0;
        if (timeout > 0 && hx_now() > end) {
            *hung = true;
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            return ws;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 20000000)
            nap.tv_nsec *= 2;
    }
}

int
hx_isolated(hx_job_fn *job, void *ctx, double timeout,
            struct hx_run_result *res, struct hx_crash *crash)
{
    memset(crash, 0, sizeof *crash);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return -1;
    memset(sh, 0, sizeof *sh);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        munmap(sh, sizeof *sh);
        return -1;
    }
    if (pid == 0) {
        sh->status = job(ctx, &sh->res, &sh->last_op);
        sh->done = 1;
        fflush(NULL);
        _exit(0);
    }
    int ws = wait_child(pid, timeout, &crash->hung);
    *res = sh->res;
    int status = sh->status;
    bool done = sh->done;
    crash->last_op = sh->last_op;
    munmap(sh, sizeof *sh);
    if (crash->hung) {
        snprintf(crash->how, sizeof crash->how, "hung past %g s", timeout);
        return 3;
    }
    if (WIFSIGNALED(ws)) {
        crash->signal = WTERMSIG(ws);
        snprintf(crash->how, sizeof crash->how, "SIG%s",
                 sigabbrev_np(crash->signal) ? sigabbrev_np(crash->signal)
                                             : "?");
        return 3;
    }
    // a sanitizer's handler turns a fault into an exit; so may abort paths
    if (!done || (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)) {
        crash->exit_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        snprintf(crash->how, sizeof crash->how, "exit %d before finishing",
                 crash->exit_status);
        return 3;
    }
    return status;
}
