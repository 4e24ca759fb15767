/* pipeline.c: pipeline files (being written). */
#include "cityrisk/context.h"
