/* scan.c - placeholder; the incremental JSON scanner lands here. */
#include "scan.h"
