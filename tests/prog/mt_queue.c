/* mt_append.c beyond the ring: buffered and O_DIRECT appends, fsyncs and
 * reads at once, with KAIO_QUEUE_DEPTH=2 and 4. */
#define MT_QUEUE 1
#include "mt_append.c"
