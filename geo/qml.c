/* qml.c: QGIS styles (being written). */
#include "cityrisk/context.h"
