/* tu_run.h — the main every Check unit test ends with (allocator,
 * invariants and harness tests alike). */
#ifndef OBM_TU_RUN_H
#define OBM_TU_RUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Run every test of s; fail if none ran or any failed. */
static inline int
tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int nrun = srunner_ntests_run(sr);
    int nfailed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (nrun <= 0) {
        fprintf(stderr, "no tests ran\n");
        return EXIT_FAILURE;
    }
    return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* OBM_TU_RUN_H */
