// Intentionally empty: this target only exports the headers in include/CSystem.h to Swift.
#include "CSystem.h"
