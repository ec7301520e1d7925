// The UART variant of config.example.h, for the host smoke run.
#include "../camrelay/config.example.h"
#undef CAMRELAY_LINK
#define CAMRELAY_LINK "uart"
