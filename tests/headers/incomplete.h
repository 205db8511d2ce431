/* Typedefs of incomplete types: listed in layout/1 with size/align null and "incomplete": true. */
typedef struct inc_fwd inc_fwd_t;
typedef union inc_ufwd inc_ufwd_t;
typedef void inc_void_t;
typedef int inc_fn_t(int);
typedef int inc_flex_t[];
struct inc_user { inc_fwd_t *p; int x; };
typedef struct inc_user inc_user_t;
