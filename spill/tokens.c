/* tokens.c - placeholder; the calibrated token estimator lands here. */
#include "tokens.h"
