/* LayoutSet.eval / enumerators: offsetof with nested and array designators, __alignof__ vs _Alignof. */
struct ev_in { char c; long long ll; short arr[5]; double d; };
struct ev_out { char tag; struct ev_in a; struct ev_in b[3]; long double ld; union { char uc; long ul; }; };
typedef struct ev_out ev_out_t;
enum ev_color { EV_RED, EV_GREEN = 5, EV_BLUE, EV_BIG = sizeof(struct ev_out) };
typedef enum ev_color ev_color_t;
typedef ev_color_t ev_color2_t;
