/* mt_append.c with O_DIRECT|O_APPEND and 4096-byte records. */
#define MT_DIRECT 1
#include "mt_append.c"
