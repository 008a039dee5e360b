/* prefix.h — the malloc family a test allocator library exports, each
 * name behind the PREFIX its build defines (bad_align_, refbug_ ...). */
#ifndef PREFIX_H
#define PREFIX_H

#include <stddef.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define PFX(name) CAT(PREFIX, name)

void *PFX(malloc)(size_t n);
void *PFX(calloc)(size_t nelem, size_t elsize);
void *PFX(realloc)(void *p, size_t n);
void PFX(free)(void *p);
size_t PFX(usable_size)(void *p);

#endif /* PREFIX_H */
