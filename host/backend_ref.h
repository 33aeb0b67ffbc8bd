/* backend_ref.h — the reference backend's private declarations: its op table and its
 * device choice for the registry. Plain loops, double accumulation: the oracle. */
#ifndef OCT_BACKEND_REF_H
#define OCT_BACKEND_REF_H

#include "internal.h"

extern const oct__backend oct__backend_ref;

/* The registry's hook: "ref" (never picked by auto). */
oct_status oct__ref_parse(const char *spec);
oct_status oct__ref_choose(const char *spec, oct__choice *out);

#endif /* OCT_BACKEND_REF_H */
