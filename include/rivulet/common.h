/* rivulet/common.h: export macro and C++ guards shared by every public header. */
#ifndef RIVULET_COMMON_H
#define RIVULET_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(RV_STATIC)
#define RV_EXTERN
#elif defined(RV_BUILDING_LIBRARY)
#define RV_EXTERN __attribute__((visibility("default")))
#else
#define RV_EXTERN
#endif

#ifdef __cplusplus
#define RV_BEGIN_DECLS extern "C" {
#define RV_END_DECLS }
#else
#define RV_BEGIN_DECLS
#define RV_END_DECLS
#endif

#endif
