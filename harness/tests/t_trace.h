/* t_trace.h — what the two halves of the trace-format test share. */
#ifndef T_TRACE_H
#define T_TRACE_H

#include <check.h>

/* Add the malformed-input cases (t_trace_bad.c) to tc. */
void t_trace_add_malformed(TCase *tc);

#endif /* T_TRACE_H */
