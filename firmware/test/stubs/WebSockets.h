#pragma once
/* Stub of Links2004/arduinoWebSockets src/WebSockets.h: WStype_t, in the
 * library's order (../../../shared/FIRMWARE.md §3.2). */
typedef enum {
    WStype_ERROR,
    WStype_DISCONNECTED,
    WStype_CONNECTED,
    WStype_TEXT,
    WStype_BIN,
    WStype_FRAGMENT_TEXT_START,
    WStype_FRAGMENT_BIN_START,
    WStype_FRAGMENT,
    WStype_FRAGMENT_FIN,
    WStype_PING,
    WStype_PONG,
} WStype_t;

#define WEBSOCKETS_MAX_DATA_SIZE (15 * 1024)
