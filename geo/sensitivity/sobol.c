/* sobol.c: see include/cityrisk/sobol.h and geo/sensitivity/internal.h (to be written). */
#include "internal.h"
