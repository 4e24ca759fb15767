/* map.c: risk maps with Cairo (being written). */
#include "cityrisk/context.h"
