/* append.c with O_DIRECT|O_APPEND and aligned 4096-byte records. */
#define APPEND_DIRECT 1
#include "append.c"
