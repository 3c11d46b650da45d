/* many.c with O_DIRECT: 4096 reads really in flight in the kernel at once. */
#define MANY_DIRECT 1
#include "many.c"
