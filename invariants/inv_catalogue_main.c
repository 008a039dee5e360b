/* inv_catalogue_main.c — obcheck-invariants: print the invariant
 * catalogue (ID, profiles, cost, statement). */
#include "inv.h"

#include <stdio.h>

int
main(void)
{
    inv_catalogue_print(stdout);
    return 0;
}
